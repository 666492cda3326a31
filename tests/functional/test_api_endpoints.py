"""Every policy-side endpoint of the REST API (doc/api.md) over real HTTP against a
real all-in-one ``congress-server`` on SQLite: success shapes, ``Location`` and consistency
headers, every error class (status, error_code, message), bad input of every kind, each
rejected request re-checked to have changed nothing stored, 413 for oversized bodies,
``/healthcheck`` (incl. disable-by-file), and 5xx answers without a traceback (a MariaDB
database dropped under a running server).

Datasource and driver endpoints: ``test_api_datasources.py``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import sqlite3
import uuid
from typing import Any

import pytest

from tests.functional.conftest import assert_error, snapshot, unchanged
from tests.functional.harness import CongressProcess, MariaDBDatabase, Response

pytestmark = pytest.mark.functional

BODY_LIMIT = 4096
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REQUEST_ID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def header(resp: Response, name: str) -> str | None:
    for k, v in resp.headers.items():
        if k.lower() == name.lower():
            return v
    return None


def revision(resp: Response) -> int:
    return int(header(resp, "X-Congress-Policy-Revision"))


@pytest.fixture(scope="module")
def drain_file(servers) -> str:
    return os.path.join(servers.base, "drain-me")


@pytest.fixture(scope="module")
def server(servers, drain_file) -> CongressProcess:
    return servers("api", extra={"DEFAULT": {"max_request_body_size": BODY_LIMIT},
                                 "healthcheck": {"disable_by_file_path": drain_file}})


@pytest.fixture(scope="module")
def pol(server) -> str:
    """A policy with ``p(x) :- q(x), not r(x)``, ``q(1)``, ``q(2)``, ``r(2)``."""
    r = server.post("/v1/policies", {"name": "base", "description": "the base policy"})
    assert r.status == 201, r
    for rule in ("p(x) :- q(x), not r(x)", "q(1)", "q(2)", "r(2)"):
        assert server.post("/v1/policies/base/rules", {"rule": rule}).status == 201
    return "base"


def raw_request(server: CongressProcess, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.read(), dict(resp.getheaders()))
    finally:
        conn.close()


# --------------------------------------------------------------------------- CORS
def test_cors_with_an_allowed_origin(servers):
    srv = servers("cors", extra={"cors": {"allowed_origin": "http://dash.example",
                                          "allow_headers": "X-Auth-Token"}})
    r = raw_request(srv, "OPTIONS", "/v1/policies", headers={
        "Origin": "http://dash.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-Auth-Token"})
    assert r.status == 200, r
    assert r.headers["Access-Control-Allow-Origin"] == "http://dash.example"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    r = raw_request(srv, "GET", "/v1/policies", headers={"Origin": "http://dash.example"})
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "http://dash.example"
    r = raw_request(srv, "GET", "/v1/policies", headers={"Origin": "http://evil.example"})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
    # a preflight from an origin that is not allowed: 200, but nothing allowed
    r = raw_request(srv, "OPTIONS", "/v1/policies", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "DELETE"})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers


# --------------------------------------------------------------------------- versions
def test_versions(server):
    r = server.get("/")
    assert r.status == 200
    assert r.json == {"versions": [{"id": "v1", "status": "CURRENT",
                                    "updated": "2013-08-12T17:42:13Z",
                                    "links": [{"rel": "self", "href": server.url + "/v1/"}]}]}
    r = server.get("/some/where")
    assert r.status == 300
    assert r.json["choices"][0]["links"] == [{"rel": "self",
                                              "href": server.url + "/v1/some/where"}]
    for path in ("/v1", "/v1/"):
        r = server.get(path)
        assert r.status == 200, r
        assert r.json["version"]["id"] == "v1"
        assert r.json["version"]["links"] == [
            {"rel": "self", "href": server.url + "/v1/"},
            {"rel": "describedby", "type": "text/html",
             "href": "http://congress.readthedocs.org/"}]
    assert_error(server.post("/v1", {}), 501, message="Method not supported")


# --------------------------------------------------------------------------- headers
def test_consistency_and_request_id_headers(server):
    r1 = server.get("/v1/policies")
    assert header(r1, "X-Congress-Node") == "api"
    assert REQUEST_ID_RE.match(header(r1, "X-OpenStack-Request-ID"))
    assert header(r1, "X-Congress-Data-Revision") is not None
    rev = revision(r1)
    # reads and failures leave the revision alone, every change takes the next one
    assert revision(server.get("/v1/policies/classification")) == rev
    assert revision(server.post("/v1/policies", {"name": "classification"})) == rev
    created = server.post("/v1/policies", {"name": "hdr"})
    assert created.status == 201 and revision(created) == rev + 1
    rule = server.post("/v1/policies/hdr/rules", {"rule": "a(1)"})
    assert revision(rule) == rev + 2
    deleted = server.delete(f"/v1/policies/hdr/rules/{rule.json['id']}")
    assert revision(deleted) == rev + 3
    assert revision(server.delete("/v1/policies/hdr")) == rev + 4
    # errors carry them too, and two requests never share a request id
    err = server.get("/v1/policies/nosuch")
    assert header(err, "X-Congress-Node") == "api" and revision(err) == rev + 4
    assert header(err, "X-OpenStack-Request-ID") != header(r1, "X-OpenStack-Request-ID")
    # 404 of an unknown route and 413 carry them as well
    assert header(server.get("/v1/nothing/here/at/all/x"), "X-Congress-Node") == "api"


# --------------------------------------------------------------------------- policies
def test_policy_lifecycle(server):
    r = server.post("/v1/policies", {"name": "life", "abbreviation": "lf",
                                     "description": "d", "kind": "Materialized"})
    assert r.status == 201, r
    pol = r.json
    assert UUID_RE.match(pol["id"])
    assert pol == {"id": pol["id"], "name": "life", "abbreviation": "lf", "description": "d",
                   "owner_id": "user", "kind": "materialized"}
    assert header(r, "Location") == "/v1/policies/" + pol["id"]
    assert r.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert r.raw.endswith(b"}\n")

    listed = server.get("/v1/policies")
    assert listed.raw.startswith(b'{\n  "results": [')        # lists are pretty-printed
    names = {p["name"]: p for p in listed.json["results"]}
    assert names["life"] == pol
    assert names["classification"]["kind"] == "nonrecursive"
    assert names["action"]["description"] == "default action policy"
    assert server.get("/v1/policies/life").json == pol
    assert server.get("/v1/policies/" + pol["id"]).json == pol
    assert server.get("/v1/policies/life/status").json == {"name": "life", "id": pol["id"]}

    # defaults
    r = server.post("/v1/policies", {"name": "defaults_here"})
    assert r.json["abbreviation"] == "defau" and r.json["kind"] == "nonrecursive"
    assert r.json["description"] == ""
    for kind in ("database", "action"):
        r = server.post("/v1/policies", {"name": f"k_{kind}", "kind": kind})
        assert r.status == 201 and r.json["kind"] == kind

    # delete by id answers the deleted policy
    r = server.delete("/v1/policies/" + pol["id"])
    assert r.status == 200 and r.json == pol
    assert_error(server.get("/v1/policies/life"), 404,
                 message="Not Found::No policy found with name or id life")
    assert_error(server.get("/v1/policies/life/status"), 404)


def test_policy_with_rules(server):
    body = {"name": "withrules", "kind": "nonrecursive", "rules": [
        {"rule": "v(x) :- w(x, y), gt(y, 3)", "name": "big", "comment": "big ones"},
        {"rule": 'w("a", 5)'}, {"rule": 'w("b", 1)'}]}
    r = server.post("/v1/policies", body)
    assert r.status == 201, r
    assert header(r, "Location") == "/v1/policies/" + r.json["id"]
    assert r.json["rules"] == [
        {"rule": "v(x) :- \n    w(x, y),\n    gt(y, 3)", "name": "big", "comment": "big ones"},
        {"rule": 'w("a", 5)', "name": None, "comment": ""},
        {"rule": 'w("b", 1)', "name": None, "comment": ""}]
    rules = server.get("/v1/policies/withrules/rules").json["results"]
    assert sorted(x["rule"] for x in rules) == sorted(x["rule"] for x in body["rules"])
    assert server.get("/v1/policies/withrules/tables/v/rows").json == {
        "results": [{"data": ["a"]}]}

    # one bad rule: the whole create is rolled back
    with unchanged(server):
        bad = {"name": "halfbad", "rules": [{"rule": "ok(1)"}, {"rule": "bad(x) :- ok(y)"}]}
        assert_error(server.post("/v1/policies", bad), 400, 1002,
                     contains="Syntax error for rule::")
    assert server.get("/v1/policies/halfbad").status == 404
    # the name is free afterwards
    r = server.post("/v1/policies", {"name": "halfbad", "rules": [{"rule": "ok(1)"}]})
    assert r.status == 201, r

    # an empty rule list is echoed; a repeated rule is stored once
    r = server.post("/v1/policies", {"name": "norules", "rules": []})
    assert r.status == 201 and r.json["rules"] == [], r
    r = server.post("/v1/policies", {"name": "twice", "rules": [{"rule": "p(1)"},
                                                                {"rule": "p(1)"}]})
    assert r.status == 201 and [x["rule"] for x in r.json["rules"]] == ["p(1)"], r
    listed = server.get("/v1/policies/twice/rules").json["results"]
    assert [x["rule"] for x in listed] == ["p(1)"]
    db = sqlite3.connect(os.path.join(server.state, "congress.sqlite"))
    try:
        stored = db.execute("SELECT id FROM policy_rules WHERE policy_name = 'twice' "
                            "AND deleted = ''").fetchall()
    finally:
        db.close()
    assert [row[0] for row in stored] == [listed[0]["id"]]


POLICY_CREATE_ERRORS: list[tuple[Any, int, int, str | None]] = [
    # body, status, error_code, message (exact) / substring after "~"
    ({"description": "no name"}, 400, 1010, "A name must be provided when creating a policy"),
    ({"name": None}, 400, 1010, "A name must be provided when creating a policy"),
    ({"name": "x", "id": "abc"}, 400, 1015, "An ID may not be provided when creating a policy"),
    ({"name": "x", "abbreviation": "sixchr"}, 400, 1022,
     "The policy abbreviation must be a string and the length of the string must be equal to "
     "or less than 5 characters."),
    ({"name": "x", "abbreviation": 5}, 400, 1022, None),
    ({"name": "base"}, 409, 409, "Conflict::Policy with name base already exists"),
    ({"name": "classification"}, 409, 409, None),
    ({"name": "bad name"}, 400, 400, "Bad Request::Policy name bad name is not a valid tablename"),
    ({"name": "builtin"}, 400, 400, None),
    ({"name": "x:y"}, 400, 400, None),
    ({"name": "x", "kind": "weird"}, 400, 400, "Bad Request::Unknown kind of policy: weird"),
    ({"name": "x", "kind": "z3"}, 400, 400, "Bad Request::Z3 not available. Please install it"),
    ({"name": "x", "kind": "datasource"}, 400, 400, "~cannot be created directly"),
    ({"name": 5}, 400, 400, "Bad Request::Field 'name' must be a string"),
    ({"name": "x", "kind": 3}, 400, 400, "Bad Request::Field 'kind' must be a string"),
    ({"name": "x", "description": ["d"]}, 400, 400,
     "Bad Request::Field 'description' must be a string"),
    ({"name": "x", "owner_id": "me"}, 400, 400,
     "Bad Request::Unknown field(s) in request body: owner_id"),
    ([{"name": "x"}], 400, 400, "Bad Request::The request body must be a JSON object"),
    ("x", 400, 400, "Bad Request::The request body must be a JSON object"),
    ({"name": "x", "rules": "p(1)"}, 400, 400, "Bad Request::Input policy item violates schema."),
    ({"name": "x", "rules": [{"rule": "p(1)", "extra": 1}]}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ({"name": "x", "rules": [{"name": "no rule text"}]}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ({"name": "x", "rules": [{"rule": "p(1)", "comment": "c" * 256}]}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ({"name": "x", "rules": [], "surprise": True}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ({"name": "x", "rules": [{"rule": "p(1). q(1)"}]}, 400, 1003, "~more than 1 rule"),
    ({"name": "x", "rules": [{"rule": "p(x) :- "}]}, 400, 1002, "~Parse failure"),
]


@pytest.mark.parametrize("body,status,code,message", POLICY_CREATE_ERRORS,
                         ids=[str(i) for i in range(len(POLICY_CREATE_ERRORS))])
def test_policy_create_errors(server, pol, body, status, code, message):
    with unchanged(server):
        r = server.post("/v1/policies", body)
        exact = message if message and not message.startswith("~") else None
        contains = message[1:] if message and message.startswith("~") else None
        err = assert_error(r, status, code, exact, contains=contains,
                           data="schema" in (message or ""))
        if "schema" in (message or ""):
            assert isinstance(err["error_data"], str) and err["error_data"]


def test_policy_delete_errors(server, pol):
    with unchanged(server):
        assert_error(server.delete("/v1/policies/nosuch"), 404,
                     message="Not Found::No policy found with name or id nosuch")
        for system in ("classification", "action"):
            assert_error(server.delete(f"/v1/policies/{system}"), 404,
                         message=f"Not Found::Cannot delete system-maintained policy {system}")
        assert_error(server.get("/v1/policies/nosuch/status"), 404)
        assert_error(server.request("PUT", "/v1/policies/base", {}), 501,
                     message="Method not supported")
        assert_error(server.request("PATCH", "/v1/policies/base", {}), 501)
        assert_error(server.delete("/v1/policies"), 501)


def test_policy_from_library(server):
    lib = server.post("/v1/librarypolicies", {"name": "fromlib", "kind": "nonrecursive",
                                              "rules": [{"rule": "fl(1)", "name": "one"}]})
    assert lib.status == 201, lib
    lid = lib.json["id"]
    with unchanged(server):
        assert_error(server.post(f"/v1/policies?library_policy={lid}", {"name": "x"}), 400,
                     contains="must not have non-empty body")
        assert_error(server.post("/v1/policies?library_policy=nosuch"), 404,
                     contains="nosuch")
    r = server.request("POST", f"/v1/policies?library_policy={lid}", raw=b"",
                       headers={"Content-Type": "application/json"})
    assert r.status == 201, r
    assert r.json["name"] == "fromlib" and r.json["rules"] == [
        {"rule": "fl(1)", "name": "one", "comment": ""}]
    assert header(r, "Location") == "/v1/policies/" + r.json["id"]
    assert server.get("/v1/policies/fromlib/tables/fl/rows").json["results"] == [
        {"data": [1]}]
    with unchanged(server):   # instantiating twice: the name is taken
        assert_error(server.post(f"/v1/policies?library_policy={lid}", None), 409)


# --------------------------------------------------------------------------- rules
def test_rule_lifecycle(server, pol):
    pid = server.get("/v1/policies/base").json["id"]
    r = server.post("/v1/policies/base/rules", {"rule": "s(x) :- q(x), r(x)", "name": "sr",
                                                "comment": "both"})
    assert r.status == 201, r
    rule = r.json
    assert UUID_RE.match(rule["id"])
    assert rule == {"id": rule["id"], "name": "sr", "comment": "both",
                    "rule": "s(x) :- \n    q(x),\n    r(x)"}
    assert header(r, "Location") == f"/v1/policies/base/rules/{rule['id']}"
    stored = {"id": rule["id"], "name": "sr", "comment": "both", "rule": "s(x) :- q(x), r(x)"}
    assert server.get(f"/v1/policies/base/rules/{rule['id']}").json == stored
    assert stored in server.get("/v1/policies/base/rules").json["results"]
    assert server.get(f"/v1/policies/base/rules/{rule['id']}/status").json == {
        "name": "sr", "id": rule["id"], "comment": "both", "original_str": "s(x) :- q(x), r(x)"}
    assert server.get("/v1/policies/base/tables/s/rows").json["results"] == [{"data": [2]}]

    # the policy's UUID works for list, get, insert and delete
    assert server.get(f"/v1/policies/{pid}/rules").status == 200
    r = server.post(f"/v1/policies/{pid}/rules", {"rule": "q(3)"})
    assert r.status == 201
    assert header(r, "Location") == f"/v1/policies/{pid}/rules/{r.json['id']}"
    d = server.delete(f"/v1/policies/{pid}/rules/{r.json['id']}")
    assert d.status == 200 and d.json == {"id": r.json["id"], "name": None, "comment": "",
                                          "rule": "q(3)"}
    d = server.delete(f"/v1/policies/base/rules/{rule['id']}")
    assert d.status == 200 and d.json == stored
    assert_error(server.get(f"/v1/policies/base/rules/{rule['id']}"), 404)
    assert server.get("/v1/policies/base/tables/s/rows").status == 404


RULE_ERRORS: list[tuple[str, Any, int, int, str | None]] = [
    ("base", {"rule": "p(x) :- q(y)"}, 400, 1002, "~found in head but not in body"),
    ("base", {"rule": "p(x) :- "}, 400, 1002, "~Parse failure"),
    ("base", {"rule": ""}, 400, 1002,
     "Syntax error for rule::Empty string passed. Not a valid rule"),
    ("base", {"rule": "p(1) q(2)"}, 400, 1003, "~Received string representing more than 1"),
    ("base", {"rule": "q(1)"}, 409, 1008, "~Rule already exists"),
    ("base", {"rule": "q(1, 2)"}, 400, 1002, "~arguments"),
    ("base", {"rule": "q(x) :- p(x)"}, 400, 1002, "~recursive"),
    ("base", {"rule": "t(x) :- q(x), not u(x, y)"}, 400, 1002, "~"),
    ("base", {"rule": "execute[nova:stop(x)]"}, 400, 1002, "~"),
    ("nosuch", {"rule": "p(1)"}, 404, 1020,
     "The specified policy does not exist.::No policy found with name or id nosuch"),
    ("base", {"rule": "q(9)", "id": "mine"}, 400, 1001,
     "Add item does not support user-chosen ID"),
    ("base", {"rule": 5}, 400, 400, "Bad Request::Field 'rule' must be a string"),
    ("base", {"name": "no rule"}, 400, 400, "Bad Request::Missing required field 'rule'"),
    ("base", {"rule": "q(9)", "name": "n" * 256}, 400, 400,
     "Bad Request::Field 'name' must be at most 255 characters long"),
    ("base", {"rule": "q(9)", "comment": 7}, 400, 400,
     "Bad Request::Field 'comment' must be a string"),
    ("base", {"rule": "q(9)", "priority": 1}, 400, 400,
     "Bad Request::Unknown field(s) in request body: priority"),
    ("base", ["q(9)"], 400, 400, "Bad Request::The request body must be a JSON object"),
]


@pytest.mark.parametrize("policy,body,status,code,message", RULE_ERRORS,
                         ids=[str(i) for i in range(len(RULE_ERRORS))])
def test_rule_errors(server, pol, policy, body, status, code, message):
    with unchanged(server):
        r = server.post(f"/v1/policies/{policy}/rules", body)
        exact = message if message and not message.startswith("~") else None
        contains = message[1:] if message and message.startswith("~") else None
        assert_error(r, status, code, exact, contains=contains or None)


def test_rule_read_and_delete_errors(server, pol):
    with unchanged(server):
        missing = str(uuid.uuid4())
        assert_error(server.get(f"/v1/policies/base/rules/{missing}"), 404, 404, "Not found")
        assert_error(server.delete(f"/v1/policies/base/rules/{missing}"), 404,
                     contains=missing)
        assert_error(server.get(f"/v1/policies/base/rules/{missing}/status"), 404, 404,
                     "Not found")
        for path in ("/v1/policies/nosuch/rules", f"/v1/policies/nosuch/rules/{missing}"):
            assert_error(server.get(path), 404, 1020,
                         "The specified policy does not exist.::No policy found with name or "
                         "id nosuch")
        assert_error(server.request("PUT", "/v1/policies/base/rules", {}), 501)
        assert_error(server.request("PUT", f"/v1/policies/base/rules/{missing}", {}), 501)


# --------------------------------------------------------------------------- tables, rows
def test_tables_and_rows(server, pol):
    tables = server.get("/v1/policies/base/tables")
    assert tables.status == 200
    assert sorted(t["id"] for t in tables.json["results"]) == ["p", "q", "r"]
    assert server.get("/v1/policies/base/tables/q").json == {"id": "q"}
    rows = server.get("/v1/policies/base/tables/q/rows")
    assert rows.raw.startswith(b'{\n  "results": [')
    assert sorted(x["data"] for x in rows.json["results"]) == [[1], [2]]
    rows = server.get("/v1/policies/base/tables/p/rows?trace=TRUE").json
    assert rows["results"] == [{"data": [1]}]
    assert "Found answer" in rows["trace"]
    assert "trace" not in server.get("/v1/policies/base/tables/p/rows?trace=no").json

    # modal heads and other policies' tables
    server.post("/v1/policies", {"name": "tabs"})
    for rule in ("execute[nova:stop(x)] :- bad(x)", "bad(x) :- nova:servers(x, y)", "bad(9)"):
        assert server.post("/v1/policies/tabs/rules", {"rule": rule}).status == 201, rule
    ids = sorted(t["id"] for t in server.get("/v1/policies/tabs/tables").json["results"])
    assert ids == ["bad", "nova:servers"]
    assert server.get("/v1/policies/tabs/tables/bad/rows").json["results"] == [{"data": [9]}]

    with unchanged(server):
        assert_error(server.get("/v1/policies/nosuch/tables"), 404, message="Not found")
        assert_error(server.get("/v1/policies/base/tables/nosuch"), 404, message="Not found")
        assert_error(server.get("/v1/policies/nosuch/tables/p"), 404, message="Not found")
        assert_error(server.get("/v1/policies/base/tables/nosuch/rows"), 404,
                     message="Not Found::table 'nosuch' doesn't exist")
        assert_error(server.get("/v1/policies/nosuch/tables/p/rows"), 404, 1020)
        assert_error(server.request("PUT", "/v1/policies/base/tables/q/rows", [[5]]), 501)
        assert_error(server.get("/v1/policies/base/tables/q/rows/1"), 501,
                     message="Method not supported")
        assert_error(server.delete("/v1/policies/base/tables/q/rows/1"), 501)
        assert_error(server.post("/v1/policies/base/tables", {}), 501)


# --------------------------------------------------------------------------- actions
def test_simulate(server, pol):
    with unchanged(server):
        r = server.post("/v1/policies/base?action=simulate",
                        {"query": "p(x)", "sequence": "r-(2)", "action_policy": "action"})
        assert r.status == 200 and sorted(r.json["result"]) == ["p(1)", "p(2)"]
        assert set(r.json) == {"result"}
        r = server.post("/v1/policies/base?action=simulate&delta=1&trace=True",
                        {"query": "p(x)", "sequence": "q+(5)", "action_policy": "action"})
        assert r.json["result"] == ["p+(5)"] and "Simulate" in r.json["trace"]
        pid = server.get("/v1/policies/base").json["id"]
        r = server.post(f"/v1/policies/{pid}?action=simulate",
                        {"query": "p(x)", "sequence": "q+(5)", "action_policy": "action"})
        assert r.status == 200 and sorted(r.json["result"]) == ["p(1)", "p(5)"]


SIMULATE_ERRORS: list[tuple[str, Any, int, int, str]] = [
    ("action=simulate", {"query": "p(x)"}, 400, 1004,
     "Simulate requires parameters: query, sequence, action_policy"),
    ("action=simulate", {"query": "p(x)", "sequence": "q+(1)", "action_policy": None}, 400,
     1004, "Simulate requires parameters: query, sequence, action_policy"),
    ("action=simulate", {"query": "p(x", "sequence": "q+(1)", "action_policy": "action"}, 400,
     1007, "~Error in simulate procedure::"),
    ("action=simulate", {"query": "p(x)", "sequence": "q+(", "action_policy": "action"}, 400,
     1007, "~Error in simulate procedure::"),
    ("action=simulate", {"query": "p(x)", "sequence": "q+(1)", "action_policy": "nosuch"}, 400,
     1007, "~Error in simulate procedure::"),
    ("action=simulate", {"query": 1, "sequence": "q+(1)", "action_policy": "action"}, 400, 400,
     "~query"),
    ("action=simulate", {"query": "p(x)", "sequence": "q+(1)", "action_policy": "action",
                         "extra": 1}, 400, 400,
     "Bad Request::Unknown field(s) in request body: extra"),
    ("action=execute", {"name": "nocolon"}, 400, 1017,
     "Incorrect action syntax. Requires: <service>:<action>"),
    ("action=execute", {"name": "a:b:c"}, 400, 1017, "~Incorrect action syntax"),
    ("action=execute", {}, 400, 1017, "~Incorrect action syntax"),
    ("action=execute", {"name": "svc:act", "args": [1]}, 400, 1018,
     "Incorrect argument syntax. Requires: {'positional': [<args>], 'named': "
     "{<key>:<value>,}}"),
    ("action=execute", {"name": "svc:act", "args": {"positional": "x"}}, 400, 1018,
     "~Incorrect argument syntax"),
    ("action=execute", {"name": "nosuchsvc:act"}, 400, 1016,
     "Error in execution procedure::Service nosuchsvc not found"),
    ("action=bogus", {}, 501, 501, "Method not supported"),
    ("action=simulate&action=execute", {}, 400, 400,
     "Action parameter may not be provided multiple times."),
    ("", {}, 400, 400, "Missing required action parameter."),
    ("actions=simulate", {}, 400, 400, "Missing required action parameter."),
]


@pytest.mark.parametrize("query,body,status,code,message", SIMULATE_ERRORS,
                         ids=[str(i) for i in range(len(SIMULATE_ERRORS))])
def test_policy_action_errors(server, pol, query, body, status, code, message):
    with unchanged(server):
        r = server.post(f"/v1/policies/base?{query}", body)
        exact = None if message.startswith("~") else message
        contains = message[1:] if message.startswith("~") else None
        assert_error(r, status, code, exact, contains=contains)


def test_simulate_unknown_policy(server):
    r = server.post("/v1/policies/nosuch?action=simulate",
                    {"query": "p(x)", "sequence": "q+(1)", "action_policy": "action"})
    assert_error(r, 400, 1007, contains="nosuch")


# --------------------------------------------------------------------------- library
def test_library_lifecycle(server):
    body = {"name": "libone", "description": "a library policy", "abbreviation": "lo",
            "kind": "nonrecursive",
            "rules": [{"rule": "lerr(x) :- lq(x)", "name": "r", "comment": "c"},
                      {"rule": "lq(1)"}]}
    r = server.post("/v1/librarypolicies", body)
    assert r.status == 201, r
    lp = r.json
    assert lp == {**body, "id": lp["id"]} and UUID_RE.match(lp["id"])
    assert header(r, "Location") == "/v1/librarypolicies/" + lp["id"]
    # defaults
    r = server.post("/v1/librarypolicies", {"name": "libdefaults", "rules": []})
    assert r.json["kind"] == "nonrecursive" and r.json["abbreviation"] == "libde"
    assert r.json["description"] == "" and r.json["rules"] == []

    assert server.get("/v1/librarypolicies/" + lp["id"]).json == lp
    norules = server.get(f"/v1/librarypolicies/{lp['id']}?include_rules=False").json
    assert norules == {k: v for k, v in lp.items() if k != "rules"}
    listed = server.get("/v1/librarypolicies").json["results"]
    assert lp in listed
    assert server.get("/v1/librarypolicies?name=libone").json["results"] == [lp]
    assert server.get("/v1/librarypolicies?name=nosuch").json["results"] == []
    assert all("rules" not in p for p in
               server.get("/v1/librarypolicies?include_rules=false").json["results"])

    # replace (OpenStack Congress answered 501)
    new = {"name": "libone", "description": "replaced", "rules": [{"rule": "lq(2)"}]}
    r = server.request("PUT", "/v1/librarypolicies/" + lp["id"], new)
    assert r.status == 200, r
    got = server.get("/v1/librarypolicies/" + lp["id"]).json
    assert got["description"] == "replaced" and got["rules"] == [{"rule": "lq(2)"}]
    assert got["id"] == lp["id"]
    r = server.request("PUT", "/v1/librarypolicies/" + lp["id"], {**new, "id": lp["id"]})
    assert r.status == 200, r

    r = server.delete("/v1/librarypolicies/" + lp["id"])
    assert r.status == 200 and r.json["id"] == lp["id"] and r.json["rules"] == [
        {"rule": "lq(2)"}]
    assert_error(server.get("/v1/librarypolicies/" + lp["id"]), 404, contains=lp["id"])


LIBRARY_ERRORS: list[tuple[str, str, Any, int, int, str | None]] = [
    ("POST", "", {"name": "nolib"}, 400, 400, "Bad Request::Input policy item violates schema."),
    ("POST", "", {"rules": []}, 400, 400, "Bad Request::Input policy item violates schema."),
    ("POST", "", {"name": "", "rules": []}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ("POST", "", {"name": "x", "rules": [], "kind": "nope"}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ("POST", "", {"name": "x", "rules": [], "abbreviation": "toolong"}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ("POST", "", {"name": "x", "rules": [], "owner": "me"}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ("POST", "", {"name": "x", "rules": [{"rule": 1}]}, 400, 400,
     "Bad Request::Input policy item violates schema."),
    ("POST", "", {"name": "x", "rules": [], "id": "mine"}, 400, 1015,
     "An ID may not be provided when creating a policy"),
    ("POST", "", {"name": "bad name", "rules": []}, 400, 400,
     "Bad Request::name `bad name` is not a valid policy name"),
    ("POST", "", {"name": "x", "rules": [{"rule": "p(x"}]}, 400, 400, "~does not parse"),
    ("POST", "", {"name": "dup", "rules": []}, 409, 409, "~dup"),
    ("POST", "", "x", 400, 400, "Bad Request::The request body must be a JSON object"),
    ("PUT", "/nosuch", {"name": "x", "rules": []}, 404, 404, "~nosuch"),
    ("PUT", "/DUP", {"name": "dup", "rules": [], "id": "other"}, 400, 400, "~does not match"),
    ("PUT", "/DUP", {"name": "dup"}, 400, 400, "Bad Request::Input policy item violates schema."),
    ("DELETE", "/nosuch", None, 404, 404, "Not Found::No policy found with policy id nosuch"),
    ("GET", "/nosuch", None, 404, 404, "Not Found::No policy found with policy id nosuch"),
    ("POST", "/DUP", {}, 501, 501, "Method not supported"),
    ("PATCH", "/DUP", {}, 501, 501, "Method not supported"),
    ("DELETE", "", None, 501, 501, "Method not supported"),
]


@pytest.mark.parametrize("method,suffix,body,status,code,message", LIBRARY_ERRORS,
                         ids=[str(i) for i in range(len(LIBRARY_ERRORS))])
def test_library_errors(server, method, suffix, body, status, code, message):
    dup = server.get("/v1/librarypolicies?name=dup").json["results"]
    if not dup:
        dup = [server.post("/v1/librarypolicies", {"name": "dup", "rules": [{"rule": "d(1)"}]})
               .json]
    suffix = suffix.replace("DUP", dup[0]["id"])
    with unchanged(server):
        r = server.request(method, "/v1/librarypolicies" + suffix,
                           body if method in ("POST", "PUT", "PATCH") else None)
        exact = message if message and not message.startswith("~") else None
        contains = message[1:] if message and message.startswith("~") else None
        err = assert_error(r, status, code, exact, contains=contains,
                           data="schema" in (message or ""))
        if "schema" in (message or ""):
            assert err["error_data"]


# --------------------------------------------------------------------------- framing
FRAMING: list[tuple[bytes, dict[str, str], str]] = [
    (b"{bad", {"Content-Type": "application/json"},
     "~Failed to parse body as application/json: Expecting property name"),
    (b'{"name": "x"', {"Content-Type": "application/json"},
     "~Failed to parse body as application/json:"),
    (b"", {"Content-Type": "application/json"},
     "~Failed to parse body as application/json: Expecting value"),
    (b'{"name": "x"}', {"Content-Type": "text/plain"},
     "Unsupported Content-Type; must be 'application/json'"),
    (b'{"name": "x"}', {"Content-Type": "application/x-www-form-urlencoded"},
     "Unsupported Content-Type; must be 'application/json'"),
    (b'{"name": "x"}', {"Content-Type": "application/json; charset=latin-1"},
     "Unsupported charset: must be 'UTF-8'"),
    (b'{"name": "\xff"}', {"Content-Type": "application/json"},
     "~Failed to parse body as application/json: 'utf-8' codec can't decode"),
    (b'{"name": "x", "description": NaN}', {"Content-Type": "application/json"},
     "~NaN is not a valid JSON value"),
    (b"[" * 2040 + b"]" * 2040, {"Content-Type": "application/json"},
     "~nested too deeply"),
]


@pytest.mark.parametrize("raw,headers,message", FRAMING,
                         ids=[str(i) for i in range(len(FRAMING))])
def test_bad_request_framing(server, pol, raw, headers, message):
    with unchanged(server):
        for path in ("/v1/policies", "/v1/policies/base/rules", "/v1/librarypolicies"):
            r = server.request("POST", path, raw=raw, headers=headers)
            exact = None if message.startswith("~") else message
            assert_error(r, 400, 400, exact, contains=message[1:] if exact is None else None)


def test_json_with_charset_and_no_content_type(server):
    r = server.request("POST", "/v1/policies", raw=b'{"name": "charset_ok"}',
                       headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 201, r
    r = raw_request(server, "POST", "/v1/policies", b'{"name": "no_ctype"}')
    assert r.status == 201, r
    r = server.post("/v1/policies", {"name": "unicode_ok", "description": "caf\u00e9 \u2603"})
    assert r.status == 201 and r.json["description"] == "caf\u00e9 \u2603"


def test_oversized_bodies(server, pol):
    big_rule = {"rule": "q(\"" + "x" * BODY_LIMIT + "\")"}
    with unchanged(server):
        # declared Content-Length over the limit
        for path in ("/v1/policies", "/v1/policies/base/rules", "/v1/librarypolicies",
                     "/v1/policies/base?action=simulate"):
            assert_error(server.post(path, big_rule), 413,
                         message=f"Request Entity Too Large::Request body is larger than the "
                                 f"limit of {BODY_LIMIT} bytes")
        # exactly at the limit is fine to read (it is rejected for other reasons here)
        at_limit = b'{"rule": "q(' + b"x" * (BODY_LIMIT - 14) + b'"}'
        assert len(at_limit) == BODY_LIMIT
        r = server.request("POST", "/v1/policies/base/rules", raw=at_limit,
                           headers={"Content-Type": "application/json"})
        assert_error(r, 400, 1002)
        # chunked body without a length: counted while read
        body = json.dumps(big_rule).encode()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.putrequest("POST", "/v1/policies/base/rules")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for i in range(0, len(body), 1000):
            piece = body[i:i + 1000]
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        assert_error(Response(resp.status, resp.read(), dict(resp.getheaders())), 413)
        conn.close()
        # far over the limit: waitress refuses it before the app sees it
        huge = b'{"rule": "' + b"x" * (2 * BODY_LIMIT + 2 * 1024 * 1024) + b'"}'
        try:
            r = server.request("POST", "/v1/policies/base/rules", raw=huge,
                               headers={"Content-Type": "application/json"})
            assert r.status == 413, r
            assert b"Traceback" not in r.raw
        except (ConnectionError, OSError):
            pass   # the server may close the connection while the body is still being sent
    # a chunked body within the limit works
    body = b'{"rule": "q(7)"}'
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/v1/policies/base/rules")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    resp = conn.getresponse()
    assert resp.status == 201, resp.read()
    rid = json.loads(resp.read())["id"]
    conn.close()
    assert server.delete(f"/v1/policies/base/rules/{rid}").status == 200


def test_unknown_routes_and_methods(server, pol):
    with unchanged(server):
        for path in ("/v1/nothing", "/v1/policies/base/rules/x/y/z", "/v1/policies//rules",
                     "/v1/system", "/v1/system/drivers/x/y"):
            assert_error(server.get(path), 404, message="The resource could not be found.")
        for method, path in (("DELETE", "/v1/librarypolicies"), ("PUT", "/v1/policies"),
                             ("PATCH", "/v1/policies/base/rules"),
                             ("POST", "/v1/policies/base/status"),
                             ("DELETE", "/v1/policies/base/tables/p")):
            assert_error(server.request(method, path, {} if method != "DELETE" else None),
                         501, message="Method not supported")
        r = raw_request(server, "BREW", "/v1/policies")
        assert_error(r, 501, message="Method not supported")
        # OPTIONS belongs to the CORS layer: an empty 200 (see test_cors_with_an_allowed_origin)
        r = raw_request(server, "OPTIONS", "/v1/policies")
        assert r.status == 200 and r.raw == b""


# --------------------------------------------------------------------------- healthcheck
def test_healthcheck_and_disable_by_file(server, drain_file):
    r = server.get("/healthcheck")
    assert r.status == 200 and r.raw == b"OK"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert raw_request(server, "HEAD", "/healthcheck").status == 204
    r = server.get("/healthcheck", headers={"Accept": "application/json"})
    assert r.status == 200 and r.json == {"detailed": False, "reasons": ["OK"]}
    with open(drain_file, "w") as f:
        f.write("maintenance\n")
    try:
        r = server.get("/healthcheck")
        assert r.status == 503 and r.raw == b"DISABLED BY FILE"
        assert raw_request(server, "HEAD", "/healthcheck").status == 503
        r = server.get("/healthcheck", headers={"Accept": "application/json"})
        assert r.status == 503 and r.json == {"detailed": False,
                                              "reasons": ["DISABLED BY FILE"]}
        # only the health check is drained: the API itself still answers
        assert server.get("/v1/policies").status == 200
    finally:
        os.unlink(drain_file)
    assert server.get("/healthcheck").status == 200
    assert_error(server.post("/healthcheck", {}), 501)


# --------------------------------------------------------------------------- 5xx
@pytest.fixture
def mariadb():
    db = MariaDBDatabase()
    yield db
    db.drop()


def test_server_errors_carry_no_traceback_and_change_nothing(servers, mariadb):
    """The database disappears under a running server: writes fail with a 5xx envelope that
    holds no traceback, and the engine's in-memory state is rolled back with the DB."""
    srv = servers("lostdb", db_url=mariadb.url)
    assert srv.post("/v1/policies", {"name": "keep"}).status == 201
    assert srv.post("/v1/policies/keep/rules", {"rule": "k(1)"}).status == 201
    before = snapshot(srv)
    mariadb.drop()
    try:
        responses = [
            srv.post("/v1/policies/keep/rules", {"rule": "k(2)"}),
            srv.post("/v1/policies", {"name": "another"}),
            srv.delete("/v1/policies/keep"),
            srv.post("/v1/librarypolicies", {"name": "lib", "rules": []}),
            srv.get("/v1/librarypolicies"),
        ]
        for r in responses:
            err = assert_error(r, 500, contains="Internal Server Error::Database error")
            assert "Traceback" not in err["message"] and "File \"" not in err["message"]
        # what the engine serves from memory is what it had
        assert sorted(srv.get("/v1/policies").json["results"],
                      key=lambda p: p["name"]) == before["policies"]
        assert srv.get("/v1/policies/keep/rules").json["results"] == before["rules:keep"]
        assert srv.get("/v1/policies/keep/tables/k/rows").json["results"] == [{"data": [1]}]
    finally:
        srv.stop()


def test_keepalive_connection_serves_many_requests(server, pol):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    sock_ids = set()
    for _ in range(20):
        conn.request("GET", "/v1/policies/base/tables/p/rows")
        resp = conn.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read()) == {"results": [{"data": [1]}]}
        sock_ids.add(id(conn.sock))
    assert len(sock_ids) == 1
    conn.close()
