"""Authentication (``auth_strategy``) and API authorization (oslo.policy).

``noauth``: every request is trusted (a warning is logged once when the app is built); no
policy checks.

``keystone``:

* keystonemiddleware's ``auth_token`` (options from the ``[keystone_authtoken]`` group of the
  Congress configuration) wraps the whole WSGI app. It always runs with
  ``delay_auth_decision = true``: it validates any token and marks the request, and
  :class:`KeystoneContextMiddleware` refuses unauthenticated requests to ``/v1`` with 401, so that
  ``/healthcheck`` (HAProxy) and the version document at ``/`` stay open, and so that 401s carry
  the same request id, consistency headers and access log line as every other answer.
* :class:`KeystoneContextMiddleware` reads ``X_USER_ID`` (missing -> 401), ``X_PROJECT_ID``,
  ``X_ROLES`` (comma list), ``X_PROJECT_NAME``, ``X_USER_NAME`` into ``req.context``;
  ``is_admin`` is the policy rule ``context_is_admin``.
* :class:`PolicyMiddleware` checks ``<get|create|update|delete>_v1`` (from the HTTP method) on
  **every** matched ``/v1`` URL. OpenStack Congress checked collection URLs only, leaving element
  URLs (``DELETE /v1/policies/<id>`` ...) open to any authenticated user; here both are checked.
  A denial is 403 with a plain-text body, as OpenStack Congress answered it.

Default rules (override them in the oslo.policy file, ``[oslo_policy] policy_file``)::

    context_is_admin: role:admin
    admin_only: rule:context_is_admin
    regular_user: ""
    default: rule:admin_only
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import falcon
from oslo_config import cfg
from oslo_policy import policy

from congress.api.errors import ApiError, PolicyDenied

LOG = logging.getLogger(__name__)

WSGIApp = Callable[..., Any]

DEFAULT_RULES = [
    policy.RuleDefault(name="context_is_admin", check_str="role:admin",
                       description="Who is an administrator of Congress."),
    policy.RuleDefault(name="admin_only", check_str="rule:context_is_admin"),
    policy.RuleDefault(name="regular_user", check_str="",
                       description="Who is a regular user; override with a role check."),
    policy.RuleDefault(name="default", check_str="rule:admin_only",
                       description="Rule of every API action (get_v1, create_v1, update_v1, "
                                   "delete_v1) unless the policy file names the action."),
]

METHOD_ACTIONS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update",
                  "PATCH": "update", "DELETE": "delete"}

UNAUTHENTICATED = "The request you have made requires authentication."


@policy.register("is_admin")
class IsAdminCheck(policy.Check):
    """``is_admin:True`` in policy files: the request context's ``is_admin``."""

    def __init__(self, kind: str, match: str) -> None:
        self.expected = match.lower() == "true"
        super().__init__(kind, str(self.expected))

    def __call__(self, target: Any, creds: Any, enforcer: Any, current_rule: Any = None
                 ) -> bool:
        return bool(creds.get("is_admin")) == self.expected


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """An Enforcer with Congress's default rules and the operator's policy file, if any."""
    try:
        conf.find_file("policy.yaml")
        use_conf = True
    except cfg.NotInitializedError:      # a ConfigOpts never parsed (tests, embedding)
        use_conf = False
    enforcer = policy.Enforcer(conf, use_conf=use_conf)
    enforcer.register_defaults(DEFAULT_RULES)
    if not use_conf:
        enforcer.set_rules({r.name: r.check for r in DEFAULT_RULES}, use_conf=False)
    return enforcer


def is_api_path(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def authtoken_wrapper(conf: cfg.ConfigOpts) -> Callable[[WSGIApp], WSGIApp]:
    """WSGI wrapper factory for keystonemiddleware's ``auth_token`` on ``conf``."""
    from keystonemiddleware import auth_token

    def wrap(app: WSGIApp) -> WSGIApp:
        return auth_token.AuthProtocol(app, {"oslo_config_config": conf,
                                             "delay_auth_decision": True})

    return wrap


class KeystoneContextMiddleware:
    def __init__(self, enforcer: policy.Enforcer, protected: tuple[str, ...] = ()) -> None:
        self.enforcer = enforcer
        self.protected = protected        # paths outside /v1 that need a token too

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not is_api_path(req.path) and req.path not in self.protected:
            return
        user_id = req.get_header("X_USER_ID")
        identity = req.get_header("X_IDENTITY_STATUS")
        service_identity = req.get_header("X_SERVICE_IDENTITY_STATUS")
        if (not user_id or (identity is not None and identity != "Confirmed")
                or (service_identity is not None and service_identity != "Confirmed")):
            raise ApiError(401, UNAUTHENTICATED)
        roles = [r.strip() for r in (req.get_header("X_ROLES") or "").split(",") if r.strip()]
        creds: dict[str, Any] = {
            "user_id": user_id,
            "project_id": req.get_header("X_PROJECT_ID"),
            "tenant_id": req.get_header("X_PROJECT_ID"),
            "roles": roles,
            "user_name": req.get_header("X_USER_NAME"),
            "project_name": req.get_header("X_PROJECT_NAME"),
            "is_admin": False,
        }
        creds["is_admin"] = bool(self.enforcer.enforce("context_is_admin", creds, creds,
                                                       do_raise=False))
        ctx = req.context
        ctx.user_id = user_id
        ctx.project_id = creds["project_id"]
        ctx.roles = roles
        ctx.user_name = creds["user_name"]
        ctx.project_name = creds["project_name"]
        ctx.is_admin = creds["is_admin"]
        ctx.credentials = creds


class PolicyMiddleware:
    def __init__(self, enforcer: policy.Enforcer) -> None:
        self.enforcer = enforcer

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        if resource is None or not getattr(resource, "enforce_policy", False):
            return
        action_type = METHOD_ACTIONS.get(req.method)
        if action_type is None:          # OPTIONS: answered 501 by the resource anyway
            return
        action = f"{action_type}_v1"
        creds = getattr(req.context, "credentials", None) or {}
        target = {"project_id": creds.get("project_id"), "user_id": creds.get("user_id")}
        if not self.enforcer.enforce(action, target, creds, do_raise=False):
            raise PolicyDenied(action)
