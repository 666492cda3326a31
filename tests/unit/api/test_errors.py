"""The error envelope: one mapping from exceptions, exercised directly and through HTTP."""

from __future__ import annotations

import json
import logging

import falcon
import pytest

from congress import exceptions as exc
from congress.api import errors
from congress.api.errors import ApiError, ApiRequestError, envelope_for
from tests.unit.api.conftest import error_of


def env(e: BaseException) -> tuple[int, dict]:
    status, body = envelope_for(e)
    return status, body["error"]


@pytest.mark.parametrize("api_name", sorted(exc.API_ERRORS))
def test_every_named_error_uses_the_table(api_name: str) -> None:
    number, desc, http = exc.API_ERRORS[api_name]
    status, err = env(ApiRequestError(api_name, "detail"))
    assert (status, err["error_code"], err["message"]) == (http, number, f"{desc}::detail")
    status, err = env(ApiRequestError(api_name))
    assert err["message"] == desc


@pytest.mark.parametrize("error, status, code, message", [
    (exc.ParseError("bad rule"), 400, 1002, "Syntax error for rule::bad rule"),
    (exc.SafetyError("unsafe x"), 400, 1002, "Syntax error for rule::unsafe x"),
    (exc.MultipleRulesError("two"), 400, 1003,
     "Received string representing more than 1 rule::two"),
    (exc.RuleExistsError("dup"), 409, 1008, "Rule already exists::dup"),
    (exc.RuleNotPermitted("ds"), 400, 1019, "Rules not permitted on non persisted policies.::ds"),
    (exc.PolicyNotFound("nope"), 404, 1020, "The specified policy does not exist.::nope"),
    (exc.SimulateError("bad"), 400, 1007, "Error in simulate procedure::bad"),
    (exc.ActionError("Service s not found"), 400, 1016,
     "Error in execution procedure::Service s not found"),
    (exc.NotFound("No policy found with name or id x"), 404, 404,
     "Not Found::No policy found with name or id x"),
    (exc.RuleNotFound("no rule"), 404, 404, "Not Found::no rule"),
    (exc.PolicyExists("taken"), 409, 409, "Conflict::taken"),
    (exc.InvalidPolicyName("Policy name a b is not a valid tablename"), 400, 400,
     "Bad Request::Policy name a b is not a valid tablename"),
    (exc.UnknownPolicyKind("Unknown kind of policy: k"), 400, 400,
     "Bad Request::Unknown kind of policy: k"),
    (exc.SystemPolicyError("Cannot delete system-maintained policy action"), 404, 404,
     "Not Found::Cannot delete system-maintained policy action"),
    (exc.TableNotFound("table 't' doesn't exist"), 404, 404,
     "Not Found::table 't' doesn't exist"),
    (exc.Forbidden("no"), 403, 403, "Forbidden::no"),
    (exc.DatasourceExists("in use"), 409, 409, "Conflict::in use"),
    (exc.InvalidDriver("Invalid driver: x"), 400, 400, "Bad Request::Invalid driver: x"),
    (exc.ServiceNotFound("service 's' could not be found"), 404, 404,
     "Not Found::service 's' could not be found"),
    (exc.RpcTimeout("Request to service 's' timed out"), 503, 503,
     "Service Unavailable::Request to service 's' timed out"),
    (exc.DatabaseError("db down"), 500, 500, "Internal Server Error::db down"),
    (exc.NotImplementedHere("nope"), 501, 501, "Not Implemented::nope"),
    (exc.CongressError(""), 500, 500, "Internal Server Error"),
])
def test_congress_errors(error: Exception, status: int, code: int, message: str) -> None:
    assert env(error) == (status, {"message": message, "error_code": code,
                                   "error_data": None})


def test_error_data_and_validation_errors() -> None:
    status, err = env(exc.BadRequest("Input policy item violates schema.", data="why"))
    assert (status, err["error_data"]) == (400, "why")
    many = exc.PolicyValidationError([exc.SafetyError("a"), exc.ParseError("b")])
    assert env(many)[1]["message"] == "Syntax error for rule::a;b"
    assert env(many)[1]["error_code"] == 1002


def test_instance_api_name_and_invalid_status() -> None:
    e = exc.BadRequest("x")
    e.api_name = "sequence_syntax"
    assert env(e)[1]["error_code"] == 1006
    odd = exc.CongressError("odd", http_status=299)
    assert env(odd)[0] == 500


def test_remote_traceback_is_stripped() -> None:
    e = exc.NotFound("'gone'\nTraceback (most recent call last):\n  File x\n")
    assert env(e)[1]["message"] == "Not Found::gone"
    e = exc.NotFound("u'gone'\nTraceback (most recent call last):\n")
    assert env(e)[1]["message"] == "Not Found::gone"
    assert errors.clean_message("'quoted' stays") == "'quoted' stays"


def test_api_errors_and_falcon_errors() -> None:
    assert env(ApiError(400, "Missing required action parameter.")) == (
        400, {"message": "Missing required action parameter.", "error_code": 400,
              "error_data": None})
    assert env(falcon.HTTPNotFound())[0] == 404
    assert env(falcon.HTTPNotFound())[1]["message"] == "The resource could not be found."
    assert env(falcon.HTTPMethodNotAllowed(["GET"])) == (
        501, {"message": "Method not supported", "error_code": 501, "error_data": None})
    status, err = env(falcon.HTTPBadRequest(description="bad header"))
    assert (status, err["message"]) == (400, "Bad Request::bad header")


def test_unknown_exception() -> None:
    assert env(ValueError("secret detail")) == (
        500, {"message": "Internal server error", "error_code": 500, "error_data": None})
    with pytest.raises(ValueError):
        ApiRequestError("no_such_name")


# --------------------------------------------------------------------------- through HTTP
@pytest.mark.parametrize("error", [
    exc.ParseError("p"), exc.PolicyNotFound("p"), exc.NotFound("n"), exc.RpcTimeout("t"),
    exc.DatabaseError("d"), exc.RuleExistsError("r"), ApiError(418, "teapot"),
])
def test_backend_errors_reach_the_client(client, backend, error) -> None:
    backend.errors[("__engine", "list_policies")] = error
    result = client.simulate_get("/v1/policies")
    status, body = envelope_for(error)
    assert result.status_code == status
    assert error_of(result) == body["error"]


def test_unexpected_exception_is_500_without_traceback(client, backend, caplog) -> None:
    backend.errors[("__engine", "list_policies")] = KeyError("internal secret")
    with caplog.at_level(logging.ERROR, logger="congress.api"):
        result = client.simulate_get("/v1/policies")
    assert result.status_code == 500
    assert error_of(result) == {"message": "Internal server error", "error_code": 500,
                                "error_data": None}
    assert "secret" not in result.text and "Traceback" not in result.text
    assert any(r.exc_info for r in caplog.records)


def test_non_json_error_data_is_stringified(client, backend) -> None:
    backend.errors[("__engine", "list_policies")] = exc.BadRequest("x", data={1, 2})
    result = client.simulate_get("/v1/policies")
    assert result.status_code == 400
    assert json.loads(result.text)["error"]["error_data"] in ("{1, 2}", "{2, 1}")
