"""auth_strategy: noauth warning, keystone (keystonemiddleware + context), API policy."""

from __future__ import annotations

import json
import logging

import falcon
import falcon.testing
import pytest

from congress.api import auth, errors
from congress.api.app import create_app
from tests.unit.api.conftest import error_of, make_conf

KEYSTONE_CONF = """
[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
www_authenticate_uri = http://keystone.example:5000/v3
"""

ADMIN = {"X_USER_ID": "u-admin", "X_ROLES": "reader, admin", "X_PROJECT_ID": "proj",
         "X_PROJECT_NAME": "demo", "X_USER_NAME": "alice", "X_IDENTITY_STATUS": "Confirmed"}
MEMBER = {**ADMIN, "X_USER_ID": "u-member", "X_ROLES": "member"}


def test_noauth_warns_once_and_never_enforces(tmp_path, backend, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="congress.api"):
        app = create_app(make_conf(tmp_path), backend)
    warnings = [r for r in caplog.records if r.name.startswith("congress.api")]
    assert len(warnings) == 1 and "noauth" in warnings[0].getMessage()
    client = falcon.testing.TestClient(app)
    assert client.simulate_delete("/v1/policies/action").status_code == 404   # reached engine
    assert client.simulate_get("/v1/policies", headers={"X_ROLES": "nobody"}).status_code == 200


# --------------------------------------------------------------------------- real authtoken
@pytest.fixture
def keystone_client(tmp_path, backend) -> falcon.testing.TestClient:
    app = create_app(make_conf(tmp_path, KEYSTONE_CONF), backend)
    assert isinstance(app, falcon.App)
    return falcon.testing.TestClient(app)


@pytest.mark.parametrize("path", ["/v1", "/v1/policies", "/v1/policies/x/rules",
                                  "/v1/no-such-thing"])
def test_keystone_requires_a_token(keystone_client, backend, path) -> None:
    result = keystone_client.simulate_get(path)
    assert result.status_code == 401
    assert error_of(result) == {"message": "The request you have made requires authentication.",
                                "error_code": 401, "error_data": None}
    assert result.headers["WWW-Authenticate"] == 'Keystone uri="http://keystone.example:5000/v3"'
    assert result.headers["X-OpenStack-Request-ID"].startswith("req-")
    # nothing about the deployment before authentication
    assert not [h for h in result.headers if h.lower().startswith("x-congress-")]
    assert not backend.calls


def test_keystone_strips_spoofed_identity_headers(keystone_client) -> None:
    result = keystone_client.simulate_get("/v1/policies", headers=ADMIN)
    assert result.status_code == 401


def test_keystone_leaves_versions_and_healthcheck_open(keystone_client) -> None:
    assert keystone_client.simulate_get("/").status_code == 200
    assert keystone_client.simulate_get("/elsewhere").status_code == 300
    assert keystone_client.simulate_get("/healthcheck").text == "OK"
    assert keystone_client.simulate_head("/healthcheck").status_code == 204


# --------------------------------------------------------------------------- trusted headers
@pytest.fixture
def trusted(monkeypatch, tmp_path, backend):
    """keystone mode with auth_token replaced by a pass-through: the test's headers are what
    auth_token would have set after validating a token."""
    monkeypatch.setattr(auth, "authtoken_wrapper", lambda conf: (lambda app: app))

    def make(config_text: str = "") -> falcon.testing.TestClient:
        conf = make_conf(tmp_path, KEYSTONE_CONF + config_text)
        return falcon.testing.TestClient(create_app(conf, backend))

    return make


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/v1", None), ("GET", "/v1/policies", None), ("GET", "/v1/policies/action", None),
    ("POST", "/v1/policies", {"name": "p"}), ("DELETE", "/v1/policies/classification", None),
    ("GET", "/v1/policies/action/rules", None), ("GET", "/v1/system/drivers/fake", None),
    ("POST", "/v1/policies/action", None),
])
def test_admin_may_do_everything(trusted, method, path, body) -> None:
    client = trusted()
    result = client.simulate_request(method, path, headers=ADMIN,
                                     body=json.dumps(body) if body is not None else None)
    assert result.status_code not in (401, 403), result.text


@pytest.mark.parametrize("method, path, action", [
    ("GET", "/v1", "get_v1"),
    ("GET", "/v1/policies", "get_v1"),
    ("GET", "/v1/policies/action", "get_v1"),                  # element URL: checked too
    ("POST", "/v1/policies", "create_v1"),
    ("POST", "/v1/policies/action", "create_v1"),              # action call
    ("DELETE", "/v1/policies/classification", "delete_v1"),
    ("PUT", "/v1/librarypolicies/x", "update_v1"),
    ("PATCH", "/v1/policies/x", "update_v1"),
    ("GET", "/v1/data-sources/d/tables/t/rows", "get_v1"),
    ("PUT", "/v1/data-sources/d/tables/t/rows", "update_v1"),
    ("GET", "/v1/system/drivers", "get_v1"),
])
def test_default_policy_denies_non_admins(trusted, backend, method, path, action) -> None:
    client = trusted()
    before = len(backend.calls)
    result = client.simulate_request(method, path, headers=MEMBER, body="{}")
    assert result.status_code == 403
    assert result.text == f"Policy doesn't allow {action} to be performed."
    assert result.headers["Content-Type"].startswith("text/plain")
    assert result.headers["X-OpenStack-Request-ID"].startswith("req-")
    assert len(backend.calls) == before                        # nothing reached the services


def test_unmatched_paths_are_404_not_403(trusted) -> None:
    assert trusted().simulate_get("/v1/nope", headers=MEMBER).status_code == 404


@pytest.mark.parametrize("headers", [
    {k: v for k, v in ADMIN.items() if k != "X_USER_ID"},
    {**ADMIN, "X_IDENTITY_STATUS": "Invalid"},
    {**ADMIN, "X_SERVICE_IDENTITY_STATUS": "Invalid"},
])
def test_context_requires_a_confirmed_user(trusted, headers) -> None:
    result = trusted().simulate_get("/v1/policies", headers=headers)
    assert result.status_code == 401
    assert error_of(result)["error_code"] == 401


def test_policy_file_overrides_defaults(trusted, tmp_path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"get_v1": "role:member or rule:context_is_admin"\n'
                           '"create_v1": "is_admin:True"\n')
    client = trusted(f"[oslo_policy]\npolicy_file = {policy_file}\n")
    assert client.simulate_get("/v1/policies", headers=MEMBER).status_code == 200
    denied = client.simulate_delete("/v1/policies/x", headers=MEMBER)
    assert denied.status_code == 403
    assert denied.text == "Policy doesn't allow delete_v1 to be performed."
    assert client.simulate_post("/v1/policies", headers=MEMBER,
                                body='{"name": "m"}').status_code == 403
    assert client.simulate_post("/v1/policies", headers=ADMIN,
                                body='{"name": "m"}').status_code == 201


# --------------------------------------------------------------------------- context, directly
class _Echo:
    enforce_policy = True

    def on_get(self, req, resp):
        ctx = req.context
        resp.media = {k: getattr(ctx, k, "unset") for k in (
            "user_id", "project_id", "roles", "user_name", "project_name", "is_admin")}


def _context_app(tmp_path) -> falcon.testing.TestClient:
    enforcer = auth.make_enforcer(make_conf(tmp_path))
    app = falcon.App(middleware=[auth.KeystoneContextMiddleware(enforcer)])
    app.add_error_handler(Exception, errors.handle_exception)
    app.add_route("/v1/echo", _Echo())
    app.add_route("/open", _Echo())
    return falcon.testing.TestClient(app)


def test_context_middleware_reads_identity_headers(tmp_path) -> None:
    client = _context_app(tmp_path)
    assert client.simulate_get("/v1/echo", headers=ADMIN).json == {
        "user_id": "u-admin", "project_id": "proj", "roles": ["reader", "admin"],
        "user_name": "alice", "project_name": "demo", "is_admin": True}
    member = client.simulate_get("/v1/echo", headers={"X-User-Id": "u2", "X-Roles": "member"})
    assert member.json == {"user_id": "u2", "project_id": None, "roles": ["member"],
                           "user_name": None, "project_name": None, "is_admin": False}


def test_context_middleware_401_only_under_v1(tmp_path) -> None:
    client = _context_app(tmp_path)
    assert client.simulate_get("/open").json["user_id"] == "unset"
    result = client.simulate_get("/v1/echo", headers={"X_ROLES": "admin"})
    assert result.status_code == 401


def test_make_enforcer_without_parsed_config() -> None:
    from congress import config

    enforcer = auth.make_enforcer(config.new_conf())
    assert enforcer.enforce("get_v1", {}, {"roles": ["admin"]}, do_raise=False)
    assert not enforcer.enforce("get_v1", {}, {"roles": ["member"]}, do_raise=False)
    assert enforcer.enforce("regular_user", {}, {"roles": []}, do_raise=False)


def test_executions_record_the_authenticated_user(trusted, backend) -> None:
    client = trusted()
    body = json.dumps({"name": "nova:reboot", "args": {"positional": ["s1"]}})
    result = client.simulate_post("/v1/policies/action", params={"action": "execute"},
                                  headers={**ADMIN, "Content-Type": "application/json"},
                                  body=body)
    assert result.status_code == 200, result.text
    assert backend.last_call("execute_action")[1]["requested_by"] == "user:u-admin@proj"
