"""A real all-in-one ``congress-server`` over HTTP: policies, rules, tables, rows, simulate,
library, restart durability and concurrent clients, on SQLite and on MariaDB."""

from __future__ import annotations

import random
import threading
import time

import pytest

from tests.functional.harness import CongressProcess, MariaDBDatabase

pytestmark = pytest.mark.functional


@pytest.fixture(params=["sqlite", "mariadb"])
def server(request, tmp_path):
    db = None
    url = None
    if request.param == "mariadb":
        db = MariaDBDatabase()
        url = db.url
    proc = CongressProcess(str(tmp_path), node_id="aio", db_url=url).start()
    yield proc
    proc.stop()
    if db is not None:
        db.drop()


def test_policy_rule_row_lifecycle(server):
    r = server.post("/v1/policies", {"name": "alice", "abbreviation": "al",
                                     "description": "test policy"})
    assert r.status == 201, r
    pol = r.json
    assert pol["name"] == "alice" and pol["kind"] == "nonrecursive" and pol["owner_id"] == "user"
    assert r.headers["Location"].endswith("/v1/policies/" + pol["id"])

    r = server.post("/v1/policies/alice/rules", {"rule": "p(x) :- q(x), not r(x)",
                                                 "name": "r1", "comment": "a rule"})
    assert r.status == 201, r
    rule = r.json
    assert rule["rule"] == "p(x) :- \n    q(x),\n    not r(x)"
    assert rule["name"] == "r1" and rule["comment"] == "a rule"
    for fact in ("q(1)", "q(2)", "r(2)"):
        assert server.post("/v1/policies/alice/rules", {"rule": fact}).status == 201

    rows = server.get("/v1/policies/alice/tables/p/rows").json["results"]
    assert rows == [{"data": [1]}]
    tables = {t["id"] for t in server.get("/v1/policies/alice/tables").json["results"]}
    assert tables == {"p", "q", "r"}

    # duplicate -> 409; syntax error -> 400 with error code 1002 (rule_syntax); nothing changes
    r = server.post("/v1/policies/alice/rules", {"rule": "q(1)"})
    assert r.status == 409 and r.json["error"]["error_code"] == 1008
    r = server.post("/v1/policies/alice/rules", {"rule": "p(x) :- q(y)"})
    assert r.status == 400 and r.json["error"]["error_code"] == 1002
    assert "found in head but not in body" in r.json["error"]["message"]
    r = server.post("/v1/policies/alice/rules", {"rule": "p(x) :- "})
    assert r.status == 400 and "Parse failure" in r.json["error"]["message"]
    assert server.get("/v1/policies/alice/tables/p/rows").json["results"] == [{"data": [1]}]

    # deleting the negated fact makes p(2) true
    listed = server.get("/v1/policies/alice/rules").json["results"]
    r2 = next(x for x in listed if x["rule"] == "r(2)")
    assert server.delete(f"/v1/policies/alice/rules/{r2['id']}").status == 200
    rows = server.get("/v1/policies/alice/tables/p/rows").json["results"]
    assert sorted(x["data"][0] for x in rows) == [1, 2]

    # trace
    r = server.get("/v1/policies/alice/tables/p/rows?trace=true").json
    assert "Found answer" in r["trace"]

    # simulate leaves the state untouched
    r = server.post("/v1/policies/alice?action=simulate",
                    {"query": "p(x)", "sequence": "r+(1)", "action_policy": "action"})
    assert r.status == 200 and r.json["result"] == ["p(2)"]
    r = server.post("/v1/policies/alice?action=simulate&delta=true",
                    {"query": "p(x)", "sequence": "q+(7)", "action_policy": "action"})
    assert r.json["result"] == ["p+(7)"]
    rows = server.get("/v1/policies/alice/tables/p/rows").json["results"]
    assert sorted(x["data"][0] for x in rows) == [1, 2]

    # delete the policy
    assert server.delete("/v1/policies/alice").status == 200
    assert server.get("/v1/policies/alice").status == 404
    r = server.delete("/v1/policies/classification")
    assert r.status == 404 and "system-maintained" in r.json["error"]["message"]


def test_restart_keeps_everything(server):
    server.post("/v1/policies", {"name": "m", "kind": "materialized"})
    for rule in ("reach(x,y) :- edge(x,y)", "reach(x,z) :- reach(x,y), edge(y,z)",
                 "edge(1,2)", "edge(2,3)", "edge(3,4)"):
        assert server.post("/v1/policies/m/rules", {"rule": rule}).status == 201
    lib = server.post("/v1/librarypolicies", {"name": "libpol", "rules": [{"rule": "p(1)"}]})
    assert lib.status == 201, lib
    before_rules = sorted(r["id"] for r in server.get("/v1/policies/m/rules").json["results"])
    server.stop()
    server.start()
    after_rules = sorted(r["id"] for r in server.get("/v1/policies/m/rules").json["results"])
    assert before_rules == after_rules
    rows = server.get("/v1/policies/m/tables/reach/rows").json["results"]
    assert len(rows) == 6
    names = [p["name"] for p in server.get("/v1/librarypolicies").json["results"]]
    assert "libpol" in names
    # instantiate from the library after the restart
    r = server.post(f"/v1/policies?library_policy={lib.json['id']}")
    assert r.status == 201, r
    assert server.get("/v1/policies/libpol/tables/p/rows").json["results"] == [{"data": [1]}]


def test_concurrent_clients(server):
    """Clients create and delete rules and read rows at once: no lost/duplicated rule, no 5xx."""
    server.post("/v1/policies", {"name": "conc"})
    errors: list[str] = []
    created: dict[int, set[str]] = {}
    deleted: dict[int, set[str]] = {}
    stop = time.monotonic() + 20

    def worker(n: int) -> None:
        rnd = random.Random(n)
        mine: list[str] = []
        created[n] = set()
        deleted[n] = set()
        i = 0
        while time.monotonic() < stop:
            i += 1
            op = rnd.random()
            if op < 0.5 or not mine:
                r = server.post("/v1/policies/conc/rules", {"rule": f"t{n}(x) :- s(x, {i})"})
                if r.status != 201:
                    errors.append(f"create {r}")
                    continue
                mine.append(r.json["id"])
                created[n].add(r.json["id"])
            elif op < 0.75:
                rid = mine.pop(rnd.randrange(len(mine)))
                r = server.delete(f"/v1/policies/conc/rules/{rid}")
                if r.status != 200:
                    errors.append(f"delete {r}")
                deleted[n].add(rid)
            else:
                r = server.get("/v1/policies/conc/tables")
                if r.status >= 500:
                    errors.append(f"read {r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    expected = set().union(*created.values()) - set().union(*deleted.values())
    listed = [r["id"] for r in server.get("/v1/policies/conc/rules").json["results"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == expected
    # and the same after a restart (the DB agrees with the engine)
    server.stop()
    server.start()
    listed = [r["id"] for r in server.get("/v1/policies/conc/rules").json["results"]]
    assert set(listed) == expected
