"""HTTP framing shared by every route: versions, 404/501, bodies, limits, actions, headers, logs."""

from __future__ import annotations

import http.client
import io
import json
import logging
import re

import falcon.testing
import pytest

from congress.api.app import JSON_INGESTER_ROUTES, ROUTES, SYSTEM_ROUTES
from tests.unit.api.conftest import error_of, post_json

BASE = "http://falconframework.org"


# --------------------------------------------------------------------------- versions
def test_root_lists_versions(client) -> None:
    result = client.simulate_get("/")
    assert result.status_code == 200
    assert result.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert result.text.endswith("\n")
    assert result.json == {"versions": [{
        "id": "v1", "status": "CURRENT", "updated": "2013-08-12T17:42:13Z",
        "links": [{"rel": "self", "href": f"{BASE}/v1/"}]}]}


@pytest.mark.parametrize("path, tail", [("/foo", "foo"), ("/foo/bar/", "foo/bar"),
                                        ("/v1foo", "v1foo"), ("/v2/x", "v2/x")])
def test_other_paths_offer_choices(client, path, tail) -> None:
    result = client.simulate_get(path)
    assert result.status_code == 300
    assert result.json == {"choices": [{
        "id": "v1", "status": "CURRENT", "updated": "2013-08-12T17:42:13Z",
        "links": [{"rel": "self", "href": f"{BASE}/v1/{tail}"}]}]}


@pytest.mark.parametrize("path", ["/v1", "/v1/"])
def test_v1_document(client, path) -> None:
    result = client.simulate_get(path)
    assert result.status_code == 200
    assert result.json == {"version": {
        "id": "v1", "status": "CURRENT", "updated": "2013-08-12T17:42:13Z",
        "links": [{"rel": "self", "href": f"{BASE}/v1/"},
                  {"rel": "describedby", "type": "text/html",
                   "href": "http://congress.readthedocs.org/"}]}}


def test_base_url_follows_host_and_script_name(app) -> None:
    client = falcon.testing.TestClient(app)
    result = client.simulate_get("/", host="congress.example", port=8443, protocol="https",
                                 root_path="/congress")
    assert result.json["versions"][0]["links"][0]["href"] == \
        "https://congress.example:8443/congress/v1/"
    created = client.simulate_post("/v1/policies", body='{"name": "p"}', root_path="/congress")
    assert created.headers["Location"] == f"/congress/v1/policies/{created.json['id']}"


# --------------------------------------------------------------------------- 404 / 501
@pytest.mark.parametrize("path", ["/v1/nothing", "/v1/policies/", "/v1/policies//rules",
                                  "/v1/policies/p/rules/", "/v1/system", "/v1/data-sources/x/y",
                                  "/v1/policies/p/tables/t/rows/r/x",
                                  "/v1/data-sources/d/tables/t/webhook"])
def test_unmatched_paths_are_404(client, path) -> None:
    result = client.simulate_get(path)
    assert result.status_code == 404
    assert error_of(result) == {"message": "The resource could not be found.",
                                "error_code": 404, "error_data": None}


@pytest.mark.parametrize("method, path", [
    ("PUT", "/v1/policies"), ("DELETE", "/v1/policies"), ("PATCH", "/v1/policies/p"),
    ("PUT", "/v1/policies/p"), ("PUT", "/v1/policies/p/rules/r"), ("POST", "/v1/system/drivers"),
    ("DELETE", "/v1/data-sources/d/status"), ("GET", "/v1/data-sources/d/webhook"),
    ("GET", "/v1/policies/p/tables/t/rows/r"), ("DELETE", "/v1/data-sources/d/tables/t/rows/r"),
    ("PUT", "/v1/policies/p/tables/t/rows"), ("PATCH", "/v1/data-sources/d"),
    ("PUT", "/v1/data-sources/d"), ("HEAD", "/v1/policies"),
    ("POST", "/v1"), ("TRACE", "/v1/policies"),
    ("BREW", "/v1/policies"), ("POST", "/healthcheck"),
])
@pytest.mark.filterwarnings("ignore:Unknown REQUEST_METHOD")
def test_unsupported_methods_are_501(client, method, path) -> None:
    result = client.simulate_request(method, path)
    assert result.status_code == 501
    if method != "HEAD":
        assert error_of(result) == {"message": "Method not supported", "error_code": 501,
                                    "error_data": None}
    assert "Allow" not in result.headers


def test_route_table_order_and_shape() -> None:
    templates = [t for t, _ in ROUTES + JSON_INGESTER_ROUTES + SYSTEM_ROUTES]
    assert templates[:4] == ["/v1", "/v1/", "/v1/policies", "/v1/policies/{policy_id}"]
    assert templates[-2:] == ["/v1/system/drivers", "/v1/system/drivers/{driver_id}"]
    assert len(set(templates)) == len(templates)


def test_json_ingester_route_only_when_enabled(make_client, backend) -> None:
    backend.ds_manager.create_datasource({"name": "ing", "driver": "push"})
    disabled = make_client()
    assert post_json(disabled, "/v1/data-sources/ing/tables/t/webhook", {}).status_code == 404
    enabled = make_client(json_ingester__enable=True)
    result = post_json(enabled, "/v1/data-sources/ing/tables/t/webhook", {"a": 1})
    assert result.status_code == 200 and result.text == ""
    assert backend.ds_manager.services["ing"].webhooks == [({"a": 1}, "t")]


# --------------------------------------------------------------------------- bodies
@pytest.mark.parametrize("content_type", [None, "application/json",
                                          "application/json; charset=UTF-8",
                                          "Application/JSON; charset=utf-8"])
def test_accepted_content_types(client, content_type) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    result = client.simulate_post("/v1/policies", body='{"name": "p"}', headers=headers)
    assert result.status_code == 201


@pytest.mark.parametrize("content_type, message", [
    ("text/plain", "Unsupported Content-Type; must be 'application/json'"),
    ("application/x-www-form-urlencoded",
     "Unsupported Content-Type; must be 'application/json'"),
    ("application/json; charset=latin-1", "Unsupported charset: must be 'UTF-8'"),
])
def test_rejected_content_types(client, content_type, message) -> None:
    result = client.simulate_post("/v1/policies", body='{"name": "p"}',
                                  headers={"Content-Type": content_type})
    assert result.status_code == 400
    assert error_of(result) == {"message": message, "error_code": 400, "error_data": None}


@pytest.mark.parametrize("body", ["", "{", "{'name': 'p'}", "[1,]", b"\xff\xfe"])
def test_malformed_json(client, body) -> None:
    result = client.simulate_post("/v1/policies", body=body)
    assert result.status_code == 400
    err = error_of(result)
    assert err["error_code"] == 400
    assert err["message"].startswith("Failed to parse body as application/json: ")
    assert len(err["message"]) > len("Failed to parse body as application/json: ")


@pytest.mark.parametrize("body", ["[]", "\"p\"", "3", "null"])
def test_body_must_be_an_object(client, body) -> None:
    result = client.simulate_post("/v1/policies", body=body)
    assert result.status_code == 400
    assert error_of(result)["message"] == "Bad Request::The request body must be a JSON object"


def test_unicode_body(client) -> None:
    body = json.dumps({"name": "p", "description": "h\u00e9llo \u2713"}, ensure_ascii=False)
    result = client.simulate_post("/v1/policies", body=body.encode("utf-8"))
    assert result.status_code == 201
    assert result.json["description"] == "h\u00e9llo \u2713"


def test_declared_body_over_the_limit_is_413(make_client) -> None:
    client = make_client(max_request_body_size=1024)
    big = json.dumps({"name": "p", "description": "x" * 2000})
    for method, path in (("POST", "/v1/policies"), ("GET", "/v1/policies"),
                         ("PUT", "/v1/data-sources/d/tables/t/rows")):
        result = client.simulate_request(method, path, body=big)
        assert result.status_code == 413
        assert error_of(result) == {
            "message": f"{http.client.responses[413]}::Request body is larger than the "
                       "limit of 1024 bytes", "error_code": 413, "error_data": None}
    ok = json.dumps({"name": "p", "description": "x" * (1024 - 32)})
    assert len(ok) == 1024
    assert client.simulate_post("/v1/policies", body=ok).status_code == 201


def _call_without_length(app, path: str, body: bytes) -> tuple[str, bytes]:
    environ = falcon.testing.create_environ(path=path, method="POST", body=b"")
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    start = falcon.testing.StartResponseMock()
    chunks = app(environ, start)
    return start.status, b"".join(chunks)


def test_unbounded_body_is_limited_while_reading(make_client) -> None:
    app = make_client(max_request_body_size=1024).app
    status, data = _call_without_length(app, "/v1/policies",
                                        json.dumps({"name": "p" * 3000}).encode())
    assert status.startswith("413")
    assert json.loads(data)["error"]["error_code"] == 413
    status, data = _call_without_length(app, "/v1/policies", b'{"name": "small"}')
    assert status.startswith("201"), data
    assert json.loads(data)["name"] == "small"


# --------------------------------------------------------------------------- actions
def test_action_parameter_rules(client) -> None:
    missing = client.simulate_post("/v1/policies/classification", body="{}")
    assert missing.status_code == 400
    assert error_of(missing) == {"message": "Missing required action parameter.",
                                 "error_code": 400, "error_data": None}
    repeated = client.simulate_post("/v1/policies/classification",
                                    query_string="action=simulate&action=execute", body="{}")
    assert repeated.status_code == 400
    assert error_of(repeated)["message"] == "Action parameter may not be provided multiple times."
    for unknown in ("frobnicate", "", "request-refresh", "__init__", "simulate.x"):
        result = client.simulate_post("/v1/policies/classification",
                                      query_string=f"action={unknown}", body="{}")
        assert result.status_code == 501, unknown
        assert error_of(result)["message"] == "Method not supported"


def test_action_dash_maps_to_underscore(client, backend) -> None:
    backend.ds_manager.create_datasource({"name": "nova", "driver": "fake"})
    result = client.simulate_post("/v1/data-sources/nova",
                                  query_string="action=request-refresh")
    assert result.status_code == 200 and result.text == "null\n"
    result = client.simulate_post("/v1/data-sources/nova",
                                  query_string="action=request_refresh")
    assert result.status_code == 200
    assert backend.ds_manager.services["nova"].refreshes == 2


# --------------------------------------------------------------------------- headers, logs
def test_request_id_and_consistency_headers(client, backend) -> None:
    first = client.simulate_get("/v1/policies")
    second = client.simulate_get("/v1/nothing")
    for result in (first, second):
        assert re.fullmatch(r"req-[0-9a-f-]{36}", result.headers["X-OpenStack-Request-ID"])
        assert result.headers["X-Congress-Node"] == "node-1"
        assert result.headers["X-Congress-Policy-Revision"] == "3"
        assert result.headers["X-Congress-Data-Revision"] == "7"
    assert first.headers["X-OpenStack-Request-ID"] != second.headers["X-OpenStack-Request-ID"]


def test_revision_headers_read_after_the_change(client, backend) -> None:
    original = backend.engine.create_policy

    def create_and_bump(*args, **kwargs):
        backend.info["policy_revision"] = 4
        return original(*args, **kwargs)

    backend.engine.create_policy = create_and_bump
    result = post_json(client, "/v1/policies", {"name": "p"})
    assert result.headers["X-Congress-Policy-Revision"] == "4"


def test_none_headers_are_omitted_and_node_info_failure_tolerated(client, backend) -> None:
    backend.info.update(policy_revision=None, data_revision=None)
    result = client.simulate_get("/v1/policies")
    assert "X-Congress-Policy-Revision" not in result.headers
    assert "X-Congress-Data-Revision" not in result.headers
    assert result.headers["X-Congress-Node"] == "node-1"
    backend.node_info_error = RuntimeError("down")
    result = client.simulate_get("/v1/policies")
    assert result.status_code == 200
    assert "X-Congress-Node" not in result.headers
    assert "X-OpenStack-Request-ID" in result.headers


def test_inbound_request_id_is_not_reused(client) -> None:
    inbound = "req-12345678-1234-1234-1234-123456789012"
    result = client.simulate_get("/v1/policies", headers={"X-OpenStack-Request-ID": inbound})
    assert result.headers["X-OpenStack-Request-ID"] != inbound


def test_one_access_log_line_per_request(client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="congress.api"):
        result = client.simulate_get("/v1/policies/nope")
    lines = [r for r in caplog.records if r.name == "congress.api"]
    assert len(lines) == 1
    text = lines[0].getMessage()
    assert lines[0].levelno == logging.INFO
    assert text.startswith("GET /v1/policies/nope 404 ")
    assert "ms " in text
    assert f"request_id={result.headers['X-OpenStack-Request-ID']}" in text
    assert text.endswith("node=node-1")


def test_list_bodies_are_pretty_elements_are_not(client) -> None:
    listing = client.simulate_get("/v1/policies")
    assert listing.text.startswith('{\n  "results": [\n    {\n')
    assert listing.text.endswith("}\n")
    element = client.simulate_get("/v1/policies/action")
    assert "\n" not in element.text[:-1] and element.text.endswith("\n")
