"""The bulk work of a push under one malloc setting: what glibc's tunables cost.

Times, in this process, the allocation-heavy steps a big push makes the server do:
``json.loads`` of an N-event body, the events as the driver's row tuples
(``bench_push.flatten``), two sets of rows and their difference (a one-row change), and the
rows encoded for the database (``congress.db.tabledata._encode``).
malloc is set up as ``congress-server`` sets it (one arena, no fast bins); run it under
``PYTHONMALLOC=malloc`` with the ``GLIBC_TUNABLES`` to compare, alternating settings, e.g.::

    for t in glibc.malloc.tcache_count=7 glibc.malloc.tcache_max=128; do
        PYTHONMALLOC=malloc GLIBC_TUNABLES=$t .venv/bin/python benchmarks/bench_alloc.py
    done

Prints the setting and the min / median of ``--repeat`` repetitions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks.bench_push import flatten, make_events  # noqa: E402
from congress.cmd import allocator  # noqa: E402
from congress.db import tabledata  # noqa: E402


def bulk_work(body: str) -> None:
    events = json.loads(body)
    rows = flatten(events)
    known = set(rows)
    changed = set(rows[1:])
    assert len(known - changed) == 1
    tabledata._encode(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=300000, help="events in the body (300000)")
    ap.add_argument("--repeat", type=int, default=7, help="repetitions (7)")
    args = ap.parse_args()
    allocator.limit_arenas(1)
    allocator.disable_fastbins()
    body = json.dumps(make_events(args.events))
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        bulk_work(body)
        times.append(time.perf_counter() - t0)
    print(f"PYTHONMALLOC={allocator.python_allocator()} "
          f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '')}: {args.events} events, "
          f"min {min(times):.3f} s, median {statistics.median(times):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
