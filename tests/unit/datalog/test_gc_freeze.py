"""A batch of changes that leaves many new objects behind freezes them (out of the cyclic
collector's sight); removing a rule thaws everything, so its plans' cycles can be collected."""

from __future__ import annotations

import gc

import pytest

from congress import gcpause
from congress.policy.runtime import Runtime


@pytest.fixture
def rt():
    was = gc.isenabled()
    gc.enable()                 # the engine pauses (and freezes) only a collector that runs
    gc.collect()
    gc.unfreeze()
    rt = Runtime()
    rt.create_policy("p")
    rt.create_datasource_policy("ds", {"r": ["a", "b"], "s": ["b"]})
    rt.insert("p", "q(x) :- ds:r(x, y), ds:s(y)")
    yield rt
    gc.unfreeze()
    if not was:
        gc.disable()


def test_a_big_batch_freezes_what_it_built_and_removing_a_rule_thaws(rt):
    n = 3 * gcpause.FREEZE_AFTER        # each row leaves a few objects behind
    rt.replace_table("ds", "s", [(i,) for i in range(7)])
    assert gc.get_freeze_count() == 0
    rows = [(i, i % 7) for i in range(n)]
    counts = []
    real = gc.freeze

    def freeze():
        counts.append(gc.get_count()[0])
        real()

    gc.freeze = freeze
    try:
        rt.replace_table("ds", "r", rows)
    finally:
        gc.freeze = real
    assert counts and counts[0] >= gcpause.FREEZE_AFTER, counts
    assert gc.get_freeze_count() >= n, "the batch's rows were left to the collector"
    assert len(rt.select("p", "q")) == n
    rt.delete_rule("p", rt.rules("p")[0].id)
    assert gc.get_freeze_count() == 0
    assert rt.select("p", "q", check_table=False) == []


def test_a_small_batch_freezes_nothing(rt):
    rt.replace_table("ds", "r", [(i, i % 7) for i in range(100)])
    rt.replace_table("ds", "s", [(i,) for i in range(7)])
    assert len(rt.select("p", "q")) == 100
    assert gc.get_freeze_count() == 0
