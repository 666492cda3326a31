"""Rows as the bus delivers them (frozensets of normalized tuples) go into the engine as they
are: the same results and the same width checks as lists of rows."""

from __future__ import annotations

import pytest

from congress.exceptions import SchemaError
from congress.policy.runtime import Runtime


@pytest.fixture
def rt() -> Runtime:
    r = Runtime()
    r.create_policy("p")
    r.create_datasource_policy("ds", {"t": ["id", "state"]})
    r.insert("p", 'down(x) :- ds:t(id=x, state="down")')
    return r


def test_frozensets_replace_and_change_a_table(rt):
    rows = frozenset({("a", "down"), ("b", "up")})
    rt.replace_table("ds", "t", rows, normalize=False)
    assert set(rt.program.rows(("p", "down"))) == {("a",)}
    rt.apply_delta("ds", "t", frozenset({("c", "down")}), frozenset({("a", "down")}),
                   normalize=False)
    assert set(rt.program.rows(("p", "down"))) == {("c",)}
    assert set(rows) == {("a", "down"), ("b", "up")}   # the caller's set is left as it was


def test_frozensets_of_another_width_are_refused(rt):
    rt.replace_table("ds", "t", frozenset({("a", "down")}), normalize=False)
    with pytest.raises(SchemaError) as err:
        rt.replace_table("ds", "t", frozenset({("a", "down", 3)}), normalize=False)
    assert err.value.code == "arity_mismatch"
    with pytest.raises(SchemaError):
        rt.apply_delta("ds", "t", frozenset({("b",)}), normalize=False)
    assert set(rt.program.rows(("p", "down"))) == {("a",)}


@pytest.mark.parametrize("bad_at", [0, 2, 3, 4, 6])
def test_a_wrong_width_is_found_in_any_step(rt, monkeypatch, bad_at):
    """Widths are checked a few rows per call: a wrong row in the first, a middle or the last
    step (or the last row) is refused all the same."""
    from congress.policy import runtime as runtime_mod
    monkeypatch.setattr(runtime_mod, "_CHECK_STEP", 3)
    rows = [(f"h{i}", "down") for i in range(7)]
    rows[bad_at] = (f"h{bad_at}", "down", "extra")
    with pytest.raises(SchemaError) as err:
        rt.replace_table("ds", "t", rows)
    assert err.value.code == "arity_mismatch"
    rows[bad_at] = (f"h{bad_at}", "down")
    rt.replace_table("ds", "t", rows)
    assert len(rt.program.rows(("p", "down"))) == 7
