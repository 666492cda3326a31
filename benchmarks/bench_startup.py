"""Start-up benchmark (issue 15): time from spawning ``congress-server`` until it serves.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--runs 5] [--only aio-fresh,aio-existing,pe]
[--policies 20] [--importtime]``

Scenarios (each run spawns a new process; the time is from ``Popen`` to the first ``200`` on
``GET /v1/policies``, and to the ``READY=1`` the server sends to ``$NOTIFY_SOCKET``, a datagram
socket this benchmark binds, as systemd would):

* ``aio-fresh``: all-in-one on its defaults, a new empty state directory each run (SQLite
  created and migrated from nothing);
* ``aio-existing``: all-in-one on a SQLite database prepared once with ``--policies`` policies of
  10 rules each (and a doctor datasource holding 1,000 events), at the schema head;
* ``pe``: ``--api --policy-engine --node-id pe-bench-N`` on the local RabbitMQ
  (``tests.functional.harness.RABBIT_URL``) and a MariaDB database of the functional tests'
  account (``CONGRESS_TEST_MYSQL_URL``, see README.md), prepared once like ``aio-existing``,
  alone on its bus id (nothing else to meet).

Prints min / median / max per scenario, and the calibration loop of RESULTS.md
(``sum(i*i for i in range(10**6))``, best of 5) before and after the runs: the machine's speed
varies from hour to hour. ``--importtime``: one more all-in-one start with
``PYTHONPROFILEIMPORTTIME=1``; prints the modules whose import took longest (cumulative, first
import of each top-level package) and the total import time until the server answered.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks.bench_engine import calibrate  # noqa: E402
from tests.functional.harness import (  # noqa: E402
    RABBIT_URL,
    CongressProcess,
    create_database,
    drop_database,
    ensure_rabbitmq,
)


class NotifySocket:
    """A ``$NOTIFY_SOCKET`` for the spawned server: records when ``READY=1`` arrives."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, "notify.sock")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.ready_at: float | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if self.ready_at is None and b"READY=1" in data.split(b"\n"):
                self.ready_at = time.perf_counter()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def timed_start(server: CongressProcess, timeout: float = 60) -> dict[str, float]:
    """Spawn ``server``; seconds until GET /v1/policies answers 200 and until READY=1."""
    notify = NotifySocket(server.workdir)
    os.environ["NOTIFY_SOCKET"] = notify.path
    try:
        t0 = time.perf_counter()
        server.start(wait=False)
        deadline = t0 + timeout
        api = None
        while time.perf_counter() < deadline:
            assert server.proc is not None
            if server.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{server.log_tail()}")
            if get_status(server.url + "/v1/policies") == 200:
                api = time.perf_counter() - t0
                break
            time.sleep(0.005)
        if api is None:
            raise RuntimeError(f"not ready in {timeout} s:\n{server.log_tail()}")
        while notify.ready_at is None and time.perf_counter() < deadline:
            time.sleep(0.005)
        ready = notify.ready_at - t0 if notify.ready_at is not None else float("nan")
        return {"api": api, "ready": ready}
    finally:
        del os.environ["NOTIFY_SOCKET"]
        notify.close()


def populate(server: CongressProcess, policies: int) -> None:
    """A doctor datasource holding 1,000 events, and ``policies`` policies of 10 rules each
    over it."""
    r = server.post("/v1/data-sources", {"name": "doctor", "driver": "doctor",
                                         "config": {"persist_data": "true"}})
    assert r.status == 201, r
    events = [{"time": "2026-12-05T10:00:00Z", "type": "compute.host.down",
               "details": {"hostname": f"h{i}", "status": "down", "monitor": f"m{i % 7}",
                           "monitor_event_id": str(i)}} for i in range(1000)]
    r = server.request("PUT", "/v1/data-sources/doctor/tables/events/rows", events)
    assert r.status == 200, r
    for p in range(policies):
        r = server.post("/v1/policies", {"name": f"p{p}"})
        assert r.status == 201, r
        for i in range(10):
            if i % 2 == 0:
                rule = (f'r{i}(x) :- doctor:events(hostname=x, status="down", monitor=m), '
                        f'not q{i + 1}(m)')
            else:
                rule = f'q{i}(m) :- doctor:events(monitor=m, hostname="h{i}")'
            r = server.post(f"/v1/policies/p{p}/rules", {"rule": rule})
            assert r.status == 201, r


def summary(name: str, runs: list[dict[str, float]]) -> str:
    def mmm(key: str) -> str:
        xs = [r[key] for r in runs]
        return f"{min(xs):.2f} / {statistics.median(xs):.2f} / {max(xs):.2f} s"
    return (f"{name:13s} API 200: {mmm('api')}   READY=1: {mmm('ready')}   "
            f"(min / median / max of {len(runs)})")


def aio_fresh(args: argparse.Namespace) -> list[dict[str, float]]:
    runs = []
    for i in range(args.runs):
        workdir = tempfile.mkdtemp(prefix="congress-bench-start-")
        server = CongressProcess(workdir, node_id=f"aio{i}")
        try:
            runs.append(timed_start(server))
        finally:
            server.stop()
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"  aio-fresh run {i + 1}: {runs[-1]['api']:.2f} s", flush=True)
    return runs


def aio_existing(args: argparse.Namespace) -> list[dict[str, float]]:
    workdir = tempfile.mkdtemp(prefix="congress-bench-start-")
    runs = []
    try:
        server = CongressProcess(workdir, node_id="aio")
        server.start(timeout=60)
        try:
            populate(server, args.policies)
        finally:
            server.stop()
        for i in range(args.runs):
            server = CongressProcess(workdir, node_id="aio")
            try:
                runs.append(timed_start(server))
                r = server.get("/v1/policies")
                assert len(r.json["results"]) >= args.policies, r
            finally:
                server.stop()
            print(f"  aio-existing run {i + 1}: {runs[-1]['api']:.2f} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return runs


def pe(args: argparse.Namespace) -> list[dict[str, float]]:
    ensure_rabbitmq()
    db_name, db_url = create_database("congress_bench")
    bus_id = f"bench-{uuid.uuid4().hex[:8]}"
    workdir = tempfile.mkdtemp(prefix="congress-bench-start-")
    runs = []

    def node(name: str, roles: tuple[str, ...]) -> CongressProcess:
        return CongressProcess(os.path.join(workdir, name), node_id=name, roles=roles,
                               db_url=db_url, transport_url=RABBIT_URL, bus_id=bus_id)
    try:
        server = node("prep", ())
        server.start(timeout=60)
        try:
            populate(server, args.policies)
        finally:
            server.stop()
        for i in range(args.runs):
            server = node(f"pe-bench-{i}", ("api", "policy-engine"))
            try:
                runs.append(timed_start(server))
            finally:
                server.stop()
            print(f"  pe run {i + 1}: {runs[-1]['api']:.2f} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        drop_database(db_name)
    return runs


LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def importtime(args: argparse.Namespace) -> None:
    workdir = tempfile.mkdtemp(prefix="congress-bench-start-")
    server = CongressProcess(workdir, node_id="aio")
    os.environ["PYTHONPROFILEIMPORTTIME"] = "1"
    try:
        print(f"all-in-one with -X importtime: API 200 after {timed_start(server)['api']:.2f} s")
    finally:
        del os.environ["PYTHONPROFILEIMPORTTIME"]
        server.stop()
    entries = []
    with contextlib.suppress(OSError), open(server.log_path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                entries.append((int(m.group(2)), len(m.group(3)) // 2, m.group(4),
                                int(m.group(1))))
    shutil.rmtree(workdir, ignore_errors=True)
    total = sum(e[3] for e in entries)
    print(f"  {len(entries)} modules imported, {total / 1e6:.2f} s in imports (self times)")
    selfs: dict[str, int] = {}
    for _cum, _depth, name, self_us in entries:
        top = name.split(".")[0]
        selfs[top] = selfs.get(top, 0) + self_us
    print("  top packages by self time of all their modules (ms):")
    for name, us in sorted(selfs.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"    {us / 1000:7.1f}  {name}")
    print("  slowest single imports, cumulative (ms):")
    for cum, depth, name, _self in sorted(entries, key=lambda e: -e[0])[:args.top]:
        print(f"    {cum / 1000:7.1f}  {'  ' * min(depth, 8)}{name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="aio-fresh,aio-existing,pe")
    ap.add_argument("--policies", type=int, default=20)
    ap.add_argument("--importtime", action="store_true")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    args = ap.parse_args()
    scenarios = {"aio-fresh": aio_fresh, "aio-existing": aio_existing, "pe": pe}
    # the machine's speed this hour (it varies; RESULTS.md's reference machine: 44 ms)
    print(f"calibration loop before: {calibrate() * 1000:.0f} ms", flush=True)
    results = {}
    for name in args.only.split(","):
        if name:
            results[name] = scenarios[name](args)
    print(f"calibration loop after: {calibrate() * 1000:.0f} ms")
    for name, runs in results.items():
        print(summary(name, runs))
    if args.json:
        print(json.dumps(results))
    if args.importtime:
        importtime(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
