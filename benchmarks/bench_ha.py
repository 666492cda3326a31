"""Multi-process benchmarks (issue: HA): read scaling through HAProxy with 1-3 policy engines,
push-to-visible latency on every engine, leader replacement, datasource node takeover.

Run: ``.venv/bin/python benchmarks/bench_ha.py [--seconds 10] [--clients 16] [--pushes 50]``.
Needs RabbitMQ and MariaDB on 127.0.0.1 and haproxy (Debian package); ``wrk`` is used for the
read load when installed (Debian package ``wrk``), else Python threads.
"""

from __future__ import annotations

import argparse
import http.client as httpclient
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from congress.db import actions as db_actions  # noqa: E402
from congress.db.api import Database  # noqa: E402
from tests.functional.ha import Cluster  # noqa: E402
from tests.functional.harness import http, wait_for  # noqa: E402

FAKE = {"auth_url": "http://127.0.0.1:9/", "username": "u", "password": "p",
        "project_name": "demo", "poll_time": "0"}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def load_threads(port: int, path: str, seconds: float, clients: int) -> tuple[float, float]:
    lat: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(resp.status)
            mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(lat) / seconds, pct(lat, 99) * 1000


def load_wrk(port: int, path: str, seconds: float, clients: int) -> tuple[float, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{int(seconds)}s", "--latency",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    return rps, p99


def read_scaling(workdir: str, seconds: float, clients: int) -> list[str]:
    load = load_wrk if shutil.which("wrk") else load_threads
    lines = [f"read load generator: {'wrk' if load is load_wrk else 'Python threads'}, "
             f"{clients} connections, {seconds:g} s per run"]
    for n in (1, 2, 3):
        c = Cluster(os.path.join(workdir, f"scale{n}"), pes=n, dsd=False).start()
        try:
            first = c.pes[0]
            first.post("/v1/policies", {"name": "bench"})
            for i in range(10):
                first.post("/v1/policies/bench/rules", {"rule": f"small({i})"})
            for pe in c.pes:
                wait_for(lambda pe=pe: len(pe.get("/v1/policies/bench/tables/small/rows")
                                           .json["results"]) == 10)
            rps, p99 = load(c.haproxy.port, "/v1/policies/bench/tables/small/rows", seconds,
                            clients)
            lines.append(f"  {n} PE: {rps:8.0f} req/s   p99 {p99:6.1f} ms")
        finally:
            c.stop()
    return lines


def ha_timings(workdir: str, pushes: int) -> list[str]:
    c = Cluster(os.path.join(workdir, "ha"), pes=3, dsd=True).start()
    lines = []
    try:
        first = c.pes[0]
        first.post("/v1/data-sources", {"name": "inv", "driver": "push",
                                        "config": {"description": "d", "persist_data": "true"}})
        first.post("/v1/policies/classification/rules",
                   {"rule": 'down(x) :- inv:data(x, "down")'})
        first.post("/v1/data-sources", {"name": "fixer", "driver": "fake_datasource",
                                        "config": FAKE})
        first.post("/v1/policies/classification/rules",
                   {"rule": "execute[fixer:fake_act(x)] :- down(x)"})
        time.sleep(1)
        conns = {pe.node_id: httpclient.HTTPConnection("127.0.0.1", pe.port)
                 for pe in c.pes}

        def visible(pe, name: str) -> bool:
            conn = conns[pe.node_id]
            conn.request("GET", "/v1/policies/classification/tables/down/rows")
            resp = conn.getresponse()
            body = resp.read()
            return f'"{name}"'.encode() in body

        lat = []
        rows = []
        for i in range(pushes):
            name = f"s{i}"
            rows.append([name, "down"])
            t = time.perf_counter()
            r = http("PUT", c.url + "/v1/data-sources/inv/tables/data/rows", rows)
            assert r.status == 200, r
            pending = list(c.pes)
            while pending:
                pending = [pe for pe in pending if not visible(pe, name)]
            lat.append(time.perf_counter() - t)
        lines.append(f"push -> derived row visible on all 3 PEs ({pushes} pushes): "
                     f"p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms")

        # leader replacement: kill the leader, push a new row, time until its action runs
        time.sleep(2)
        log = c.dsds[0].log_tail(500000)
        leader = re.findall(r"policy engine on node (\S+) is now the action leader", log)[-1]
        victim = next(pe for pe in c.pes if pe.node_id == leader)
        victim.kill()
        killed = time.perf_counter()
        rows.append(["after-kill", "down"])
        survivors = [pe for pe in c.pes if pe is not victim]
        http("PUT", survivors[0].url + "/v1/data-sources/inv/tables/data/rows", rows)
        db = Database(c.db.url)
        try:
            wait_for(lambda: any((e.get("args") or {}).get("positional") == ["after-kill"]
                                 for e in db_actions.list_actions(
                                     db, datasource="fixer", status="succeeded", limit=None)),
                     timeout=30, interval=0.02)
        finally:
            db.dispose()
        took = time.perf_counter() - killed
        lines.append(f"leader PE killed -> action for a new row executed by another PE: "
                     f"{took:.2f} s (heartbeat_timeout 3 s; target < 6 s)")

        # warm-standby takeover: kill the DSD, start a fresh one, time until every live PE
        # got a fresh snapshot (its data revision changed) and the datasource answers again
        before = {pe.node_id: pe.get("/v1/policies").headers["X-Congress-Data-Revision"]
                  for pe in survivors}
        c.dsds[0].kill()
        fresh = c.new_dsd("dsd-2")
        t = time.perf_counter()
        fresh.start(wait=False)
        wait_for(lambda: http("GET", survivors[0].url + "/v1/data-sources/inv/tables/data/rows")
                 .status == 200, timeout=60, interval=0.05)
        wait_for(lambda: all(pe.get("/v1/policies").headers["X-Congress-Data-Revision"]
                             != before[pe.node_id] for pe in survivors), timeout=60,
                 interval=0.05)
        lines.append(f"fresh DSD started -> all tables restored on all PEs: "
                     f"{time.perf_counter() - t:.2f} s (includes process start-up)")
    finally:
        c.stop()
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--pushes", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for line in read_scaling(workdir, args.seconds, args.clients):
            print(line, flush=True)
        for line in ha_timings(workdir, args.pushes):
            print(line, flush=True)


if __name__ == "__main__":
    main()
