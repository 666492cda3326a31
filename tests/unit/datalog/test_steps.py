"""Bulk work over big batches runs a few rows per C call (relation.ROWS_PER_STEP): with tiny
steps the engine gives the same answers as in one go."""

from __future__ import annotations

import random

import pytest

from congress import steps
from congress.policy.runtime import Runtime


@pytest.mark.parametrize("step", [1, 3, 7, 10_000])
def test_tiny_steps_change_no_answer(monkeypatch, step):
    monkeypatch.setattr(steps, "ROWS_PER_STEP", step)
    rnd = random.Random(step)
    rt = Runtime()
    rt.create_policy("p")
    rt.create_datasource_policy("ds", {"r": ["a", "b"], "s": ["b"]})
    rt.insert("p", "q(x) :- ds:r(x, y), ds:s(y)")
    rt.insert("p", "lonely(x) :- ds:r(x, y), not ds:s(y)")
    r: set[tuple[int, int]] = set()
    s = {(y,) for y in range(0, 10, 2)}
    rt.replace_table("ds", "s", list(s))
    for _ in range(6):
        added = {(rnd.randrange(40), rnd.randrange(10)) for _ in range(25)}
        removed = set(rnd.sample(sorted(r), min(len(r), 10))) | {(99, 99)}   # one absent
        rt.apply_delta("ds", "r", added | set(rnd.sample(sorted(r), min(len(r), 3))),
                       removed - added)
        r = (r - (removed - added)) | added
        assert set(rt.program.rows(("p", "q"))) == {(x,) for x, y in r if (y,) in s}
        assert set(rt.program.rows(("p", "lonely"))) == {(x,) for x, y in r if (y,) not in s}
    assert set(rt.program.rows(("ds", "r"))) == r
