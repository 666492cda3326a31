"""Multi-process Congress: datasource node, data to every engine, warm-standby takeover and
reactive enforcement with a local leader (RabbitMQ + MariaDB + HAProxy, all real)."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from congress.db import actions as db_actions
from congress.db.api import Database
from tests.functional.ha import Cluster
from tests.functional.ha import table_rows as rows
from tests.functional.harness import wait_for

pytestmark = pytest.mark.functional

FAKE_CONFIG = {"auth_url": "http://127.0.0.1:9/", "username": "u", "password": "p",
               "project_name": "demo", "poll_time": "0"}


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(str(tmp_path), pes=3, dsd=True).start()
    yield c
    c.stop()


def executions(db_url: str, datasource: str) -> Counter:
    db = Database(db_url)
    try:
        entries = db_actions.list_actions(db, datasource=datasource, status="succeeded",
                                          limit=None)
    finally:
        db.dispose()
    return Counter(tuple((e.get("args") or {}).get("positional") or ()) for e in entries)


def setup_push_policy(cluster, persist: bool = True):
    r = cluster.lb("POST", "/v1/data-sources", {
        "name": "inventory", "driver": "push",
        "config": {"description": "pushed servers", "persist_data": str(persist).lower()}})
    assert r.status == 201, (r, cluster.logs())
    r = cluster.lb("POST", "/v1/policies/classification/rules",
                   {"rule": 'down(x) :- inventory:data(x, "down")'})
    assert r.status == 201, r


def push(cluster, data):
    r = cluster.lb("PUT", "/v1/data-sources/inventory/tables/data/rows", data)
    assert r.status == 200, r


def test_pushed_rows_reach_every_engine(cluster):
    setup_push_policy(cluster)
    t0 = time.monotonic()
    push(cluster, [["a", "down"], ["b", "up"], ["c", "down"]])
    for pe in cluster.pes:
        wait_for(lambda pe=pe: rows(pe, "classification", "down") == [("a",), ("c",)],
                 timeout=5, message=f"rows on {pe.node_id}")
    assert time.monotonic() - t0 < 5
    push(cluster, [["b", "down"]])
    for pe in cluster.pes:
        wait_for(lambda pe=pe: rows(pe, "classification", "down") == [("b",)], timeout=5)
    # every engine answers with the same data revision once caught up
    revs = {pe.get("/v1/policies/classification/tables/down/rows")
            .headers["X-Congress-Data-Revision"] for pe in cluster.pes}
    assert len(revs) == 1


def test_datasource_node_takeover(cluster):
    setup_push_policy(cluster)
    r = cluster.lb("POST", "/v1/data-sources", {"name": "fixer", "driver": "fake_datasource",
                                                "config": FAKE_CONFIG})
    assert r.status == 201, r
    assert cluster.lb("POST", "/v1/policies/classification/rules",
                      {"rule": "execute[fixer:fake_act(x)] :- down(x)"}).status == 201
    push(cluster, [["a", "down"], ["b", "down"]])
    for pe in cluster.pes:
        wait_for(lambda pe=pe: rows(pe, "classification", "down") == [("a",), ("b",)])
    wait_for(lambda: executions(cluster.db.url, "fixer") == Counter({("a",): 1, ("b",): 1}),
             timeout=10, message="actions for a and b")
    old = cluster.dsds[0]
    old.kill()
    # while no datasource node runs, engines keep answering with the data they have
    assert rows(cluster.pes[1], "classification", "down") == [("a",), ("b",)]
    fresh = cluster.new_dsd("dsd-2").start()
    assert fresh.proc.poll() is None
    # the new node restored the persisted rows; a push through it works and reaches everyone
    wait_for(lambda: cluster.lb("GET", "/v1/data-sources/inventory/tables/data/rows").status
             == 200, timeout=30, message="datasource served by the new node")
    stored = cluster.lb("GET", "/v1/data-sources/inventory/tables/data/rows").json["results"]
    assert sorted(tuple(r["data"]) for r in stored) == [("a", "down"), ("b", "down")]
    push(cluster, [["a", "down"], ["c", "down"]])
    for pe in cluster.pes:
        wait_for(lambda pe=pe: rows(pe, "classification", "down") == [("a",), ("c",)],
                 timeout=10, message=f"new data on {pe.node_id}")
    # actions resume on the new node: c runs once; a (still true) and b are not repeated
    wait_for(lambda: executions(cluster.db.url, "fixer")[("c",)] >= 1, timeout=15,
             message="action for c after the takeover")
    time.sleep(1.5)
    assert executions(cluster.db.url, "fixer") == Counter({("a",): 1, ("b",): 1, ("c",): 1})


def test_actions_once_and_leader_failover(cluster):
    setup_push_policy(cluster)
    r = cluster.lb("POST", "/v1/data-sources", {"name": "fixer", "driver": "fake_datasource",
                                                "config": FAKE_CONFIG})
    assert r.status == 201, r
    r = cluster.lb("POST", "/v1/policies/classification/rules",
                   {"rule": "execute[fixer:fake_act(x)] :- down(x)"})
    assert r.status == 201, r
    wait_for(lambda: all(rows(pe, "classification", "down") is not None
                         for pe in cluster.pes))
    push(cluster, [["a", "down"]])
    wait_for(lambda: executions(cluster.db.url, "fixer")[("a",)] >= 1, timeout=10,
             message="action for a")
    time.sleep(1.5)   # every engine sent its request by now; only the leader's counted
    assert executions(cluster.db.url, "fixer") == Counter({("a",): 1})

    dsd_log = cluster.dsds[0].log_tail(200000)
    leaders = re.findall(r"policy engine on node (\S+) is now the action leader", dsd_log)
    assert leaders, dsd_log[-3000:]
    leader = next(pe for pe in cluster.pes if pe.node_id == leaders[-1])
    leader.kill()
    killed = time.monotonic()
    push(cluster, [["a", "down"], ["b", "down"]])
    wait_for(lambda: executions(cluster.db.url, "fixer")[("b",)] >= 1, timeout=20,
             interval=0.1, message="action for b after the leader died")
    took = time.monotonic() - killed
    time.sleep(1.5)
    assert executions(cluster.db.url, "fixer") == Counter({("a",): 1, ("b",): 1})
    # heartbeat_timeout is 3 s in the test cluster: the new leader acted within 2 timeouts
    assert took < 2 * 3 + 2, took


def test_a_push_answers_once_the_answering_engine_has_it(tmp_path):
    """The PUT's X-Congress-Data-Revision counts the push, and a read on the same engine right
    after it (no waiting) sees the rows; the push crosses RabbitMQ to the datasource node and
    its publication comes back."""
    cluster = Cluster(str(tmp_path), pes=1, dsd=True).start()
    try:
        pe = cluster.pes[0]
        r = pe.post("/v1/data-sources", {"name": "inventory", "driver": "push", "config": {
            "description": "pushed servers", "persist_data": "true"}})
        assert r.status == 201, r
        assert pe.post("/v1/policies/classification/rules",
                       {"rule": 'down(x) :- inventory:data(x, "down")'}).status == 201
        revisions = []
        for n, data in enumerate(([["a", "down"]], [["a", "down"], ["b", "down"]],
                                  [["b", "down"]]), 1):
            r = pe.request("PUT", "/v1/data-sources/inventory/tables/data/rows", data)
            assert r.status == 200, r
            revisions.append(int(r.headers["X-Congress-Data-Revision"]))
            read = pe.get("/v1/policies/classification/tables/down/rows")
            assert sorted(tuple(x["data"]) for x in read.json["results"]) == \
                sorted((row[0],) for row in data), (n, read)
            assert int(read.headers["X-Congress-Data-Revision"]) >= revisions[-1]
        assert revisions[0] >= 1 and revisions == sorted(set(revisions)), revisions
    finally:
        cluster.stop()
