"""Freeing at once what a deleted datasource or policy held.

A datasource driver lives in reference cycles (its action executor and thread pool, its
published tables point back at it), as do a rule's compiled plans; refcounting alone does not
free them, and with big tables the cyclic collector's full collections come rarely (they wait
until the objects allocated since the last one number a quarter of the survivors). A deleted
100k-row datasource then kept its rows, and the memory under them, until well into the next
load (benchmarks/RESULTS.md, "Memory after create / PUT / delete cycles"). Deleting is rare and
nothing else runs on its path, so a full collection is run right after it; it first thaws
what big batches froze (``gc.freeze`` in the engine and the push drivers), so that cycles among
those are found too.

:func:`watch_collections` times every collection into ``congress_gc_pause_seconds`` (by
generation): a collection holds the interpreter, so the API's latency shows it.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from prometheus_client import Histogram

LOG = logging.getLogger(__name__)

GC_PAUSE = Histogram(
    "congress_gc_pause_seconds",
    "Collections of Python's cyclic garbage collector in this process, by generation: how "
    "long each held the interpreter (seconds).", ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
_started: list[float] = []


def _on_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[:] = [time.perf_counter()]
    elif _started:
        GC_PAUSE.labels(str(info.get("generation", "?"))).observe(
            time.perf_counter() - _started.pop())


def watch_collections() -> None:
    """Time every collection into ``congress_gc_pause_seconds`` (once per process)."""
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


def collect_garbage(what: str) -> int:
    """A full collection of the cyclic garbage collector; returns the objects it freed."""
    t0 = time.perf_counter()
    gc.unfreeze()
    freed = gc.collect()
    LOG.info("after %s: garbage collection freed %d objects in %.1f ms", what, freed,
             (time.perf_counter() - t0) * 1000)
    return freed
