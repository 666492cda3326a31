"""Multi-process Congress on RabbitMQ + MariaDB behind HAProxy: policy replication and
failover of policy engines (no datasources needed here)."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from tests.functional.ha import Cluster, StickyClient
from tests.functional.ha import table_rows as rows
from tests.functional.harness import RABBIT_URL, CongressProcess, http, wait_for

pytestmark = pytest.mark.functional


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(str(tmp_path), pes=3, dsd=False).start()
    yield c
    c.stop()


def test_policy_changes_reach_every_engine(cluster):
    pe1, pe2, pe3 = cluster.pes
    t0 = time.monotonic()
    assert pe1.post("/v1/policies", {"name": "shared"}).status == 201
    for rule in ("p(x) :- q(x), not r(x)", "q(1)", "q(2)", "r(2)"):
        assert pe1.post("/v1/policies/shared/rules", {"rule": rule}).status == 201
    expected = [(1,)]
    for pe in (pe2, pe3):
        wait_for(lambda pe=pe: rows(pe, "shared", "p") == expected, timeout=2,
                 message=f"policy on {pe.node_id}")
    converged = time.monotonic() - t0
    assert converged < 4
    # every answer names its node and the revision it has applied, equal once caught up
    revs = {pe.get("/v1/policies/shared/tables/p/rows").headers["X-Congress-Policy-Revision"]
            for pe in (pe1, pe2, pe3)}
    assert len(revs) == 1
    nodes = {pe.get("/v1/policies").headers["X-Congress-Node"] for pe in (pe1, pe2, pe3)}
    assert nodes == {"pe-1", "pe-2", "pe-3"}
    # a change through another engine comes back to the first
    listed = pe2.get("/v1/policies/shared/rules").json["results"]
    r2 = next(x for x in listed if x["rule"] == "r(2)")
    assert pe2.delete(f"/v1/policies/shared/rules/{r2['id']}").status == 200
    wait_for(lambda: rows(pe1, "shared", "p") == [(1,), (2,)], timeout=2)
    assert pe3.delete("/v1/policies/shared").status == 200
    wait_for(lambda: pe1.get("/v1/policies/shared").status == 404, timeout=2)


def test_concurrent_changes_on_different_engines_converge(cluster):
    """Engines writing at once never diverge: same rules, same revision everywhere."""
    assert cluster.pes[0].post("/v1/policies", {"name": "busy"}).status == 201
    wait_for(lambda: all(pe.get("/v1/policies/busy").status == 200 for pe in cluster.pes))
    failures = []

    def writer(pe, n):
        for i in range(15):
            r = pe.post("/v1/policies/busy/rules", {"rule": f"t(\"{pe.node_id}\", {i})"})
            if r.status != 201:
                failures.append(r)

    threads = [threading.Thread(target=writer, args=(pe, n)) for n, pe in
               enumerate(cluster.pes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    wait_for(lambda: all(len(rows(pe, "busy", "t") or []) == 45 for pe in cluster.pes),
             timeout=5, message="45 rows everywhere")
    revs = {pe.get("/v1/policies").headers["X-Congress-Policy-Revision"]
            for pe in cluster.pes}
    assert len(revs) == 1


def test_late_engine_catches_up(tmp_path):
    c = Cluster(str(tmp_path), pes=2, dsd=False, haproxy=False)
    c.pes[0].start()
    try:
        pe1 = c.pes[0]
        pe1.post("/v1/policies", {"name": "early"})
        pe1.post("/v1/policies/early/rules", {"rule": "a(1)"})
        c.pes[1].start()
        assert rows(c.pes[1], "early", "a") == [(1,)]
        # a node id already alive on the bus is refused with a clear error
        dup = CongressProcess(str(tmp_path / "dup"), node_id="pe-1",
                              roles=("api", "policy-engine"), db_url=c.db.url,
                              transport_url=RABBIT_URL, bus_id=c.bus_id)
        dup.start(wait=False)
        assert dup.proc.wait(60) != 0
        assert "pe-1" in dup.log_tail() and "already" in dup.log_tail()
    finally:
        c.stop()


def test_haproxy_sticky_sessions_and_engine_failure(cluster):
    client = StickyClient(cluster.url)
    first = client.request("GET", "/v1/policies")
    assert first.status == 200
    node = first.headers["X-Congress-Node"]
    for _ in range(10):
        assert client.request("GET", "/v1/policies").headers["X-Congress-Node"] == node
    # writes through the load balancer are visible on every engine
    assert client.request("POST", "/v1/policies", {"name": "lb"}).status == 201
    wait_for(lambda: all(pe.get("/v1/policies/lb").status == 200 for pe in cluster.pes),
             timeout=2)
    # kill -9 the engine this client sticks to: requests keep succeeding
    victim = next(pe for pe in cluster.pes if pe.node_id == node)
    failures = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            r = http("GET", cluster.url + "/v1/policies/lb/tables")
            if r.status != 200:
                failures.append((time.monotonic(), r.status))
            time.sleep(0.01)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    killed_at = time.monotonic()
    victim.kill()
    time.sleep(3)
    after = client.request("GET", "/v1/policies")
    stop.set()
    for t in threads:
        t.join()
    assert after.status == 200 and after.headers["X-Congress-Node"] != node
    assert not failures, f"failed requests after kill at {killed_at}: {failures[:5]}"


def test_rabbitmq_restart_nodes_reconnect(cluster):
    pe1, pe2, _ = cluster.pes
    assert pe1.post("/v1/policies", {"name": "before"}).status == 201
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
    try:
        time.sleep(2)
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)
    # a change while the broker came back: engines converge without restarting
    wait_for(lambda: pe1.post("/v1/policies/before/rules", {"rule": "x(1)"}).status == 201,
             timeout=30, interval=1)
    wait_for(lambda: rows(pe2, "before", "x") == [(1,)], timeout=20, interval=0.2,
             message="change reaches pe-2 after the broker restart")
    assert pe2.post("/v1/policies/before/rules", {"rule": "x(2)"}).status == 201
    wait_for(lambda: rows(pe1, "before", "x") == [(1,), (2,)], timeout=10)


def test_two_bus_ids_stay_isolated(tmp_path):
    a = Cluster(str(tmp_path / "a"), pes=1, dsd=False, haproxy=False)
    b = Cluster(str(tmp_path / "b"), pes=1, dsd=False, haproxy=False)
    try:
        a.pes[0].node_id = b.pes[0].node_id = "pe-1"   # same node ids: no conflict
        a.start()
        b.start()
        assert a.pes[0].post("/v1/policies", {"name": "only_a"}).status == 201
        time.sleep(1.5)
        assert b.pes[0].get("/v1/policies/only_a").status == 404
    finally:
        a.stop()
        b.stop()
