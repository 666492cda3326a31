"""Edge deletions through a general recursive component (Backward/Forward deletion).

Two mutually recursive relations, ``a(x, y) :- e(x, y)``, ``b(x, y) :- a(x, y)`` and
``a(x, z) :- b(x, y), e(y, z)``, over a random sparse DAG: not a plain transitive closure, so a
deletion takes the general path (candidates, backward search for another derivation, forward
proof), unlike the ``closure`` workload of bench_engine.py. Prints p50 / p99 of one-edge
deletions.

    .venv/bin/python benchmarks/bench_recursive_delete.py --nodes 1500 --edges 2500 --ops 300
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from congress.policy.runtime import Runtime


def run(nodes: int, edges: int, ops: int, seed: int) -> dict[str, float]:
    rnd = random.Random(seed)
    graph: set[tuple[int, int]] = set()
    while len(graph) < edges:
        a, b = sorted(rnd.sample(range(nodes), 2))
        if b - a < 40:                      # short forward edges: a sparse DAG
            graph.add((a, b))
    rt = Runtime()
    rt.create_policy("t", "materialized")
    rt.insert("t", "a(x, y) :- e(x, y)\nb(x, y) :- a(x, y)\na(x, z) :- b(x, y), e(y, z)")
    t0 = time.perf_counter()
    rt.insert("t", "\n".join(f"e({x}, {y})" for x, y in graph))
    load = time.perf_counter() - t0
    rows = len(list(rt.program.rows(("t", "a"))))
    times = []
    for x, y in rnd.sample(sorted(graph), ops):
        t0 = time.perf_counter()
        rt.delete("t", f"e({x}, {y})")
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"a rows": rows, "load s": load, "delete p50 ms": statistics.median(times) * 1000,
            "delete p99 ms": times[int(0.99 * (len(times) - 1))] * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1500, help="graph nodes")
    ap.add_argument("--edges", type=int, default=2500, help="graph edges")
    ap.add_argument("--ops", type=int, default=300, help="one-edge deletions to time")
    ap.add_argument("--seed", type=int, default=1, help="random seed (same graph, same victims)")
    args = ap.parse_args()
    for name, value in run(args.nodes, args.edges, args.ops, args.seed).items():
        print(f"{name:>14}: {value:,.2f}" if isinstance(value, float) else f"{name:>14}: {value:,}")


if __name__ == "__main__":
    main()
