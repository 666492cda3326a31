"""``/v1/policies``, ``/v1/policies/{policy_id}`` (+ ``?action=simulate|execute``) and
``/v1/policies/{policy_id}/status`` -> service ``__engine``.

Deliberate differences from OpenStack Congress (doc/api.md §Policies):

* ``POST /v1/policies?library_policy=<id>`` with a non-empty body answers **400**
  (``Bad Request::Policy creation request with `library_policy` parameter must not have
  non-empty body.``) instead of 500; an absent (zero-length) body is accepted like ``{}``/``null``.
  An unknown library id is whatever the engine raises (404 expected) instead of 409.
* Invalid policy names and unknown kinds are the engine's errors (400 expected) instead of 500.
* An ``"id"`` in the create body (the closest thing to OpenStack Congress's "ID in the URL") is
  400/1015; fields other than name/abbreviation/kind/description/rules are 400; a ``null`` name
  is 400/1010 like a missing one; name, kind and description must be strings.
* ``?action=execute`` without a (string) ``name`` is 400/1017 (OpenStack Congress answered 501); the
  ``args`` object may only hold ``positional`` (array) and ``named`` (object), else 400/1018.
* ``?action=simulate`` requires the three fields to be strings (400 naming the field) and
  rejects unknown fields.
"""

from __future__ import annotations

from typing import Any

import falcon

from congress.api import parsing, validation
from congress.api.base import (
    Resource,
    omit_none,
    requester,
    send_collection,
    send_created,
    send_item,
    send_json,
)
from congress.api.errors import ApiRequestError
from congress.exceptions import ActionError, BadRequest, PolicyError, SimulateError

_CREATE_FIELDS = frozenset({"name", "abbreviation", "kind", "description", "rules"})
_SIMULATE_FIELDS = frozenset({"query", "sequence", "action_policy"})
_EXECUTE_FIELDS = frozenset({"name", "args"})


class Policies(Resource):
    """``/v1/policies``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send_collection(resp, self.engine.list_policies())

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if parsing.query_has(req, "library_policy"):
            body = self.json_body(req, allow_empty=True)
            if body not in (None, {}):
                raise BadRequest("Policy creation request with `library_policy` parameter "
                                 "must not have non-empty body.")
            created = self.engine.create_policy(
                library_policy_id=parsing.query_value(req, "library_policy"))
            send_created(req, resp, created)
            return

        body = validation.require_object(self.json_body(req))
        if "id" in body:
            raise ApiRequestError("policy_id_must_not_be_provided")
        if body.get("name") is None:
            raise ApiRequestError("policy_name_must_be_provided")
        abbr = body.get("abbreviation")
        if abbr is not None and (not isinstance(abbr, str) or len(abbr) > 5):
            raise ApiRequestError("policy_abbreviation_error")
        if "rules" in body:
            validation.validate_policy_item(body)
            rules = [dict(r) for r in body["rules"]]
        else:
            validation.reject_unknown(body, _CREATE_FIELDS)
            rules = None
        created = self.engine.create_policy(
            name=validation.required_str(body, "name"),
            kind=validation.optional_str(body, "kind"),
            abbreviation=abbr or None,
            description=validation.optional_str(body, "description"),
            rules=rules)
        send_created(req, resp, created)


class Policy(Resource):
    """``/v1/policies/{policy_id}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        send_item(resp, self.engine.get_policy(policy_id))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        send_json(resp, self.engine.delete_policy(policy_id))

    def on_post(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        self.dispatch_action(req, resp, policy_id=policy_id)

    def action_simulate(self, req: falcon.Request, policy_id: str) -> Any:
        body = validation.require_object(self.json_body(req))
        if any(body.get(k) is None for k in _SIMULATE_FIELDS):
            raise ApiRequestError("incomplete_simulate_args")
        validation.reject_unknown(body, _SIMULATE_FIELDS)
        kwargs = {k: validation.required_str(body, k) for k in sorted(_SIMULATE_FIELDS)}
        try:
            result = self.engine.simulate(policy_id,
                                          delta=parsing.flag_true_or_1(req, "delta"),
                                          trace=parsing.flag_true_or_1(req, "trace"), **kwargs)
        except SimulateError:
            raise
        except PolicyError as e:       # every engine error is 1007 (simulate_error) to clients
            raise SimulateError(e.message, data=e.data) from e
        if isinstance(result, (list, tuple)):
            result = {"result": list(result)}
        return result

    def action_execute(self, req: falcon.Request, policy_id: str) -> Any:
        body = validation.require_object(self.json_body(req))
        name = body.get("name")
        if not isinstance(name, str) or len(name.split(":")) != 2:
            raise ApiRequestError("service_action_syntax")
        args = validation.check_execute_args(body.get("args"))
        validation.reject_unknown(body, _EXECUTE_FIELDS)
        service, action = (part.strip() for part in name.split(":"))
        try:
            self.engine.execute_action(service, action, args,
                                       requested_by=requester(req, self.backend))
        except PolicyError as e:       # every engine error is 1016 (execute_error) to clients
            raise ActionError(e.message, data=e.data) from e
        return {}


class PolicyStatus(Resource):
    """``/v1/policies/{policy_id}/status``: ``{"name", "id"}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        policy = self.engine.get_policy(policy_id)
        if policy is None:
            send_item(resp, None)
            return
        send_json(resp, omit_none({"name": policy.get("name"), "id": policy.get("id")}))
