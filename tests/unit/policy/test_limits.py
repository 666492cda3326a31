"""max_derived_rows: a policy change that would make a table derive too many rows is refused
while it is evaluated, and nothing of it stays (the program is as before, rules and all)."""

from __future__ import annotations

import pytest

from congress.exceptions import RowLimitExceeded
from congress.policy.runtime import Runtime


def snapshot(rt: Runtime) -> dict:
    return {k: dict(rel.rows) for k, rel in rt.program.relations.items() if rel.rows}


@pytest.fixture
def rt() -> Runtime:
    rt = Runtime()
    rt.create_policy("classification")
    rt.create_policy("action", "action")
    rt.create_policy("graph", "materialized")
    rt.create_datasource_policy("ds", {"t": ["id"], "e": ["a", "b"]})
    rt.replace_table("ds", "t", [(i,) for i in range(1000)])
    rt.replace_table("ds", "e", [(i, i + 1) for i in range(300)])
    rt.insert("classification", "ok(x) :- ds:t(x)")
    return rt


def test_cross_product_of_1000_rows_is_refused_and_nothing_stays(rt) -> None:
    before = snapshot(rt)
    rules_before = [r.text for r in rt.rules("classification")]
    revision = rt.revision
    with pytest.raises(RowLimitExceeded) as err:
        rt.insert("classification", "p(x, y) :- ok(x), ds:t(y)", max_derived_rows=10_000)
    assert err.value.http_status == 400
    assert err.value.data == {"policy": "classification", "table": "p", "limit": 10_000}
    assert "would hold more than 10000 rows" in err.value.message
    assert snapshot(rt) == before
    assert [r.text for r in rt.rules("classification")] == rules_before
    assert rt.revision == revision
    assert "p" not in rt.tablenames("classification")
    # the same rule is fine without a limit, and the program still evaluates changes
    rt.insert("classification", "q(x) :- ok(x), lt(x, 3)", max_derived_rows=10_000)
    assert sorted(rt.select("classification", "q")) == [(0,), (1,), (2,)]
    rt.replace_table("ds", "t", [(1,), (7,)])
    assert sorted(rt.select("classification", "q")) == [(1,)]


def test_a_later_statement_of_the_same_insert_takes_the_earlier_ones_back(rt) -> None:
    before = snapshot(rt)
    text = ('small(x) :- ok(x), lt(x, 10)\n'
            'fact_row(1)\n'
            'execute[ds:act(x)] :- small(x)\n'
            'big(x, y) :- small(x), ok(y), ok(z), lt(z, 50)')
    actions_before = rt.action_rows()
    with pytest.raises(RowLimitExceeded) as err:
        rt.insert("classification", text, max_derived_rows=5_000)
    assert err.value.data["table"] == "big"
    assert snapshot(rt) == before
    assert rt.action_rows() == actions_before
    assert not rt.action_tables
    assert {r.text for r in rt.rules("classification")} == {"ok(x) :- ds:t(x)"}
    # inserting the acceptable part afterwards works, actions included
    update = rt.insert("classification", text.rsplit("\n", 1)[0], max_derived_rows=5_000)
    assert len(update.actions_added) == 10


def test_recursive_rules_are_limited_too(rt) -> None:
    before = snapshot(rt)
    with pytest.raises(RowLimitExceeded) as err:
        rt.insert("graph", "reach(x, y) :- ds:e(x, y)\n"
                                    "reach(x, z) :- reach(x, y), ds:e(y, z)",
                  max_derived_rows=20_000)       # the closure of a 300-edge chain: 45,150
    assert err.value.data["table"] == "reach"
    assert snapshot(rt) == before
    rt.insert("graph", "reach(x, y) :- ds:e(x, y)\n"
                                "reach(x, z) :- reach(x, y), ds:e(y, z)",
              max_derived_rows=50_000)
    assert len(rt.select("graph", "reach")) == 45_150


def test_no_limit_when_not_asked(rt) -> None:
    rt.insert("classification", "p(x, y) :- ok(x), ds:t(y), lt(y, 20)")
    assert len(rt.select("classification", "p")) == 20_000


# --------------------------------------------------------------------------- simulate
def test_simulate_stops_at_the_row_limit_and_leaves_no_trace(rt) -> None:
    from congress.policy import simulation

    rt.insert("classification", "pair(x, y) :- flag(x), ok(x), ok(y)")
    before = snapshot(rt)
    rules_before = {r.text for r in rt.rules("classification")}
    seq = " ".join(f"flag+({i})" for i in range(30))
    with pytest.raises(RowLimitExceeded) as err:
        simulation.simulate(rt, "classification", "pair(x, y)", seq, "action",
                            max_rows=10_000)
    assert err.value.data["table"] == "pair"
    assert snapshot(rt) == before
    assert {r.text for r in rt.rules("classification")} == rules_before
    assert rt.program.max_rows is None
    # under the limit it answers, and the state is still as before afterwards
    result, _ = simulation.simulate(rt, "classification", "pair(x, 5)", "flag+(1) flag+(2)",
                                    "action", max_rows=10_000)
    assert sorted(result) == ["pair(1, 5)", "pair(2, 5)"]
    result, _ = simulation.simulate(rt, "classification", "pair(1, y)", "flag+(1)",
                                    "action", max_rows=10_000)
    assert len(result) == 1000
    assert snapshot(rt) == before


def test_simulate_rule_insert_over_the_limit_is_taken_back(rt) -> None:
    from congress.policy import simulation

    before = snapshot(rt)
    with pytest.raises(RowLimitExceeded):
        simulation.simulate(rt, "classification", "p(x)", "p+(x, y) :- ok(x), ds:t(y)",
                            "action", max_rows=10_000)
    assert snapshot(rt) == before
    assert {r.text for r in rt.rules("classification")} == {"ok(x) :- ds:t(x)"}


def test_simulate_stops_at_its_time_limit(rt) -> None:
    from congress.exceptions import TimeLimitExceeded
    from congress.policy import simulation

    rt.insert("graph", "reach(x, y) :- ds:e(x, y)\nreach(x, z) :- reach(x, y), ds:e(y, z)")
    before = snapshot(rt)
    seq = " ".join(f"ds:e+({i}, {i + 1})" for i in range(300, 999))
    with pytest.raises(TimeLimitExceeded) as err:
        simulation.simulate(rt, "graph", "reach(0, 999)", seq, "action", max_seconds=0.2)
    assert err.value.data == {"limit_seconds": 0.2}
    assert "longer than 0.2 s" in err.value.message
    assert snapshot(rt) == before
