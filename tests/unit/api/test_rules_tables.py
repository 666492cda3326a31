"""/v1/policies/<p>/rules[/<id>[/status]] and policy tables / rows."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import error_of, post_json


@pytest.fixture
def policy(client) -> dict:
    return post_json(client, "/v1/policies", {"name": "p"}).json


def add_rule(client, body, policy="p"):
    return post_json(client, f"/v1/policies/{policy}/rules", body)


def test_insert_and_list_rules(client, backend, policy) -> None:
    result = add_rule(client, {"rule": "a(x) :- b(x), c(x)", "name": "n", "comment": "c"})
    assert result.status_code == 201
    rule = result.json
    assert rule["rule"] == "a(x) :-\n  b(x),\n  c(x)"
    assert set(rule) == {"id", "name", "comment", "rule"}
    assert result.headers["Location"] == f"/v1/policies/p/rules/{rule['id']}"
    assert backend.last_call("insert_rule") == ("__engine", {
        "policy": "p", "rule": "a(x) :- b(x), c(x)", "name": "n", "comment": "c"})
    listing = client.simulate_get("/v1/policies/p/rules")
    assert listing.status_code == 200
    assert listing.json == {"results": [{"id": rule["id"], "name": "n", "comment": "c",
                                         "rule": "a(x) :- b(x), c(x)"}]}
    # by policy id as well
    assert add_rule(client, {"rule": "b(1)"}, policy=policy["id"]).status_code == 201


def test_insert_rule_optional_fields(client, backend, policy) -> None:
    assert add_rule(client, {"rule": "b(1)"}).status_code == 201
    assert backend.last_call("insert_rule")[1] == {"policy": "p", "rule": "b(1)",
                                                   "name": None, "comment": None}


@pytest.mark.parametrize("body, status, code, message", [
    ({"rule": "a("}, 400, 1002, None),
    ({"rule": ""}, 400, 1002, None),
    ({"rule": "a(1); b(2)"}, 400, 1003, None),
    ({"id": "x", "rule": "a(1)"}, 400, 1001, "Add item does not support user-chosen ID"),
    ({}, 400, 400, "Bad Request::Missing required field 'rule'"),
    ({"rule": ["a(1)"]}, 400, 400, "Bad Request::Field 'rule' must be a string"),
    ({"rule": "a(1)", "name": 1}, 400, 400, "Bad Request::Field 'name' must be a string"),
    ({"rule": "a(1)", "comment": "x" * 256}, 400, 400,
     "Bad Request::Field 'comment' must be at most 255 characters long"),
    ({"rule": "a(1)", "other": 1}, 400, 400,
     "Bad Request::Unknown field(s) in request body: other"),
])
def test_insert_rule_errors(client, policy, body, status, code, message) -> None:
    result = add_rule(client, body)
    assert result.status_code == status
    err = error_of(result)
    assert err["error_code"] == code
    if message:
        assert err["message"] == message


def test_insert_duplicate_and_unknown_policy(client, backend, policy) -> None:
    assert add_rule(client, {"rule": "a(1)"}).status_code == 201
    dup = add_rule(client, {"rule": "a(1)"})
    assert dup.status_code == 409
    assert error_of(dup) == {"message": "Rule already exists::Rule already exists",
                             "error_code": 1008, "error_data": None}
    unknown = add_rule(client, {"rule": "a(1)"}, policy="nope")
    assert unknown.status_code == 404
    assert error_of(unknown)["error_code"] == 1020
    backend.engine.policies["p"]["kind"] = "datasource"
    assert error_of(add_rule(client, {"rule": "z(1)"}))["error_code"] == 1019


def test_get_and_delete_rule(client, backend, policy) -> None:
    rule = add_rule(client, {"rule": "a(1)", "name": "n"}).json
    got = client.simulate_get(f"/v1/policies/p/rules/{rule['id']}")
    assert got.status_code == 200
    assert got.json == {"id": rule["id"], "name": "n", "comment": "", "rule": "a(1)"}
    missing = client.simulate_get("/v1/policies/p/rules/nope")
    assert missing.status_code == 404
    assert error_of(missing) == {"message": "Not found", "error_code": 404, "error_data": None}
    assert error_of(client.simulate_get("/v1/policies/zz/rules/x"))["error_code"] == 1020
    deleted = client.simulate_delete(f"/v1/policies/p/rules/{rule['id']}")
    assert deleted.status_code == 200
    assert deleted.json == got.json
    assert backend.last_call("delete_rule") == ("__engine", {"policy": "p",
                                                             "rule_id": rule["id"]})
    again = client.simulate_delete(f"/v1/policies/p/rules/{rule['id']}")
    assert again.status_code == 404
    assert error_of(again)["error_code"] == 404


def test_rule_status(client, policy) -> None:
    rule = add_rule(client, {"rule": "a(1)", "name": "n", "comment": "c"}).json
    result = client.simulate_get(f"/v1/policies/p/rules/{rule['id']}/status")
    assert result.status_code == 200
    assert result.json == {"name": "n", "id": rule["id"], "comment": "c",
                           "original_str": "a(1)"}
    assert client.simulate_get("/v1/policies/p/rules/nope/status").status_code == 404


def test_rule_status_omits_none(client, backend, policy) -> None:
    backend.engine.get_rule = lambda policy, rule_id: {"id": "r", "name": None,
                                                       "comment": None, "rule": "a(1)"}
    assert client.simulate_get("/v1/policies/p/rules/r/status").json == {
        "id": "r", "original_str": "a(1)"}


# --------------------------------------------------------------------------- tables & rows
def test_policy_tables(client, backend, policy) -> None:
    add_rule(client, {"rule": "a(1)"})
    add_rule(client, {"rule": "b(x) :- a(x)"})
    result = client.simulate_get("/v1/policies/p/tables")
    assert result.status_code == 200
    assert result.json == {"results": [{"id": "a"}, {"id": "b"}]}
    assert client.simulate_get("/v1/policies/p/tables/a").json == {"id": "a"}
    missing = client.simulate_get("/v1/policies/p/tables/zz")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "Not found"
    for path in ("/v1/policies/nope/tables", "/v1/policies/nope/tables/a"):
        result = client.simulate_get(path)
        assert result.status_code == 404
        assert error_of(result) == {"message": "Not found", "error_code": 404,
                                    "error_data": None}


def test_policy_rows(client, backend, policy) -> None:
    add_rule(client, {"rule": "a(1)"})
    backend.engine.rows[("p", "a")] = [[1], ["x"]]
    result = client.simulate_get("/v1/policies/p/tables/a/rows")
    assert result.status_code == 200
    assert result.json == {"results": [{"data": [1]}, {"data": ["x"]}]}
    assert result.text.startswith('{\n  "results"')
    assert backend.last_call("get_rows") == ("__engine", {"policy": "p", "table": "a",
                                                          "trace": False})
    traced = client.simulate_get("/v1/policies/p/tables/a/rows", query_string="trace=True")
    assert traced.json["trace"] == "Not available"
    assert backend.last_call("get_rows")[1]["trace"] is True
    client.simulate_get("/v1/policies/p/tables/a/rows", query_string="trace=1")
    assert backend.last_call("get_rows")[1]["trace"] is False
    missing = client.simulate_get("/v1/policies/p/tables/zz/rows")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "Not Found::table 'zz' doesn't exist"


def test_policy_rows_list_answer_is_wrapped(client, backend) -> None:
    backend.engine.get_rows = lambda policy, table, trace=False: [[1, 2], (3, 4)]
    result = client.simulate_get("/v1/policies/p/tables/a/rows")
    assert result.json == {"results": [{"data": [1, 2]}, {"data": [3, 4]}]}
