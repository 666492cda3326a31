"""Engine benchmarks (issue: policy engine): violations, closure, many rules, push.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--scale 1] [--workload all|violations|closure|
many_rules|push] [--ops 1000]``. ``push`` is the engine's part of bench_push.py: 300k doctor
events (times ``--scale``) absorbed in one change by the same policy, then one event changed,
then all deleted, in process (no server, no decoding). Prints one table per workload; figures
go to benchmarks/RESULTS.md. Each workload runs in a fresh process state (no shared caches);
peak memory is the process's maximum resident set size growth over the baseline measured before
loading.

The machine is shared and its speed varies; every run first times the calibration loop of
RESULTS.md (``sum(i*i for i in range(10**6))``, best of 5) and prints the main figures also as a
multiple of it, which is the figure that counts.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import datagen  # noqa: E402
from congress.policy.runtime import Runtime  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def ms(t: float) -> str:
    return f"{t * 1000:.3f} ms"


def calibrate() -> float:
    """Best of 5 timings of RESULTS.md's calibration loop, in seconds."""
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        sum(i * i for i in range(10**6))
        best = min(best, time.perf_counter() - t)
    return best


def multiple(t: float, cal: float) -> str:
    return f"{t:.2f} s = {t / cal:.1f}x calibration"


def violations(scale: float, ops: int, cal: float) -> dict:
    data = datagen.violations_data(scale)
    gc.collect()
    gc.freeze()   # the generated input is not the engine's garbage to scan
    base_rss = rss_mb()
    rt = Runtime()
    rt.create_policy("classification")
    for ds, tables in datagen.SCHEMAS.items():
        rt.create_datasource_policy(ds, tables)
    t0 = time.perf_counter()
    rt.insert("classification", datagen.VIOLATIONS_POLICY)
    for (ds, table), rows in data.items():
        rt.replace_table(ds, table, rows, normalize=False)
    load = time.perf_counter() - t0
    nviol = len(rt.select("classification", "violation"))
    # one-row changes that flip a violation: a port of an ACTIVE server on a foreign,
    # unshared network appears, then disappears
    servers = [s for s in data[("nova", "servers")] if s[3] == "ACTIVE"]
    foreign = {}
    for n in data[("neutron", "networks")]:
        if n[3] == "False":
            foreign.setdefault(n[2], n[0])
    rnd = random.Random(1)
    ins_t, del_t, changed = [], [], 0
    for i in range(ops):
        s = rnd.choice(servers)
        net = next(v for k, v in foreign.items() if k != s[4])
        row = (f"bench-port-{i}", s[0], net, "fa:16:3e:00:00:00", "10.255.0.1")
        t = time.perf_counter()
        rt.apply_delta("neutron", "ports", added=[row], normalize=False)
        ins_t.append(time.perf_counter() - t)
        changed += len(rt.select("classification", "violation")) - nviol
        t = time.perf_counter()
        rt.apply_delta("neutron", "ports", removed=[row], normalize=False)
        del_t.append(time.perf_counter() - t)
    reads = []
    for _ in range(20):
        t = time.perf_counter()
        rows = rt.select("classification", "violation")
        reads.append(time.perf_counter() - t)
    peak = rss_mb() - base_rss
    return {
        "rows loaded": sum(len(v) for v in data.values()),
        "violations": nviol,
        "load + evaluate": multiple(load, cal),
        "insert p50 / p99": f"{ms(pct(ins_t, 50))} / {ms(pct(ins_t, 99))}",
        "first insert after the load": ms(ins_t[0]),
        "delete p50 / p99": f"{ms(pct(del_t, 50))} / {ms(pct(del_t, 99))}",
        "inserts that added a violation": f"{changed}/{ops}",
        "full read of violation table": f"{ms(statistics.median(reads))} ({len(rows)} rows)",
        "peak memory (RSS growth)": f"{peak:.0f} MiB",
    }


def closure(scale: float, ops: int, cal: float) -> dict:
    nodes = int(2000 * scale)
    edges = datagen.random_graph(nodes, int(10_000 * scale))
    rt = Runtime()
    rt.create_policy("graph", "materialized")
    t0 = time.perf_counter()
    rt.insert("graph", datagen.CLOSURE_POLICY)
    rt.program.update_facts(adds={("graph", "edge"): edges})
    scratch = time.perf_counter() - t0
    size = rt.program.size(("graph", "reach"))
    rnd = random.Random(2)
    ins_t, del_t = [], []
    present = set(edges)
    for _ in range(min(ops, 200)):
        while True:
            e = (rnd.randrange(nodes), rnd.randrange(nodes))
            if e[0] != e[1] and e not in present:
                break
        t = time.perf_counter()
        rt.program.update_facts(adds={("graph", "edge"): [e]})
        ins_t.append(time.perf_counter() - t)
        victim = rnd.choice(edges)
        t = time.perf_counter()
        rt.program.update_facts(dels={("graph", "edge"): [victim]})
        del_t.append(time.perf_counter() - t)
        rt.program.update_facts(adds={("graph", "edge"): [victim]},
                                dels={("graph", "edge"): [e]})
    return {
        "nodes / edges": f"{nodes} / {len(edges)}",
        "reach rows": size,
        "from scratch": multiple(scratch, cal),
        "edge insert p50 / p99": f"{ms(pct(ins_t, 50))} / {ms(pct(ins_t, 99))}",
        "edge delete p50 / p99": f"{ms(pct(del_t, 50))} / {ms(pct(del_t, 99))}",
    }


def many_rules(scale: float, ops: int, cal: float) -> dict:
    data = datagen.violations_data(scale)
    rules = datagen.many_rules(2000)
    gc.collect()
    gc.freeze()
    rt = Runtime()
    rt.create_policy("library")
    for ds, tables in datagen.SCHEMAS.items():
        rt.create_datasource_policy(ds, tables)
    t0 = time.perf_counter()
    for (ds, table), rows in data.items():
        rt.replace_table(ds, table, rows, normalize=False)
    t1 = time.perf_counter()
    rt.insert("library", "\n".join(rules))
    t2 = time.perf_counter()
    derived = sum(rt.program.size(k) for k in rt.program.relations if k[0] == "library")
    # one-row change with 2000 rules reading the tables
    rnd = random.Random(5)
    upd = []
    servers = data[("nova", "servers")]
    for i in range(min(ops, 300)):
        s = list(rnd.choice(servers))
        s[0] = f"bench-{i}"
        row = tuple(s)
        t = time.perf_counter()
        rt.apply_delta("nova", "servers", added=[row], normalize=False)
        upd.append(time.perf_counter() - t)
        rt.apply_delta("nova", "servers", removed=[row], normalize=False)
    return {
        "rules": len(rules),
        "data load": f"{t1 - t0:.2f} s",
        "rules load + evaluate": f"{t2 - t1:.2f} s",
        "total": multiple(t2 - t0, cal),
        "derived rows": derived,
        "one server insert p50 / p99": f"{ms(pct(upd, 50))} / {ms(pct(upd, 99))}",
    }


def push(scale: float, ops: int, cal: float) -> dict:
    from benchmarks.bench_push import RULES, make_events
    from congress.datasources.drivers.doctor import COLUMNS, event_rows
    rows = event_rows(make_events(int(300_000 * scale)))
    gc.collect()
    gc.freeze()
    rt = Runtime()
    rt.create_datasource_policy("doctor", {"events": list(COLUMNS)})
    rt.create_policy("perf")
    rt.insert("perf", RULES)
    t0 = time.perf_counter()
    rt.apply_delta("doctor", "events", added=rows, normalize=False)
    full = time.perf_counter() - t0
    alerts = len(rt.select("perf", "alert"))
    row = min(rows)
    t0 = time.perf_counter()
    rt.apply_delta("doctor", "events", added=[row[:3] + ("up",) + row[4:]], removed=[row],
                   normalize=False)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    rt.apply_delta("doctor", "events", removed=list(rt.program.rows(("doctor", "events"))),
                   normalize=False)
    gone = time.perf_counter() - t0
    return {
        "events": len(rows),
        "alert rows": alerts,
        "absorb all events (one change)": multiple(full, cal),
        "one event changed": ms(one),
        "delete all events (one change)": multiple(gone, cal),
        "rows left in alert": len(rt.select("perf", "alert")),
    }


WORKLOADS = {"violations": violations, "closure": closure, "many_rules": many_rules,
             "push": push}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="data size multiplier (2 = double)")
    ap.add_argument("--workload", default="all", choices=["all", *WORKLOADS])
    ap.add_argument("--ops", type=int, default=1000, help="one-row operations to time")
    args = ap.parse_args()
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    cal = calibrate()
    print(f"calibration: sum(i*i for i in range(10**6)) = {cal * 1000:.1f} ms (best of 5)",
          flush=True)
    for name in names:
        print(f"== {name} (scale {args.scale:g})", flush=True)
        result = WORKLOADS[name](args.scale, args.ops, cal)
        width = max(len(k) for k in result)
        for k, v in result.items():
            print(f"  {k.ljust(width)}  {v}", flush=True)


if __name__ == "__main__":
    main()
