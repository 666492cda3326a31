"""``/v1/librarypolicies[/{policy_id}]`` -> service ``__library``.

Deliberate differences from OpenStack Congress (doc/api.md §Library policies):

* ``GET /v1/librarypolicies/<unknown id>`` is the library's ``NotFound`` (404) instead of 500.
* ``PUT /v1/librarypolicies/<id>`` works (OpenStack Congress answered 501): the body is validated
  with the policy schema and replaces the library policy; the answer is 200 with the stored policy
  as ``__library.replace`` returns it. An unknown id is the library's 404 (not a create). An
  ``"id"`` in the body is accepted only if it equals the URL's.
* An ``"id"`` in a create body is 400/1015; fields outside the schema are reported by the
  schema check (``additionalProperties: false``) instead of being ignored.
* An invalid policy name is the library's error (400 expected) instead of 500.
"""

from __future__ import annotations

import falcon

from congress.api import parsing, validation
from congress.api.base import Resource, send_collection, send_created, send_item, send_json
from congress.api.errors import ApiRequestError
from congress.bus.service_ids import LIBRARY
from congress.exceptions import BadRequest


class LibraryPolicies(Resource):
    """``/v1/librarypolicies[?include_rules=false][&name=<n>]``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send_collection(resp, self.call(
            LIBRARY, "list", include_rules=parsing.flag_default_true(req, "include_rules"),
            name=parsing.query_value(req, "name")))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = validation.require_object(self.json_body(req))
        if "id" in body:
            raise ApiRequestError("policy_id_must_not_be_provided")
        validation.validate_policy_item(body)
        send_created(req, resp, self.call(LIBRARY, "create", body=body))


class LibraryPolicy(Resource):
    """``/v1/librarypolicies/{policy_id}``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        send_item(resp, self.call(
            LIBRARY, "get", id=policy_id,
            include_rules=parsing.flag_default_true(req, "include_rules")))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        send_json(resp, self.call(LIBRARY, "delete", id=policy_id))

    def on_put(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        body = validation.require_object(self.json_body(req))
        if "id" in body:
            if body["id"] != policy_id:
                raise BadRequest("Field 'id' does not match the library policy id in the URL")
            body = {k: v for k, v in body.items() if k != "id"}
        validation.validate_policy_item(body)
        send_item(resp, self.call(LIBRARY, "replace", id=policy_id, body=body))
