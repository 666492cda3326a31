"""/v1/librarypolicies[/<id>]."""

from __future__ import annotations

import json

import pytest

from tests.unit.api.conftest import error_of, post_json

LP = {"name": "lib1", "description": "d", "kind": "nonrecursive", "abbreviation": "l1",
      "rules": [{"rule": "p(x) :- q(x)", "name": "r", "comment": "c"}]}


@pytest.fixture
def lp(client) -> dict:
    result = post_json(client, "/v1/librarypolicies", LP)
    assert result.status_code == 201, result.text
    return result.json


def test_create(client, backend) -> None:
    result = post_json(client, "/v1/librarypolicies", {"name": "mini", "rules": []})
    assert result.status_code == 201
    body = result.json
    assert result.headers["Location"] == f"/v1/librarypolicies/{body['id']}"
    assert body == {"id": body["id"], "name": "mini", "rules": [], "kind": "nonrecursive",
                    "abbreviation": "mini", "description": ""}
    assert backend.last_call("create") == ("__library", {"body": {"name": "mini",
                                                                  "rules": []}})


@pytest.mark.parametrize("body", [
    {"rules": []}, {"name": "x"}, {"name": "", "rules": []}, {"name": "x" * 256, "rules": []},
    {"name": "x", "rules": [], "kind": "other"}, {"name": "x", "rules": [], "abbreviation": ""},
    {"name": "x", "rules": [], "abbreviation": "sixsix"}, {"name": "x", "rules": [{}]},
    {"name": "x", "rules": [{"rule": "p(1)", "name": "n" * 256}]},
    {"name": "x", "rules": [], "unknown": 1}, {"name": 1, "rules": []},
])
def test_create_schema_violations(client, body) -> None:
    result = post_json(client, "/v1/librarypolicies", body)
    assert result.status_code == 400
    err = error_of(result)
    assert err["message"] == "Bad Request::Input policy item violates schema."
    assert err["error_code"] == 400
    assert err["error_data"]


def test_create_other_errors(client, lp) -> None:
    with_id = post_json(client, "/v1/librarypolicies", {**LP, "id": "x"})
    assert error_of(with_id)["error_code"] == 1015
    dup = post_json(client, "/v1/librarypolicies", LP)
    assert dup.status_code == 409
    bad_name = post_json(client, "/v1/librarypolicies", {"name": "a b", "rules": []})
    assert bad_name.status_code == 400
    assert error_of(bad_name)["message"] == "Bad Request::name `a b` is not a valid policy name"


def test_list(client, backend, lp) -> None:
    result = client.simulate_get("/v1/librarypolicies")
    assert result.status_code == 200
    assert result.json == {"results": [lp]}
    assert backend.last_call("list") == ("__library", {"include_rules": True, "name": None})
    no_rules = client.simulate_get("/v1/librarypolicies", query_string="include_rules=FALSE")
    assert "rules" not in no_rules.json["results"][0]
    assert backend.last_call("list")[1]["include_rules"] is False
    by_name = client.simulate_get("/v1/librarypolicies", query_string="name=lib1")
    assert [p["id"] for p in by_name.json["results"]] == [lp["id"]]
    assert backend.last_call("list")[1]["name"] == "lib1"
    assert client.simulate_get("/v1/librarypolicies",
                               query_string="name=zz").json == {"results": []}


def test_get(client, backend, lp) -> None:
    result = client.simulate_get(f"/v1/librarypolicies/{lp['id']}")
    assert result.status_code == 200
    assert result.json == lp
    no_rules = client.simulate_get(f"/v1/librarypolicies/{lp['id']}",
                                   query_string="include_rules=false")
    assert "rules" not in no_rules.json
    assert backend.last_call("get") == ("__library", {"id": lp["id"], "include_rules": False})
    missing = client.simulate_get("/v1/librarypolicies/nope")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "Not Found::No policy found with policy id nope"


def test_delete(client, lp) -> None:
    result = client.simulate_delete(f"/v1/librarypolicies/{lp['id']}")
    assert result.status_code == 200
    assert result.json == lp
    again = client.simulate_delete(f"/v1/librarypolicies/{lp['id']}")
    assert again.status_code == 404
    assert error_of(again)["message"] == f"Not Found::No policy found with policy id {lp['id']}"


def test_replace(client, backend, lp) -> None:
    new = {"name": "lib2", "rules": [{"rule": "a(1)"}]}
    result = client.simulate_put(f"/v1/librarypolicies/{lp['id']}", body=json.dumps(new))
    assert result.status_code == 200
    assert result.json == {"id": lp["id"], "name": "lib2", "rules": [{"rule": "a(1)"}],
                           "kind": "nonrecursive", "abbreviation": "lib2", "description": ""}
    assert backend.last_call("replace") == ("__library", {"id": lp["id"], "body": new})
    assert client.simulate_get(f"/v1/librarypolicies/{lp['id']}").json == result.json
    # round trip of a fetched object (with its id) works
    fetched = client.simulate_get(f"/v1/librarypolicies/{lp['id']}").json
    again = client.simulate_put(f"/v1/librarypolicies/{lp['id']}", body=json.dumps(fetched))
    assert again.status_code == 200


def test_replace_errors(client, lp) -> None:
    wrong_id = client.simulate_put(f"/v1/librarypolicies/{lp['id']}",
                                   body=json.dumps({**LP, "id": "other"}))
    assert wrong_id.status_code == 400
    assert error_of(wrong_id)["message"] == \
        "Bad Request::Field 'id' does not match the library policy id in the URL"
    bad = client.simulate_put(f"/v1/librarypolicies/{lp['id']}", body=json.dumps({"name": "x"}))
    assert error_of(bad)["message"] == "Bad Request::Input policy item violates schema."
    missing = client.simulate_put("/v1/librarypolicies/nope", body=json.dumps(LP))
    assert missing.status_code == 404
    assert client.simulate_patch(f"/v1/librarypolicies/{lp['id']}", body="{}").status_code == 501
