"""congress.services.memory: what a deleted datasource or policy held in reference cycles is
freed by the delete, not at some later full collection."""

from __future__ import annotations

import gc
import weakref

from congress.services import memory


class Holder:
    def __init__(self) -> None:
        self.rows = frozenset((i, str(i)) for i in range(1000))
        self.me = self          # a cycle: refcounting alone never frees it


def test_collect_garbage_frees_objects_in_cycles(caplog):
    gc.collect()
    was = gc.isenabled()
    gc.disable()                # no automatic collection may do the work in between
    try:
        holder = Holder()
        ref = weakref.ref(holder)
        del holder
        assert ref() is not None
        with caplog.at_level("INFO", logger="congress.services.memory"):
            freed = memory.collect_garbage("deleting datasource d")
        assert ref() is None
        assert freed >= 1
        assert "after deleting datasource d: garbage collection freed" in caplog.text
    finally:
        if was:
            gc.enable()


def test_collect_garbage_frees_cycles_a_big_batch_froze():
    gc.collect()
    holder = Holder()
    ref = weakref.ref(holder)
    gc.freeze()                 # as after a big push: the cycle is out of the collector's sight
    try:
        del holder
        gc.collect()
        assert ref() is not None, "a frozen cycle is not collected"
        memory.collect_garbage("deleting policy p")
        assert ref() is None
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


def test_collections_are_timed_into_the_pause_metric():
    memory.watch_collections()
    memory.watch_collections()      # once, however often it is called
    assert gc.callbacks.count(memory._on_collection) == 1

    def seen() -> float:
        return sum(s.value for m in memory.GC_PAUSE.collect() for s in m.samples
                   if s.name == "congress_gc_pause_seconds_count"
                   and s.labels["generation"] == "2")

    before = seen()
    gc.collect()
    assert seen() == before + 1
