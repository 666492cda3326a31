"""Checks of request bodies. Every failure is a 400 that names the offending field.

The policy JSON schema is the one the v1 API has always published (used for library policies and
for policies created with rules), plus ``additionalProperties: false`` so that a misspelt field is
reported instead of silently dropped.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from congress.api.errors import ApiRequestError
from congress.exceptions import BadRequest
from congress.policy import kinds

if TYPE_CHECKING:
    import jsonschema

POLICY_SCHEMA: dict[str, Any] = {
    "title": "Policy Properties",
    "type": "object",
    "required": ["name", "rules"],
    "additionalProperties": False,
    "properties": {
        "name": {"title": "Policy unique name", "type": "string",
                 "minLength": 1, "maxLength": 255},
        "description": {"title": "Policy description", "type": "string"},
        "kind": {"title": "Policy kind", "type": "string", "enum": list(kinds.ALL)},
        "abbreviation": {"title": "Policy name abbreviation", "type": "string",
                         "minLength": 1, "maxLength": 5},
        "rules": {
            "title": "collection of rules",
            "type": "array",
            "items": {
                "title": "Policy rule",
                "type": "object",
                "required": ["rule"],
                "additionalProperties": False,
                "properties": {
                    "rule": {"title": "Rule definition following policy grammar",
                             "type": "string"},
                    "name": {"title": "User-friendly name", "type": "string",
                             "maxLength": 255},
                    "comment": {"title": "User-friendly comment", "type": "string",
                                "maxLength": 255},
                },
            },
        },
    },
}



@functools.cache
def _policy_validator() -> jsonschema.Draft7Validator:
    """Built on first use: jsonschema is a tenth of a second of the server's start."""
    import jsonschema
    return jsonschema.Draft7Validator(POLICY_SCHEMA)


# The other bodies, as the resources check them field by field (their error messages are the
# API's); /v1/openapi.json publishes these schemas.
_NAME_255 = {"type": "string", "maxLength": 255}

#: ``POST /v1/policies`` (with ``rules`` the body must also satisfy POLICY_SCHEMA)
POLICY_CREATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "abbreviation": {"type": "string", "minLength": 1, "maxLength": 5},
        "kind": {"type": "string", "enum": list(kinds.ALL)},
        "description": {"type": "string"},
        "rules": POLICY_SCHEMA["properties"]["rules"],
    },
}

#: ``POST /v1/policies/{policy_id}/rules``
RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["rule"],
    "additionalProperties": False,
    "properties": {"rule": {"type": "string"}, "name": _NAME_255, "comment": _NAME_255},
}

#: ``POST /v1/policies/{policy_id}?action=simulate``
SIMULATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["query", "sequence", "action_policy"],
    "additionalProperties": False,
    "properties": {"query": {"type": "string"}, "sequence": {"type": "string"},
                   "action_policy": {"type": "string"}},
}

#: ``POST ...?action=execute`` of a policy or a datasource
EXECUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "args": {"type": "object", "additionalProperties": False,
                 "properties": {"positional": {"type": "array"},
                                "named": {"type": "object"}}},
    },
}

#: ``POST /v1/data-sources``
DATASOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "driver"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "driver": {"type": "string"},
        "config": {"type": "object", "additionalProperties": {
            "type": ["string", "number", "boolean", "null"]}},
        "description": {"type": ["string", "null"]},
        "enabled": {"type": "boolean"},
        "type": {"type": ["string", "null"]},
    },
}

#: ``PUT /v1/data-sources/{ds_id}/tables/{table_id}/rows``
ROWS_SCHEMA: dict[str, Any] = {"type": "array"}


#: the largest rule text stored (the database column's limit), checked before any parsing
RULE_MAX_BYTES = 65535


def check_rule_size(rule: str) -> str:
    """400 for a rule text longer than :data:`RULE_MAX_BYTES` bytes of UTF-8, before the
    engine spends time parsing it."""
    # a character is at most 4 bytes: only long texts need encoding to be measured
    if len(rule) * 4 > RULE_MAX_BYTES and len(rule.encode("utf-8")) > RULE_MAX_BYTES:
        raise BadRequest(f"Rule must be at most {RULE_MAX_BYTES} bytes long")
    return rule


def _schema_error(ve: jsonschema.ValidationError) -> str:
    """What failed and where, quoting at most 100 characters of the offending value (the
    validator's own text would repeat the whole value, and the schema)."""
    message = ve.message
    shown = repr(ve.instance)
    if len(shown) > 100:
        message = message.replace(shown, f"{shown[:100]}... ({len(shown) - 100} more "
                                         "characters)")
    where = "".join(f"[{p!r}]" for p in ve.absolute_path)
    return f"{message} (failed validating {ve.validator!r} on instance{where})"


def validate_policy_item(item: Any) -> None:
    """400 ``Input policy item violates schema.`` with the validator's text as error_data
    (cut short by the error writer), then the size of each rule."""
    import jsonschema
    try:
        _policy_validator().validate(item)
    except jsonschema.ValidationError as ve:
        raise BadRequest("Input policy item violates schema.", data=_schema_error(ve)) from ve
    for rule in item.get("rules", []):
        check_rule_size(rule["rule"])


def require_object(body: Any, what: str = "request body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"The {what} must be a JSON object")
    return body


def reject_unknown(body: dict[str, Any], allowed: set[str] | frozenset[str],
                   what: str = "request body") -> None:
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise BadRequest(f"Unknown field(s) in {what}: {', '.join(unknown)}")


def required_str(body: dict[str, Any], field: str) -> str:
    if body.get(field) is None:
        raise BadRequest(f"Missing required field '{field}'")
    value = body[field]
    if not isinstance(value, str):
        raise BadRequest(f"Field '{field}' must be a string")
    return value


def optional_str(body: dict[str, Any], field: str, *, max_length: int | None = None
                 ) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Field '{field}' must be a string")
    if max_length is not None and len(value) > max_length:
        raise BadRequest(f"Field '{field}' must be at most {max_length} characters long")
    return value


def optional_bool(body: dict[str, Any], field: str) -> bool | None:
    value = body.get(field)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"Field '{field}' must be true or false")
    return value


def optional_object(body: dict[str, Any], field: str) -> dict[str, Any] | None:
    value = body.get(field)
    if value is not None and not isinstance(value, dict):
        raise BadRequest(f"Field '{field}' must be a JSON object")
    return value


def check_execute_args(args: Any) -> dict[str, Any]:
    """``{"positional": [...], "named": {...}}`` (both optional), else 400/1018."""
    if args is None:
        return {}
    if not isinstance(args, dict) or any(k not in ("positional", "named") for k in args) \
            or not isinstance(args.get("positional", []), list) \
            or not isinstance(args.get("named", {}), dict):
        raise ApiRequestError("execute_action_args_syntax")
    return args
