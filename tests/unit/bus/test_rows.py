"""Row sets as the bus takes them: frozensets of tuples, built and checked in steps."""

from __future__ import annotations

from congress import steps
from congress.bus.service import freeze_rows, frozen_in_steps


def test_frozen_in_steps_is_the_frozenset_of_the_rows(monkeypatch):
    monkeypatch.setattr(steps, "ROWS_PER_STEP", 7)
    rows = [(i % 30, str(i % 30)) for i in range(100)]   # duplicates across steps
    for given in (rows, iter(rows), tuple(rows)):
        assert frozen_in_steps(given) == frozenset(rows)
    assert frozen_in_steps(rows[:5]) == frozenset(rows[:5])
    assert frozen_in_steps([]) == frozenset()
    held = frozenset(rows)
    assert frozen_in_steps(held) is held


def test_freeze_rows_checks_every_step(monkeypatch):
    monkeypatch.setattr(steps, "ROWS_PER_STEP", 3)
    tuples = frozenset((i,) for i in range(20))
    assert freeze_rows(tuples) is tuples
    # a row that is not a tuple, wherever it lies in the set's order, makes a new set
    mixed = frozenset([*((i,) for i in range(20)), "ab"])
    frozen = freeze_rows(mixed)
    assert frozen is not mixed
    assert ("a", "b") in frozen and all(type(r) is tuple for r in frozen)
    assert freeze_rows([[1, 2], (3,)]) == {(1, 2), (3,)}
