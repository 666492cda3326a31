"""``/v1/policies/{policy_id}/rules[/{rule_id}[/status]]`` -> service ``__engine``.

Deliberate differences from OpenStack Congress (doc/api.md §Rules):

* Deleting a rule that does not exist is the engine's ``RuleNotFound``: **404** instead of the
  original's 400/1000.
* The create body is checked: ``rule`` is a required string (OpenStack Congress answered 409 for a
  missing one), ``name`` and ``comment`` optional strings of at most 255 characters, an
  ``"id"`` is 400/1001 (OpenStack Congress's "ID in the URL" error), other fields are 400.
"""

from __future__ import annotations

import falcon

from congress.api import validation
from congress.api.base import (
    Resource,
    omit_none,
    send_collection,
    send_created,
    send_item,
    send_json,
)
from congress.api.errors import ApiRequestError
from congress.exceptions import RuleNotFound

_RULE_FIELDS = frozenset({"rule", "name", "comment"})


def _rule_or_none(res: Resource, policy_id: str, rule_id: str) -> dict | None:
    """The rule, or None for an unknown rule id (answered as a plain 404 ``Not found``, as the
    v1 API always did); an unknown policy still raises its 404/1020."""
    try:
        return res.engine.get_rule(policy_id, rule_id)
    except RuleNotFound:
        return None


class Rules(Resource):
    """``/v1/policies/{policy_id}/rules``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        send_collection(resp, self.engine.list_rules(policy_id))

    def on_post(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        body = validation.require_object(self.json_body(req))
        if "id" in body:
            raise ApiRequestError("add_item_id")
        validation.reject_unknown(body, _RULE_FIELDS)
        created = self.engine.insert_rule(
            policy_id,
            validation.check_rule_size(validation.required_str(body, "rule")),
            name=validation.optional_str(body, "name", max_length=255),
            comment=validation.optional_str(body, "comment", max_length=255))
        send_created(req, resp, created)


class Rule(Resource):
    """``/v1/policies/{policy_id}/rules/{rule_id}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str,
               rule_id: str) -> None:
        send_item(resp, _rule_or_none(self, policy_id, rule_id))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, policy_id: str,
                  rule_id: str) -> None:
        send_json(resp, self.engine.delete_rule(policy_id, rule_id))


class RuleStatus(Resource):
    """``/v1/policies/{policy_id}/rules/{rule_id}/status``:
    ``{"name", "id", "comment", "original_str"}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str,
               rule_id: str) -> None:
        rule = _rule_or_none(self, policy_id, rule_id)
        if rule is None:
            send_item(resp, None)
            return
        send_json(resp, omit_none({"name": rule.get("name"), "id": rule.get("id"),
                                   "comment": rule.get("comment"),
                                   "original_str": rule.get("rule")}))
