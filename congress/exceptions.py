"""The one exception hierarchy of Congress.

Every error raised on purpose by Congress is a :class:`CongressError`. Each class carries

* ``code``: a stable, machine-readable identifier (``unsafe_variable``, ``arity_mismatch`` ...);
  tests and clients match on it, so never rename one;
* ``http_status``: the HTTP status the API answers with;
* ``api_name``: optionally, the name of the numbered v1 API error this maps to
  (``rule_syntax``, ``policy_not_exist`` ...). :data:`API_ERRORS` gives its numeric
  ``error_code`` and description, and the API builds the v1 error envelope from it in
  one place (``congress/api/errors.py``).

Errors found in policy text also carry ``position`` (``(line, column)``, 1-based line, 0-based
column, the convention clients of the v1 API know) when one is known.
"""

from __future__ import annotations

from typing import Any

# name -> (error_code, description, http status): the v1 API's numbered errors, which clients
# know by number (doc/api.md#numbered-error-codes).
API_ERRORS: dict[str, tuple[int, str, int]] = {
    "unknown": (1000, "Unknown error", 400),
    "add_item_id": (1001, "Add item does not support user-chosen ID", 400),
    "rule_syntax": (1002, "Syntax error for rule", 400),
    "multiple_rules": (1003, "Received string representing more than 1 rule", 400),
    "incomplete_simulate_args": (
        1004, "Simulate requires parameters: query, sequence, action_policy", 400),
    "simulate_without_policy": (
        1005, "Simulate must be told which policy evaluate the query on", 400),
    "sequence_syntax": (1006, "Syntax error in sequence", 400),
    # OpenStack Congress's table declared 500 for these two, but its API always answered them
    # with 400; the status here is the one clients saw.
    "simulate_error": (1007, "Error in simulate procedure", 400),
    "rule_already_exists": (1008, "Rule already exists", 409),
    "schema_get_item_id": (1009, "Get item for schema does not support user-chosen ID", 400),
    "policy_name_must_be_provided": (1010, "A name must be provided when creating a policy", 400),
    "no_policy_update_owner": (1012, "The policy owner_id cannot be updated", 400),
    "no_policy_update_kind": (1013, "The policy kind cannot be updated", 400),
    "failed_to_create_policy": (1014, "A new policy could not be created", 500),
    "policy_id_must_not_be_provided": (
        1015, "An ID may not be provided when creating a policy", 400),
    "execute_error": (1016, "Error in execution procedure", 400),
    "service_action_syntax": (
        1017, "Incorrect action syntax. Requires: <service>:<action>", 400),
    "execute_action_args_syntax": (
        1018,
        "Incorrect argument syntax. Requires: {'positional': [<args>], "
        "'named': {<key>:<value>,}}",
        400),
    "rule_not_permitted": (1019, "Rules not permitted on non persisted policies.", 400),
    "policy_not_exist": (1020, "The specified policy does not exist.", 404),
    "policy_rule_insertion_failure": (
        1021, "The policy rule could not be inserted.", 400),
    "policy_abbreviation_error": (
        1022,
        "The policy abbreviation must be a string and the length of the string must be "
        "equal to or less than 5 characters.",
        400),
}

Position = tuple[int, int]


class CongressError(Exception):
    """Base of every deliberate Congress error."""

    code: str = "congress_error"
    http_status: int = 500
    api_name: str | None = None

    def __init__(self, message: str = "", *, code: str | None = None,
                 position: Position | None = None, data: Any = None,
                 http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.position = position
        self.data = data

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Structured form, for logs and tests."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.position is not None:
            out["line"], out["column"] = self.position
        return out


# --------------------------------------------------------------------------- generic HTTP-ish
class BadRequest(CongressError):
    code = "bad_request"
    http_status = 400


class NotFound(CongressError):
    code = "not_found"
    http_status = 404


class Conflict(CongressError):
    code = "conflict"
    http_status = 409


class Forbidden(CongressError):
    code = "forbidden"
    http_status = 403


class PayloadTooLarge(CongressError):
    code = "payload_too_large"
    http_status = 413


class ServiceUnavailable(CongressError):
    code = "service_unavailable"
    http_status = 503


class NotImplementedHere(CongressError):
    code = "not_implemented"
    http_status = 501


# --------------------------------------------------------------------------- policy language
class PolicyError(CongressError):
    """Anything wrong with policy text or with what it asks the engine to do.

    The API reports these as ``rule_syntax`` (1002, HTTP 400) unless a subclass
    says otherwise.
    """

    code = "policy_error"
    http_status = 400
    api_name = "rule_syntax"


class LexError(PolicyError):
    code = "lex_error"


class ParseError(PolicyError):
    code = "parse_error"


class CompileError(PolicyError):
    """The text parsed but does not build a valid statement (e.g. duplicate column names)."""

    code = "compile_error"


class SafetyError(PolicyError):
    """A variable is not bound by a positive literal where it must be."""

    code = "unsafe_variable"


class FactError(PolicyError):
    """A fact is not ground or names a policy."""

    code = "invalid_fact"


class BuiltinConflictError(PolicyError):
    code = "builtin_conflict"


class HeadError(PolicyError):
    """Multiple heads, or a head naming another policy."""

    code = "invalid_head"


class ModalError(PolicyError):
    code = "modal_not_allowed"


class SchemaError(PolicyError):
    """Arity, unknown table or unknown column against a known schema."""

    code = "schema_error"


class IncompleteSchemaError(SchemaError):
    """Named columns used where the schema (or the table) is not known (yet)."""

    code = "incomplete_schema"


class RecursionNotAllowed(PolicyError):
    code = "recursive_rules"


class StratificationError(PolicyError):
    """Recursion through negation: the rules have no stratification."""

    code = "not_stratified"


class KindError(PolicyError):
    """The statement is not permitted in a policy of this kind."""

    code = "not_permitted_in_kind"


class EmptyRuleError(PolicyError):
    code = "empty_rule"


class MultipleRulesError(PolicyError):
    code = "multiple_rules"
    api_name = "multiple_rules"


class RuleExistsError(PolicyError):
    code = "rule_already_exists"
    http_status = 409
    api_name = "rule_already_exists"


class RuleNotFound(PolicyError):
    # 404: the rule named in the URL does not exist (OpenStack Congress answered 400/1000
    # here, from an internal error name missing in its table).
    code = "rule_not_found"
    http_status = 404
    api_name = None


class RuleNotPermitted(PolicyError):
    code = "rule_not_permitted"
    api_name = "rule_not_permitted"


class PolicyNotFound(PolicyError):
    code = "policy_not_found"
    http_status = 404
    api_name = "policy_not_exist"


class PolicyExists(PolicyError):
    code = "policy_exists"
    http_status = 409
    api_name = None


class InvalidPolicyName(PolicyError):
    code = "invalid_policy_name"
    api_name = None


class UnknownPolicyKind(PolicyError):
    code = "unknown_policy_kind"
    api_name = None


class SystemPolicyError(PolicyError):
    """Deleting or changing a policy that Congress maintains itself."""

    code = "system_policy"
    http_status = 404   # as OpenStack Congress answered deleting classification/action
    api_name = None


class TableNotFound(PolicyError):
    code = "table_not_found"
    http_status = 404
    api_name = None


class SimulateError(PolicyError):
    code = "simulate_error"
    api_name = "simulate_error"


class RowLimitExceeded(PolicyError):
    """A policy change would make a table derive more rows than the operator allows."""

    code = "row_limit_exceeded"
    api_name = None     # not a syntax error: "Bad Request::<message>", error_code 400


class TimeLimitExceeded(PolicyError):
    """An evaluation (a simulate) took longer than the operator allows."""

    code = "time_limit_exceeded"
    api_name = None


class PolicyValidationError(PolicyError):
    """Several problems found in one request; ``errors`` holds each of them.

    ``code`` and ``position`` are those of the first problem; the message joins all of them with
    ``";"`` (the format clients of the v1 API parse).
    """

    def __init__(self, errors: list[PolicyError]) -> None:
        assert errors, "PolicyValidationError needs at least one error"
        first = errors[0]
        super().__init__(";".join(e.message for e in errors), code=first.code,
                         position=first.position, http_status=first.http_status)
        self.api_name = first.api_name
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["errors"] = [e.to_dict() for e in self.errors]
        return out


# --------------------------------------------------------------------------- datasources / bus
class DatasourceError(CongressError):
    code = "datasource_error"
    http_status = 400


class DatasourceNotFound(NotFound):
    code = "datasource_not_found"


class DatasourceExists(Conflict):
    code = "datasource_exists"


class InvalidDriver(DatasourceError):
    code = "invalid_driver"


class InvalidDriverOption(DatasourceError):
    code = "invalid_driver_option"


class DriverNotFound(NotFound):
    code = "driver_not_found"


class TranslatorError(DatasourceError):
    """A translator definition is invalid, or data does not fit it."""

    code = "translator_error"


class LazyTableError(DatasourceError):
    code = "lazy_table"


class ActionError(CongressError):
    code = "action_error"
    http_status = 400
    api_name = "execute_error"


class ServiceNotFound(NotFound):
    code = "service_not_found"


class RpcTimeout(ServiceUnavailable):
    code = "rpc_timeout"


class DuplicateNodeError(CongressError):
    code = "duplicate_node"
    http_status = 500


class DatabaseError(CongressError):
    code = "database_error"
    http_status = 500


class ConfigurationError(CongressError):
    """The configuration does not allow this node to start (the message names the option)."""

    code = "configuration_error"
    http_status = 500
