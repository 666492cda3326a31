"""/v1/policies, /v1/policies/<id>, ?action=simulate|execute, /status."""

from __future__ import annotations

import pytest

from congress import exceptions as exc
from tests.unit.api.conftest import error_of, post_json


def create(client, body, **kwargs):
    return post_json(client, "/v1/policies", body, **kwargs)


def test_list_policies(client, backend) -> None:
    result = client.simulate_get("/v1/policies")
    assert result.status_code == 200
    names = [p["name"] for p in result.json["results"]]
    assert names == ["classification", "action"]
    assert set(result.json["results"][0]) == {"id", "name", "abbreviation", "description",
                                              "owner_id", "kind"}
    assert backend.calls[-1] == ("__engine", "list_policies", {})


@pytest.mark.parametrize("returned", [None, {"no": "results"}, {"results": None}])
def test_list_without_results_is_404(client, backend, returned) -> None:
    backend.engine.list_policies = lambda: returned
    result = client.simulate_get("/v1/policies")
    assert result.status_code == 404
    assert error_of(result) == {"message": "Not found", "error_code": 404, "error_data": None}


def test_list_keeps_extra_keys(client, backend) -> None:
    backend.engine.list_policies = lambda: {"results": [], "extra": 1}
    assert client.simulate_get("/v1/policies").json == {"results": [], "extra": 1}


def test_create_policy(client, backend) -> None:
    result = create(client, {"name": "alpha", "description": "d", "kind": "Database",
                             "abbreviation": "al"})
    assert result.status_code == 201
    body = result.json
    assert result.headers["Location"] == f"/v1/policies/{body['id']}"
    assert body["name"] == "alpha" and body["kind"] == "database"
    assert backend.last_call("create_policy") == ("__engine", {
        "name": "alpha", "kind": "Database", "abbreviation": "al", "description": "d",
        "rules": None, "library_policy_id": None})
    assert client.simulate_get(f"/v1/policies/{body['id']}").json == body
    assert client.simulate_get("/v1/policies/alpha").json == body


def test_create_defaults_passed_as_none(client, backend) -> None:
    assert create(client, {"name": "beta", "abbreviation": ""}).status_code == 201
    assert backend.last_call("create_policy")[1] == {
        "name": "beta", "kind": None, "abbreviation": None, "description": None, "rules": None,
        "library_policy_id": None}


@pytest.mark.parametrize("body, status, code, message", [
    ({}, 400, 1010, "A name must be provided when creating a policy"),
    ({"name": None}, 400, 1010, "A name must be provided when creating a policy"),
    ({"description": "x"}, 400, 1010, "A name must be provided when creating a policy"),
    ({"name": "p", "abbreviation": "toolong"}, 400, 1022,
     "The policy abbreviation must be a string and the length of the string must be equal "
     "to or less than 5 characters."),
    ({"name": "p", "abbreviation": 5}, 400, 1022, None),
    ({"name": "p", "abbreviation": 0}, 400, 1022, None),
    ({"id": "x", "name": "p"}, 400, 1015, "An ID may not be provided when creating a policy"),
    ({"name": "p", "bogus": 1}, 400, 400, "Bad Request::Unknown field(s) in request body: bogus"),
    ({"name": 3}, 400, 400, "Bad Request::Field 'name' must be a string"),
    ({"name": "p", "kind": 1}, 400, 400, "Bad Request::Field 'kind' must be a string"),
    ({"name": "p", "description": []}, 400, 400,
     "Bad Request::Field 'description' must be a string"),
    ({"name": "bad name"}, 400, 400,
     "Bad Request::Policy name bad name is not a valid tablename"),
    ({"name": "p", "kind": "weird"}, 400, 400, "Bad Request::Unknown kind of policy: weird"),
    ({"name": "classification"}, 409, 409,
     "Conflict::Policy with name classification already exists"),
])
def test_create_errors(client, body, status, code, message) -> None:
    result = create(client, body)
    assert result.status_code == status
    err = error_of(result)
    assert err["error_code"] == code
    if message is not None:
        assert err["message"] == message


def test_create_with_rules(client, backend) -> None:
    rules = [{"rule": "p(x) :- q(x), r(x)", "name": "r1", "comment": "c"}, {"rule": "q(1)"}]
    result = create(client, {"name": "withrules", "rules": rules})
    assert result.status_code == 201
    assert result.json["rules"] == [
        {"rule": "p(x) :-\n  q(x),\n  r(x)", "name": "r1", "comment": "c"},
        {"rule": "q(1)", "name": "", "comment": ""}]
    assert backend.last_call("create_policy")[1]["rules"] == rules


@pytest.mark.parametrize("body", [
    {"name": "p", "rules": "p(1)"},
    {"name": "p", "rules": [{"name": "no rule"}]},
    {"name": "p", "rules": [{"rule": 5}]},
    {"name": "p", "rules": [{"rule": "p(1)", "comment": "x" * 256}]},
    {"name": "p", "rules": [{"rule": "p(1)", "extra": 1}]},
    {"name": "p", "rules": [], "kind": "nope"},
    {"name": "p", "rules": [], "extra": 1},
    {"name": "", "rules": []},
])
def test_create_with_rules_schema_violations(client, body) -> None:
    result = create(client, body)
    assert result.status_code == 400
    err = error_of(result)
    assert err["message"] == "Bad Request::Input policy item violates schema."
    assert err["error_code"] == 400
    assert isinstance(err["error_data"], str) and err["error_data"]


def test_create_with_rules_checks_name_and_abbreviation_first(client) -> None:
    assert error_of(create(client, {"rules": []}))["error_code"] == 1010
    assert error_of(create(client, {"name": "p", "rules": [], "abbreviation": "sixsix"})
                    )["error_code"] == 1022


def test_create_with_bad_rule_rolls_back(client, backend) -> None:
    result = create(client, {"name": "rb", "rules": [{"rule": "p(1)"}, {"rule": "q("}]})
    assert result.status_code == 400
    assert error_of(result)["error_code"] == 1002
    assert "rb" not in backend.engine.policies


def test_create_from_library(client, backend) -> None:
    lp = backend.library.create({"name": "libp", "rules": [{"rule": "p(1)"}]})
    for body in ("", "{}", "null"):
        backend.engine.policies.pop("libp", None)
        result = client.simulate_post("/v1/policies", query_string=f"library_policy={lp['id']}",
                                      body=body)
        assert result.status_code == 201, result.text
        assert result.json["name"] == "libp"
        assert result.json["rules"] == [{"rule": "p(1)", "name": "", "comment": ""}]
        assert result.headers["Location"] == f"/v1/policies/{result.json['id']}"
    assert backend.last_call("create_policy")[1] == {
        "name": None, "kind": None, "abbreviation": None, "description": None, "rules": None,
        "library_policy_id": lp["id"]}


def test_create_from_library_errors(client, backend) -> None:
    result = post_json(client, "/v1/policies", {"name": "x"},
                       query_string="library_policy=abc")
    assert result.status_code == 400
    assert error_of(result)["message"] == (
        "Bad Request::Policy creation request with `library_policy` parameter must not have "
        "non-empty body.")
    result = client.simulate_post("/v1/policies", query_string="library_policy=abc")
    assert result.status_code == 404
    assert error_of(result)["message"] == "Not Found::No policy found with policy id abc"
    result = client.simulate_post("/v1/policies", query_string="library_policy=abc",
                                  body="{", headers={"Content-Type": "application/json"})
    assert result.status_code == 400


def test_get_policy(client) -> None:
    result = client.simulate_get("/v1/policies/classification")
    assert result.status_code == 200
    assert result.json["name"] == "classification"
    missing = client.simulate_get("/v1/policies/nope")
    assert missing.status_code == 404
    assert error_of(missing) == {"message": "Not Found::No policy found with name or id nope",
                                 "error_code": 404, "error_data": None}


def test_get_policy_none_is_404(client, backend) -> None:
    backend.engine.get_policy = lambda policy: None
    result = client.simulate_get("/v1/policies/x")
    assert result.status_code == 404
    assert error_of(result)["message"] == "Not found"


def test_delete_policy(client, backend) -> None:
    created = create(client, {"name": "gone"}).json
    result = client.simulate_delete(f"/v1/policies/{created['id']}")
    assert result.status_code == 200
    assert result.json == created
    assert backend.last_call("delete_policy") == ("__engine", {"policy": created["id"]})
    assert client.simulate_delete("/v1/policies/gone").status_code == 404
    system = client.simulate_delete("/v1/policies/action")
    assert system.status_code == 404
    assert error_of(system)["message"] == "Not Found::Cannot delete system-maintained policy action"


def test_policy_status(client, backend) -> None:
    pid = backend.engine.policies["classification"]["id"]
    result = client.simulate_get("/v1/policies/classification/status")
    assert result.status_code == 200
    assert result.json == {"name": "classification", "id": pid}
    backend.engine.get_policy = lambda policy: {"name": "x", "id": None}
    assert client.simulate_get("/v1/policies/x/status").json == {"name": "x"}
    backend.engine.get_policy = lambda policy: None
    assert client.simulate_get("/v1/policies/x/status").status_code == 404


# --------------------------------------------------------------------------- simulate
SIM = {"query": "p(x)", "sequence": "q(1)", "action_policy": "action"}


def simulate(client, body, query="action=simulate", policy="classification"):
    return post_json(client, f"/v1/policies/{policy}", body, query_string=query)


def test_simulate(client, backend) -> None:
    result = simulate(client, SIM)
    assert result.status_code == 200
    assert result.json == {"result": ["p(x)"]}
    assert backend.last_call("simulate") == ("__engine", {
        "policy": "classification", "query": "p(x)", "sequence": "q(1)",
        "action_policy": "action", "delta": False, "trace": False})


@pytest.mark.parametrize("query, delta, trace", [
    ("action=simulate&delta=true&trace=TRUE", True, True),
    ("action=simulate&delta=1&trace=0", True, False),
    ("action=simulate&delta=yes&trace=True", False, True),
])
def test_simulate_flags(client, backend, query, delta, trace) -> None:
    result = simulate(client, SIM, query)
    assert result.status_code == 200
    kwargs = backend.last_call("simulate")[1]
    assert (kwargs["delta"], kwargs["trace"]) == (delta, trace)
    if trace:
        assert result.json["trace"] == "RESULT"


def test_simulate_list_result_is_wrapped(client, backend) -> None:
    backend.engine.simulate = lambda **kw: ["a", "b"]
    assert simulate(client, SIM).json == {"result": ["a", "b"]}


@pytest.mark.parametrize("missing", ["query", "sequence", "action_policy"])
def test_simulate_incomplete(client, missing) -> None:
    body = {k: v for k, v in SIM.items() if k != missing}
    result = simulate(client, body)
    assert result.status_code == 400
    assert error_of(result) == {
        "message": "Simulate requires parameters: query, sequence, action_policy",
        "error_code": 1004, "error_data": None}
    assert error_of(simulate(client, {**SIM, missing: None}))["error_code"] == 1004


def test_simulate_bad_fields(client) -> None:
    result = simulate(client, {**SIM, "query": 1})
    assert error_of(result)["message"] == "Bad Request::Field 'query' must be a string"
    result = simulate(client, {**SIM, "extra": 1})
    assert error_of(result)["message"] == "Bad Request::Unknown field(s) in request body: extra"


@pytest.mark.parametrize("body, policy, message", [
    ({**SIM, "sequence": "nonsense"}, "classification", "Syntax error in sequence nonsense"),
    (SIM, "nope", "Unknown policy nope"),
])
def test_simulate_engine_errors_are_1007(client, body, policy, message) -> None:
    result = simulate(client, body, policy=policy)
    assert result.status_code == 400
    assert error_of(result) == {"message": f"Error in simulate procedure::{message}",
                                "error_code": 1007, "error_data": None}


def test_simulate_non_policy_errors_pass(client, backend) -> None:
    backend.errors[("__engine", "simulate")] = exc.RpcTimeout("slow")
    assert simulate(client, SIM).status_code == 503


# --------------------------------------------------------------------------- execute
def execute(client, body, policy="any"):
    return post_json(client, f"/v1/policies/{policy}", body, query_string="action=execute")


def test_execute(client, backend) -> None:
    args = {"positional": [1], "named": {"a": "b"}}
    result = execute(client, {"name": " nova : reboot ", "args": args})
    assert result.status_code == 200
    assert result.json == {}
    assert backend.last_call("execute_action") == ("__engine", {
        "service": "nova", "action": "reboot", "args": args, "requested_by": "node:node-1"})
    assert execute(client, {"name": "nova:stop"}).status_code == 200
    assert backend.last_call("execute_action")[1]["args"] == {}


@pytest.mark.parametrize("body, code", [
    ({"name": "novareboot"}, 1017), ({"name": "a:b:c"}, 1017), ({}, 1017),
    ({"name": 5}, 1017), ({"name": "nova:x", "args": [1]}, 1018),
    ({"name": "nova:x", "args": {"positional": {}}}, 1018),
    ({"name": "nova:x", "args": {"named": []}}, 1018),
    ({"name": "nova:x", "args": {"other": 1}}, 1018),
    ({"name": "nova:x", "extra": 1}, 400),
])
def test_execute_errors(client, body, code) -> None:
    result = execute(client, body)
    assert result.status_code == 400
    assert error_of(result)["error_code"] == code


def test_execute_unknown_service(client) -> None:
    result = execute(client, {"name": "glance:x"})
    assert result.status_code == 400
    assert error_of(result) == {"message": "Error in execution procedure::Service glance not found",
                                "error_code": 1016, "error_data": None}


def test_execute_engine_policy_error_becomes_1016(client, backend) -> None:
    backend.errors[("__engine", "execute_action")] = exc.PolicyError("nope")
    result = execute(client, {"name": "nova:x"})
    assert error_of(result)["message"] == "Error in execution procedure::nope"
