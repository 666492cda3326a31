"""A datasource node killed with SIGKILL under load: the API fails fast for what needs it and
keeps serving everything else (RabbitMQ + MariaDB, real processes).

20 threads push rows to a push datasource through one API node while 2 threads read a
policy; the datasource node is killed mid-way. Policy reads stay fast: they are not starved
of API threads (p99 about 50-100 ms measured, asserted under 500 ms against machine noise).
Requests that need the dead node answer 503 with Retry-After within 2 s, the detailed
healthcheck reports the degraded dependency, /metrics counts the refused calls, and all of
it recovers when a new datasource node starts.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.functional.ha import Cluster
from tests.functional.harness import http, wait_for

pytestmark = pytest.mark.functional

PUSHERS = 20
READERS = 2


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(str(tmp_path), pes=1, dsd=True, haproxy=False,
                extra={"healthcheck": {"detailed": "true"}}).start()
    yield c
    c.stop()


class Load:
    """Threads issuing requests in a loop, recording (start, end, status, headers)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.records: dict[str, list[tuple[float, float, int, Any]]] = {"push": [], "read": []}
        self.threads: list[threading.Thread] = []

    def run(self, kind: str, count: int, request: Any) -> None:
        def loop() -> None:
            while not self.stop.is_set():
                start = time.monotonic()
                try:
                    resp = request()
                    status, headers = resp.status, resp.headers
                except OSError:
                    status, headers = -1, {}
                self.records[kind].append((start, time.monotonic(), status, headers))
        for _ in range(count):
            t = threading.Thread(target=loop, daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_dead_datasource_node_fails_fast_and_starves_nothing(cluster):
    pe = cluster.pes[0]
    r = pe.post("/v1/data-sources", {"name": "inventory", "driver": "push",
                                     "config": {"description": "pushed hosts",
                                                "persist_data": "true"}})
    assert r.status == 201, (r, cluster.logs())
    assert pe.post("/v1/policies/classification/rules",
                   {"rule": 'down(x) :- inventory:data(x, "down")'}).status == 201
    rows_url = pe.url + "/v1/data-sources/inventory/tables/data/rows"
    assert http("PUT", rows_url, [["a", "down"]]).status == 200

    load = Load()
    counter = iter(range(10**9))
    load.run("push", PUSHERS, lambda: http("PUT", rows_url, [[f"h{next(counter)}", "down"]],
                                           timeout=60))
    load.run("read", READERS, lambda: http("GET", pe.url + "/v1/policies", timeout=60))
    try:
        time.sleep(3)
        killed = time.monotonic()
        cluster.dsds[0].kill()
        time.sleep(2.5)
        ds_list = http("GET", pe.url + "/v1/data-sources", timeout=60)
        health = http("GET", pe.url + "/healthcheck", headers={"Accept": "application/json"})
        time.sleep(4)
    finally:
        load.finish()
    ended = time.monotonic()

    pushes, reads = load.records["push"], load.records["read"]
    before = [p for p in pushes if p[1] < killed]
    assert sum(1 for p in before if p[2] == 200) > 20, before[-5:]
    # every push that was waiting at the kill, or came after it, answered within 2 s of it
    after = [p for p in pushes if p[1] >= killed]
    slowest = max(p[1] - max(p[0], killed) for p in after)
    assert slowest < 2.0, slowest
    late = [p for p in after if p[0] > killed + 2.0]
    assert late and all(p[2] == 503 for p in late), {p[2] for p in late}
    assert all("Retry-After" in p[3] for p in late)
    assert all(p[2] in (200, 503) for p in pushes), {p[2] for p in pushes}

    # policy reads were never starved: p99 over the whole run, kill included
    latencies = [r[1] - r[0] for r in reads]
    assert all(r[2] == 200 for r in reads), {r[2] for r in reads}
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"\nreads: {len(reads)}, p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max "
          f"{max(latencies) * 1000:.1f} ms; pushes: {len(pushes)} ({len(before)} before the "
          f"kill), slowest after the kill {slowest * 1000:.0f} ms, "
          f"{len(late)} late ones all 503; run {ended - killed:.1f} s after the kill; "
          f"{sum(1 for p in before if p[2] == 503)} pushes before the kill refused as busy")
    # starved reads wait for seconds (120 s before the fix); 100 ms is the goal, measured
    # p99s are 50-100 ms on a loaded 2-core machine: keep a margin against noise
    assert p99 < 0.5, (p50, p99)

    # the datasource manager is unavailable, not "not found"
    assert ds_list.status == 503, ds_list
    assert "_ds_manager" in ds_list.json["error"]["message"], ds_list
    assert "Retry-After" in ds_list.headers
    assert health.status == 200, health           # degraded, still serving policy reads
    reasons = {r["class"]: r for r in health.json["reasons"]}
    assert reasons["Dependencies"]["reason"] == "DEGRADED", reasons
    assert "_ds_manager" in reasons["Dependencies"]["details"]
    # and /metrics counts the refused calls per service
    metrics = http("GET", pe.url + "/metrics").raw.decode()
    refused = [line for line in metrics.splitlines()
               if line.startswith('congress_bus_rpc_refused_total{service="inventory"}')]
    assert refused and float(refused[0].split()[-1]) > 0, refused

    # a new datasource node: everything recovers
    cluster.new_dsd("dsd-2").start()
    wait_for(lambda: http("PUT", rows_url, [["z", "down"]]).status == 200, timeout=30,
             message="pushes accepted again")
    assert http("GET", pe.url + "/v1/data-sources").status == 200
    wait_for(lambda: {r["class"]: r["reason"] for r in http(
        "GET", pe.url + "/healthcheck", headers={"Accept": "application/json"}
    ).json["reasons"]}["Dependencies"] == "OK", timeout=10, message="healthcheck OK again")
    rows = pe.get("/v1/policies/classification/tables/down/rows")
    assert rows.status == 200 and {"data": ["z"]} in rows.json["results"]
