"""The process-wide pause of the cyclic garbage collector (congress.gcpause): counted across
threads, the collector back as it was when the last pause ends, big work frozen."""

from __future__ import annotations

import gc
import threading

import pytest

from congress import gcpause


@pytest.fixture(autouse=True)
def collector():
    was = gc.isenabled()
    gc.enable()
    gc.collect()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if was:
        gc.enable()
    else:
        gc.disable()
    assert gcpause.pauses() == 0


def test_pauses_nest_across_threads_and_the_last_one_resumes() -> None:
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with gcpause.paused():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=other)
    with gcpause.paused():
        assert not gc.isenabled()
        t.start()
        assert entered.wait(10)
        assert gcpause.pauses() == 2
    # this thread's pause ended, the other's goes on: still paused
    assert gcpause.pauses() == 1 and not gc.isenabled()
    release.set()
    t.join(10)
    assert gcpause.pauses() == 0 and gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with gcpause.paused(), gcpause.paused():
        pass
    assert not gc.isenabled()


def test_an_error_ends_the_pause() -> None:
    with pytest.raises(KeyError), gcpause.paused():
        {}["missing"]
    assert gc.isenabled() and gcpause.pauses() == 0


def test_big_work_is_frozen_small_work_is_not() -> None:
    with gcpause.paused():
        small = [[i] for i in range(100)]
    assert gc.get_freeze_count() == 0
    with gcpause.paused(freeze=False):
        unfrozen = [[i] for i in range(2 * gcpause.FREEZE_AFTER)]
    assert gc.get_freeze_count() == 0
    with gcpause.paused():
        big = [[i] for i in range(2 * gcpause.FREEZE_AFTER)]
    assert gc.get_freeze_count() >= len(big) + len(unfrozen)
    assert gc.isenabled()
    del small, unfrozen, big


def test_a_pause_may_decide_to_freeze_at_its_end() -> None:
    with gcpause.paused() as pause:
        few = [[i] for i in range(10)]
        pause.freeze = True
    assert gc.get_freeze_count() >= len(few)
    del few


def test_start_up_is_one_pause_that_freezes_what_was_built() -> None:
    gcpause.begin_start_up()
    try:
        assert not gc.isenabled() and gcpause.pauses() == 1
        gcpause.begin_start_up()                    # once only
        assert gcpause.pauses() == 1
        built = [[i] for i in range(1000)]
    finally:
        gcpause.end_start_up()
    assert gc.isenabled() and gcpause.pauses() == 0
    assert gc.get_freeze_count() >= len(built)
    gcpause.end_start_up()                          # nothing in progress: nothing happens
    assert gc.isenabled() and gcpause.pauses() == 0
