"""Datasource driver benchmarks: nova translation at scale, and deltas of a 1% change.

1. *translate*: the nova driver's translators turn a 50k-server listing (shaped as
   ``GET /servers/detail`` answers it: addresses, tags, image/flavor dicts) into the
   ``servers``, ``servers.addresses`` and ``tags`` tables. Target: < 2 s.
2. *poll with 1% changed*: a nova driver on an in-process bus node with a subscriber; after a
   first poll (snapshot), 1% of the servers change status and the driver polls again. Reported:
   the poll time and what the subscriber received (only the changed rows, and nothing for
   the unchanged tables).
3. *over HTTP* (``--http``): the same listing served by the fake OpenStack server
   (``tests/fakes/openstack.py``, 1000 servers per page) and polled through openstacksdk.

    .venv/bin/python benchmarks/bench_drivers.py [--servers N] [--repeat R] [--http]
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.bench_translators import make_servers  # noqa: E402
from congress import bus  # noqa: E402
from congress.datasources.drivers.nova import NovaDriver  # noqa: E402

OS_CFG = {"auth_url": "http://127.0.0.1:9/v3", "username": "u", "password": "p",
          "project_name": "p", "poll_time": 0}


def bench_translate(servers: list[dict[str, Any]], repeat: int) -> tuple[float, dict[str, int]]:
    translator = NovaDriver.translator_set().translator_for("servers")
    best = float("inf")
    tables: dict[str, set] = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        tables = translator.translate(servers)
        best = min(best, time.perf_counter() - t0)
    return best, {t: len(rows) for t, rows in tables.items()}


class Counter(bus.Service):
    def __init__(self) -> None:
        super().__init__("counter")
        self.updates: list[tuple[str, Any]] = []
        self.tables: dict[str, frozenset] = {}

    def receive_data(self, publisher_id: str, table: str, update: Any) -> None:
        self.updates.append((table, update))
        self.tables[table] = update.apply_to(self.tables.get(table, frozenset()))


class PolicySubscriber(bus.Service):
    """A policy engine in miniature: applies nova:servers to a Runtime with a violation rule."""

    def __init__(self) -> None:
        super().__init__("pe")
        from congress.policy.runtime import Runtime
        self.rt = Runtime()
        self.rt.create_datasource_policy("nova", NovaDriver.schema())
        self.rt.create_policy("classification")
        self.rt.insert("classification", 'error(x) :- nova:servers(id=x, status="ERROR")')
        self.applied_at = 0.0

    def receive_data(self, publisher_id: str, table: str, update: Any) -> None:
        if update.is_snapshot:
            self.rt.replace_table(publisher_id, table, update.rows or (), normalize=False)
        else:
            self.rt.apply_delta(publisher_id, table, update.added, update.removed,
                                normalize=False)
        self.applied_at = time.perf_counter()


class InMemoryNova(NovaDriver):
    """Nova whose fetchers return prepared listings (no HTTP): isolates translate + publish."""

    listing: dict[str, list[Any]] = {}

    def fetchers(self) -> dict[str, Any]:
        return {root: (lambda root=root: self.listing.get(root, []))
                for root in self.root_tables()}


def bench_delta(servers: list[dict[str, Any]], fraction: float) -> dict[str, Any]:
    node = bus.Node(f"bench-{os.getpid()}", bus_id=f"bench-{os.getpid()}")
    node.start()
    try:
        d = InMemoryNova("nova", "bench-nova", OS_CFG)
        d.listing = {"servers": servers, "flavors": [], "services": [], "hypervisors": [],
                     "availability_zones": []}
        counter = Counter()
        node.register_service(counter)
        for table in ("servers", "servers.addresses", "tags", "flavors"):
            counter.subscribe("nova", table)
        pe = PolicySubscriber()
        node.register_service(pe)
        pe.subscribe("nova", "servers")
        t0 = time.perf_counter()
        node.register_service(d)            # first poll happens at start
        while d.number_of_updates < 1:
            time.sleep(0.005)
        first = time.perf_counter() - t0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
                len(counter.tables.get(t, ())) != len(d.table_rows(t))
                for t in ("servers", "servers.addresses", "tags")):
            time.sleep(0.005)
        while time.monotonic() < deadline and \
                len(pe.rt.program.rows(("nova", "servers"))) != len(servers):
            time.sleep(0.005)
        errors_before = len(pe.rt.select("classification", "error"))
        counter.updates.clear()
        changed = copy.copy(servers)
        rnd = random.Random(7)
        picks = rnd.sample(range(len(changed)), int(len(changed) * fraction))
        for i in picks:
            s = dict(changed[i])
            s["status"] = "ERROR" if s["status"] != "ERROR" else "ACTIVE"
            changed[i] = s
        d.listing = {**d.listing, "servers": changed}
        t0 = time.perf_counter()
        assert d.poll()
        poll_end = time.perf_counter()
        poll = poll_end - t0
        deadline = time.monotonic() + 30
        while not counter.updates and time.monotonic() < deadline:
            time.sleep(0.005)
        while pe.applied_at < poll_end and time.monotonic() < deadline:
            time.sleep(0.001)
        derived_after = pe.applied_at - poll_end
        errors_after = len(pe.rt.select("classification", "error"))
        time.sleep(0.2)
        received = {t: (len(u.added), len(u.removed), u.is_snapshot)
                    for t, u in counter.updates}
        return {"first_poll_s": first, "changed_servers": len(picks), "poll_s": poll,
                "messages": len(counter.updates), "received": received,
                "derived_after_s": derived_after, "errors": (errors_before, errors_after)}
    finally:
        node.stop()


def bench_http(n: int) -> dict[str, Any]:
    from tests.fakes.openstack import FakeOpenStack

    fake = FakeOpenStack(page_size=1000).start()
    try:
        servers = make_servers(n)
        for i, s in enumerate(servers):
            s["id"] = f"{i:08d}-0000-4000-8000-{s['id'][:12]}"
        fake.data["servers"] = servers
        d = NovaDriver("nova", "bench-http", {**fake.driver_config(), "api_timeout": 120})
        d.poll()                       # warm-up: auth, discovery
        fake.data["servers"] = [dict(s) for s in servers]
        d._last_raw.clear()
        t0 = time.perf_counter()
        ok = d.poll()
        elapsed = time.perf_counter() - t0
        pages = sum(1 for r in fake.requests if r["path"].endswith("/servers/detail"))
        return {"ok": ok, "poll_s": elapsed, "pages_total": pages,
                "rows": len(d.table_rows("servers"))}
    finally:
        fake.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fraction", type=float, default=0.01)
    ap.add_argument("--http", action="store_true", help="also poll through HTTP + openstacksdk")
    args = ap.parse_args()

    servers = make_servers(args.servers)
    best, sizes = bench_translate(servers, args.repeat)
    print(f"translate {args.servers} servers: {best:.3f} s (best of {args.repeat}); "
          f"rows: {sizes}  [target < 2 s: {'OK' if best < 2 else 'MISSED'}]")

    delta = bench_delta(servers, args.fraction)
    print(f"first poll (translate + snapshot publish): {delta['first_poll_s']:.3f} s")
    print(f"poll with {delta['changed_servers']} servers changed "
          f"({args.fraction:.0%}): {delta['poll_s']:.3f} s; subscriber received "
          f"{delta['messages']} message(s): " + ", ".join(
              f"{t} +{a} -{r}{' (snapshot)' if s else ''}"
              for t, (a, r, s) in delta["received"].items()))
    print(f"violation table (error(x) :- nova:servers(..status=\"ERROR\")) updated "
          f"{delta['derived_after_s'] * 1000:.1f} ms after the poll completed "
          f"({delta['errors'][0]} -> {delta['errors'][1]} rows)  [target < 200 ms: "
          f"{'OK' if delta['derived_after_s'] < 0.2 else 'MISSED'}]")

    if args.http:
        http = bench_http(args.servers)
        print(f"poll over HTTP (fake nova, 1000/page, openstacksdk): {http['poll_s']:.3f} s "
              f"for {http['rows']} servers ({http['pages_total']} page requests in 2 polls)")


if __name__ == "__main__":
    main()
