"""Pausing Python's cyclic garbage collector over bulk work, and freezing what the work built.

Decoding a pushed body of 300,000 events, the engine absorbing them, building an index over a
big relation: each allocates hundreds of thousands of container objects. With the collector
running, the youngest generation is walked every 700 allocations and the older ones as the
survivors pile up, each walk holding the interpreter: the work gets slower, and every other
thread (the API's requests) waits out walks of 50-100 ms. Nothing such work allocates forms
reference cycles, so pausing the collector over it loses nothing.

The collector is one per process, so the pause is too: :func:`paused` counts the pauses in
progress in every thread, and the collector runs again when the last one ends (if it ran when
the first began). A push decoded in one thread and absorbed by the engine in another is one
pause from the decode's start to the engine batch's end.

A pause that ends with :data:`FREEZE_AFTER` or more objects allocated since the last
collection (``gc.get_count()[0]``) freezes them (``gc.freeze()``: out of the collector's
sight, still freed by reference counting). They are what the work built to keep (rows, index
buckets, join plans, the decoded body a push driver remembers); left to the collector, the
cascade of collections after a 300k-row batch walked them three times (youngest, middle,
oldest generation), 80-90 ms each, ~450 ms in all (benchmarks/RESULTS.md). A frozen object
that later becomes cyclic garbage (a removed rule's plans, a deleted datasource) waits for a
thaw: the engine's rule removal and the full collection after a delete
(:func:`congress.services.memory.collect_garbage`) call ``gc.unfreeze()`` first.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

#: objects allocated since the last collection that a pause must leave behind to freeze them
FREEZE_AFTER = 50_000

_lock = threading.Lock()
_pauses = 0             # pauses in progress, in every thread
_resume = False         # whether the collector ran when the first of them began


class Pause:
    """One pause (what :func:`paused` yields); set :attr:`freeze` to decide at its end."""

    __slots__ = ("freeze",)

    def __init__(self, freeze: bool | None) -> None:
        #: True: freeze when the pause ends; False: never; None: when FREEZE_AFTER or more
        #: objects were allocated since the last collection
        self.freeze = freeze


@contextlib.contextmanager
def paused(freeze: bool | None = None) -> Iterator[Pause]:
    """The cyclic collector paused for the duration (nestable, from any thread); what was
    built meanwhile frozen at the end as the yielded :class:`Pause`'s ``freeze`` says (by
    default: when :data:`FREEZE_AFTER` or more objects are new)."""
    global _pauses, _resume
    pause = Pause(freeze)
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield pause
    finally:
        with _lock:
            _pauses -= 1
            if pause.freeze or (pause.freeze is None
                                and gc.get_count()[0] >= FREEZE_AFTER):
                gc.freeze()
            if _pauses == 0 and _resume:
                gc.enable()


def pauses() -> int:
    """How many pauses are in progress (for tests and diagnostics)."""
    return _pauses


_start_up: contextlib.AbstractContextManager[Pause] | None = None


def begin_start_up() -> None:
    """Pause the collector over a server's start-up: its imports and the building of its state
    (the modules, classes and functions of every library, the policies and tables restored from
    the database) allocate a few hundred thousand objects that live as long as the process,
    and the collections they set off took a tenth of the all-in-one start
    (benchmarks/RESULTS.md, "Start-up"). :func:`end_start_up` ends the pause and freezes
    what was built, so that later full collections do not walk it again either."""
    global _start_up
    if _start_up is None:
        _start_up = paused(freeze=True)
        _start_up.__enter__()


def end_start_up() -> None:
    """End :func:`begin_start_up`'s pause (nothing if none is in progress)."""
    global _start_up
    if _start_up is not None:
        pause, _start_up = _start_up, None
        pause.__exit__(None, None, None)
