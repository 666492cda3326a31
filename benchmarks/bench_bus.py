"""Latency of the bus: RPC round trips and table-update delivery.

Measures, and prints as a table (milliseconds):

* a local direct call (service on the calling node);
* an RPC round trip between two nodes on the in-process transport;
* an RPC round trip over RabbitMQ to a node in another process;
* publish -> delivery of a 1-row delta, publisher in another process, over RabbitMQ (the row
  carries its publication time; the subscriber compares with its clock: same host).

    .venv/bin/python benchmarks/bench_bus.py [-n 500] [--url rabbit://guest:guest@127.0.0.1:5672/]

Without ``--url`` a temporary RabbitMQ vhost is made with rabbitmqctl (and deleted afterwards);
``--no-rabbit`` measures the in-process numbers only.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from congress.bus import Node, Service, TableUpdate  # noqa: E402
from tests.functional.bus.busnode import Echo, make_conf  # noqa: E402

OPTIONS = {"heartbeat_interval": 0.5, "heartbeat_timeout": 5.0, "ping_timeout": 1.0}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
    return {"n": len(ordered), "p50": pick(0.50), "p99": pick(0.99),
            "mean": statistics.fmean(ordered) * 1000, "max": ordered[-1] * 1000}


def time_calls(fn: Any, n: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


class Stamps(Service):
    """Subscriber recording the delay between a row's timestamp and its delivery."""

    def __init__(self) -> None:
        super().__init__("stamps")
        self.delays: queue.SimpleQueue[float] = queue.SimpleQueue()

    def receive_data(self, publisher_id: str, table: str, update: TableUpdate) -> None:
        now = time.time()
        if not update.is_snapshot:
            for (stamp,) in update.added:
                self.delays.put(now - stamp)


def bench_inprocess(n: int) -> list[tuple[str, dict[str, float]]]:
    bus = f"bench-{uuid.uuid4().hex[:8]}"
    a, b = Node("a", bus_id=bus, **OPTIONS), Node("b", bus_id=bus, **OPTIONS)
    a.register_service(Echo())
    a.start()
    b.start()
    try:
        b.wait_for_service("echo")
        local = time_calls(lambda: a.call("echo", "echo", value=[1, "x"]), n * 10)
        remote = time_calls(lambda: b.call("echo", "echo", value=[1, "x"]), n)
    finally:
        a.stop()
        b.stop()
    return [("local direct call", percentiles(local)),
            ("RPC in-process transport", percentiles(remote))]


def make_vhost() -> tuple[str, str | None]:
    if shutil.which("rabbitmqctl") is None:
        return "rabbit://guest:guest@127.0.0.1:5672/", None
    vhost = f"congress-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)
    return f"rabbit://guest:guest@127.0.0.1:5672/{vhost}", vhost


def spawn(url: str, bus: str, node_id: str, services: list[str]) -> subprocess.Popen:
    spec = {"node_id": node_id, "bus_id": bus, "url": url, "services": services,
            "options": OPTIONS, "log_level": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "tests.functional.bus.busnode",
                             json.dumps(spec)], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(f"bus node process did not start: {line!r}")
    return proc


def bench_rabbit(url: str, n: int) -> list[tuple[str, dict[str, float]]]:
    bus = f"bench-{uuid.uuid4().hex[:8]}"
    proc = spawn(url, bus, "remote", ["echo", "pub"])
    me = Node("me", transport_url=url, bus_id=bus, conf=make_conf(False), **OPTIONS)
    stamps = Stamps()
    me.register_service(stamps)
    me.start()
    try:
        me.wait_for_service("pub")
        rpc = time_calls(lambda: me.call("echo", "echo", value=[1, "x"]), n)
        stamps.subscribe("pub", "stamp")
        me.call("pub", "publish_stamp", table="stamp")        # first publication: snapshot
        time.sleep(0.5)
        delays: list[float] = []
        for i in range(n + 20):
            me.call("pub", "publish_stamp", table="stamp")
            delay = stamps.delays.get(timeout=10)
            if i >= 20:
                delays.append(delay)
            time.sleep(0.002)
    finally:
        me.stop()
        proc.stdin.close()
        proc.wait(15)
    return [("RPC RabbitMQ, other process", percentiles(rpc)),
            ("publish->deliver 1-row delta, RabbitMQ", percentiles(delays))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="samples per measurement")
    parser.add_argument("--url", help="RabbitMQ transport URL (default: a temporary vhost)")
    parser.add_argument("--no-rabbit", action="store_true")
    args = parser.parse_args()

    rows = bench_inprocess(args.n)
    if not args.no_rabbit:
        url, vhost = (args.url, None) if args.url else make_vhost()
        try:
            rows += bench_rabbit(url, args.n)
        finally:
            if vhost:
                subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)
    width = max(len(name) for name, _ in rows)
    print(f"{'measurement':<{width}}  {'n':>6}  {'p50 ms':>8}  {'p99 ms':>8}  {'mean ms':>8}"
          f"  {'max ms':>8}")
    for name, p in rows:
        print(f"{name:<{width}}  {p['n']:>6}  {p['p50']:>8.3f}  {p['p99']:>8.3f}  "
              f"{p['mean']:>8.3f}  {p['max']:>8.3f}")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
