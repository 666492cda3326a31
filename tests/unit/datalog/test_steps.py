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


def test_a_set_into_an_empty_base_relation(monkeypatch):
    """A set of rows pushed into an empty table is taken whole (Relation.insert_set): the
    same rows, the same derived answers, indexes right, and later changes as usual."""
    from congress.datalog.evaluation.relation import Relation

    rel = Relation(("ds", "r"))
    rel.index((0,))
    rows = frozenset((i % 5, i) for i in range(100))
    rel.insert_set(rows)
    assert rel.rows == dict.fromkeys(rows, 1)
    assert rel.index((0,))[3] == {r for r in rows if r[0] == 3}
    rel.insert_set(frozenset({(7, 1000), (3, 1001)}))       # not empty: row by row
    assert len(rel) == 102 and (3, 1001) in rel.index((0,))[3]

    taken = []
    insert_set = Relation.insert_set
    monkeypatch.setattr(Relation, "insert_set",
                        lambda self, rows: (taken.append(len(rows)), insert_set(self, rows)))
    rt = Runtime()
    rt.create_policy("p")
    rt.create_datasource_policy("ds", {"r": ["a", "b"], "s": ["b"]})
    rt.insert("p", "q(x) :- ds:r(x, y), ds:s(y)")
    rt.replace_table("ds", "s", [(1,), (2,)])
    rt.apply_delta("ds", "r", frozenset({(10, 1), (11, 2), (12, 3)}), ())
    assert 3 in taken
    assert set(rt.program.rows(("p", "q"))) == {(10,), (11,)}
    rt.apply_delta("ds", "r", frozenset({(13, 2)}), [(10, 1)])
    assert set(rt.program.rows(("p", "q"))) == {(11,), (13,)}
    assert set(rt.program.rows(("ds", "r"))) == {(11, 2), (12, 3), (13, 2)}
