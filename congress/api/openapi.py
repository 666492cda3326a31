"""``GET /v1/openapi.json``: an OpenAPI 3.1 document of the v1 API, built from the route table.

Every route of :mod:`congress.api.app` and every ``on_<method>`` its resource defines become an
operation; path parameters come from the URI templates. Request bodies are described by the
JSON schemas of :mod:`congress.api.validation` (the policy schema the API validates library
policies and policies with rules against, and the schemas of the other bodies, which the
resources check field by field with the same rules); query parameters by :data:`QUERY`. Every
error answer is the error envelope (:data:`ERROR_SCHEMA`).

The document is what ``tests/functional/test_openapi.py`` hands to schemathesis to fuzz a live
server: no answer may be a 5xx, and every error must be the envelope.
"""

from __future__ import annotations

import json
import re
from typing import Any

import falcon

from congress.api import datasources, library, policies, rules, tables, validation
from congress.api.base import Resource, send_json

METHODS = ("get", "put", "post", "delete", "patch")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["message", "error_code", "error_data"],
        "properties": {"message": {"type": "string"}, "error_code": {"type": "integer"},
                       "error_data": {}},
    }},
}

_STRING = {"type": "string"}
_FLAG = {"name": "", "in": "query", "required": False, "schema": _STRING}


def _query(name: str, schema: dict[str, Any] | None = None, *,
           required: bool = False) -> dict[str, Any]:
    return {**_FLAG, "name": name, "required": required, "schema": schema or _STRING}


_PAGING = [_query("limit", {"type": "integer", "minimum": 1}),
           _query("marker", {"type": "string", "pattern": "^[0-9]+$"})]

#: query parameters per (resource class, method)
QUERY: dict[tuple[type[Resource], str], list[dict[str, Any]]] = {
    (policies.Policies, "post"): [_query("library_policy")],
    (policies.Policy, "post"): [
        _query("action", {"type": "string", "enum": ["simulate", "execute"]}, required=True),
        _query("delta"), _query("trace")],
    (library.LibraryPolicies, "get"): [_query("include_rules"), _query("name")],
    (library.LibraryPolicy, "get"): [_query("include_rules")],
    (tables.PolicyRows, "get"): [_query("trace"), *_PAGING],
    (tables.DatasourceRows, "get"): _PAGING,
    (datasources.Datasource, "post"): [
        _query("action", {"type": "string", "enum": ["request-refresh", "execute"]},
               required=True)],
}

#: request body schemas per (resource class, method)
BODY: dict[tuple[type[Resource], str], dict[str, Any]] = {
    (policies.Policies, "post"): validation.POLICY_CREATE_SCHEMA,
    (policies.Policy, "post"): {"anyOf": [validation.SIMULATE_SCHEMA,
                                          validation.EXECUTE_SCHEMA]},
    (library.LibraryPolicies, "post"): validation.POLICY_SCHEMA,
    (library.LibraryPolicy, "put"): validation.POLICY_SCHEMA,
    (rules.Rules, "post"): validation.RULE_SCHEMA,
    (datasources.Datasources, "post"): validation.DATASOURCE_SCHEMA,
    (datasources.Datasource, "post"): validation.EXECUTE_SCHEMA,
    (tables.DatasourceRows, "put"): validation.ROWS_SCHEMA,
    (datasources.DatasourceWebhook, "post"): {},
    (datasources.DatasourceTableWebhook, "post"): {},
}

_PARAM = re.compile(r"{([^}]+)}")


def _operation(template: str, cls: type[Resource], method: str) -> dict[str, Any]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}}
              for name in _PARAM.findall(template)]
    params += QUERY.get((cls, method), [])
    op: dict[str, Any] = {
        "operationId": f"{method}_{cls.__name__}",
        "summary": (cls.__doc__ or cls.__name__).strip().splitlines()[0],
        "responses": {
            "200": {"description": "done"},
            "201": {"description": "created (collection POST)"},
            "default": {"description": "the error envelope",
                        "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        },
    }
    if params:
        op["parameters"] = params
    body = BODY.get((cls, method))
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
    return op


def document(routes: list[tuple[str, type[Resource]]]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (the app's route table)."""
    paths: dict[str, dict[str, Any]] = {}
    for template, cls in routes:
        ops = {m: _operation(template, cls, m) for m in METHODS
               if getattr(cls, f"on_{m}", None) is not None}
        if ops:
            paths.setdefault(template, {}).update(ops)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Congress v1 API", "version": "1.0",
                 "description": "Policy as a service; generated from the route table."},
        "paths": paths,
    }


class OpenApi(Resource):
    """``/v1/openapi.json``"""

    def __init__(self, state: Any, routes: list[tuple[str, type[Resource]]]) -> None:
        super().__init__(state)
        self.routes = routes
        self._body: bytes | None = None      # built once: the route table does not change

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._body is None:
            self._body = (json.dumps(document(self.routes)) + "\n").encode("utf-8")
        send_json(resp, None)
        resp.data = self._body
