"""Row sets as the bus takes them: frozensets of tuples, built and checked in steps."""

from __future__ import annotations

import pytest

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


def test_a_set_built_of_tuples_is_not_checked_again(monkeypatch):
    """frozen_in_steps notes a big set it built of tuples only: freeze_rows then takes it as
    it is without reading its rows again; one holding a list is still converted."""
    from congress import steps
    from congress.bus import service

    monkeypatch.setattr(steps, "ROWS_PER_STEP", 3)
    rows = service.frozen_in_steps([(i, "x") for i in range(10)])
    monkeypatch.setattr(service, "_all_tuples", lambda _rows: pytest.fail("checked again"))
    assert service.freeze_rows(rows) is rows
    mixed = service.frozen_in_steps(iter([(1,), (2,), (3,), (4,), "ab"]))
    monkeypatch.undo()
    frozen = service.freeze_rows(mixed)
    assert frozen == {(1,), (2,), (3,), (4,), ("a", "b")}


def test_the_width_of_a_set_built_in_steps_is_noted_and_trusted(monkeypatch):
    """frozen_in_steps notes the width of a set it built of tuples of one width; the
    engine's width check takes the note without visiting the rows; a set of several widths,
    or one not built so, is checked row by row; the note goes with the set."""
    import gc

    from congress.exceptions import SchemaError
    from congress.policy.runtime import Runtime

    monkeypatch.setattr(steps, "ROWS_PER_STEP", 3)
    rows = frozen_in_steps([(i, "x") for i in range(10)])
    assert steps.noted_width(rows) == 2
    assert steps.noted_width(frozen_in_steps([(1,), (2, 3), (4,), (5,)])) is None
    assert steps.noted_width(frozenset(list(rows))) is None    # an equal set, not this one

    rt = Runtime()
    rt.create_datasource_policy("ds", {"t": ["a", "b"], "u": ["a", "b", "c"]})
    rt.apply_delta("ds", "t", rows, normalize=False)
    assert set(rt.program.rows(("ds", "t"))) == rows
    # the note is what the check goes by: a set noted (wrongly) as 3 wide is not visited
    steps.note_width(misnoted := frozenset({(1, 2), (3, 4)}), 3)
    rt.apply_delta("ds", "u", misnoted, normalize=False)
    with pytest.raises(SchemaError, match="has 2 values"):
        rt.apply_delta("ds", "u", frozenset({(1, 2, 3), (4, 5)}), normalize=False)

    key = id(rows)
    del rows
    gc.collect()
    assert key not in steps._WIDTHS
