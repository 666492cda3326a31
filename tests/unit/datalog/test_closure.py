"""Transitive closure components evaluated as graph operations (evaluation/closure.py).

The engine must give exactly the rows the rules define, whichever path it takes: checked against
a closure computed here by plain search, after every batch of edge changes, for every form of the
recursive rule, and when the shortcut must not apply (explicit facts of the closure, extra rules).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from congress.datalog.evaluation import closure
from congress.policy.runtime import Runtime

FORMS = {
    "left": "reach(x, z) :- reach(x, y), edge(y, z)",
    "left-swapped": "reach(x, z) :- edge(y, z), reach(x, y)",
    "right": "reach(x, z) :- edge(x, y), reach(y, z)",
    "double": "reach(x, z) :- reach(x, y), reach(y, z)",
}
BASE_RULE = "reach(x, y) :- edge(x, y)"
EDGE = ("g", "edge")
REACH = ("g", "reach")


def naive_closure(edges: set[tuple]) -> set[tuple]:
    succ: dict = {}
    for u, v in edges:
        succ.setdefault(u, set()).add(v)
    out = set()
    for start in succ:
        seen: set = set()
        stack = list(succ[start])
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(succ.get(n, ()))
        out |= {(start, n) for n in seen}
    return out


def runtime(form: str, edges: set[tuple] = frozenset(), rules_first: bool = True) -> Runtime:
    rt = Runtime()
    rt.create_policy("g", "materialized")
    if rules_first:
        rt.insert("g", BASE_RULE + "\n" + FORMS[form])
        rt.program.update_facts(adds={EDGE: list(edges)})
    else:
        rt.program.update_facts(adds={EDGE: list(edges)})
        rt.insert("g", BASE_RULE)
        rt.insert("g", FORMS[form])
    return rt


def reach(rt: Runtime) -> set[tuple]:
    return set(rt.program.rows(REACH))


# ---------------------------------------------------------------------- shape recognition
def compiled_rules(text: str) -> list:
    rt = Runtime()
    rt.create_policy("g", "materialized")
    rt.insert("g", text)
    return list(rt.program.producers[REACH])


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_is_recognized(form: str) -> None:
    assert closure.closure_edge(REACH, compiled_rules(BASE_RULE + "\n" + FORMS[form])) == EDGE


@pytest.mark.parametrize("text", [
    "reach(x, z) :- reach(x, y), edge(y, z)",                       # no base rule
    "reach(x, y) :- edge(y, x)\nreach(x, z) :- reach(x, y), edge(y, z)",   # reversed base
    "reach(x, y) :- edge(x, y)\nreach(x, z) :- reach(x, y), edge(z, y)",   # not a path
    "reach(x, y) :- edge(x, y)\nreach(z, x) :- reach(x, y), edge(y, z)",   # head reversed
    "reach(x, y) :- edge(x, y)\nreach(x, z) :- reach(x, y), other(y, z)",  # another relation
    "reach(x, y) :- edge(x, y)\nreach(x, z) :- reach(x, y), edge(y, z), neq(x, z)",
    "reach(x, y) :- edge(x, y)\nreach(x, z) :- reach(x, y), edge(y, z)\n"
    "reach(x, y) :- other(x, y)",                                   # a third rule
    "reach(x, y) :- edge(x, y)\nreach(x, 1) :- reach(x, y), edge(y, 1)",   # constant
])
def test_other_shapes_are_not_closures(text: str) -> None:
    assert closure.closure_edge(REACH, compiled_rules(text)) is None


# ---------------------------------------------------------------------- graph helpers
def test_reach_sets_match_search_on_random_graphs() -> None:
    rnd = random.Random(7)
    for _ in range(50):
        n = rnd.randint(1, 30)
        edges = {(rnd.randrange(n), rnd.randrange(n)) for _ in range(rnd.randint(0, 3 * n))}
        adj: dict = {}
        for u, v in edges:
            adj.setdefault(u, set()).add(v)
        sets = closure.reach_sets(closure.patched(adj), list(adj))
        got = {(x, y) for x, ys in sets.items() for y in ys}
        assert got == naive_closure(edges)
        for u, v in list(edges)[:5]:
            without = closure.patched(adj, remove=[(u, v)])
            assert closure.reaches(without, u, v) == ((u, v) in naive_closure(edges - {(u, v)}))


# ---------------------------------------------------------------------- the engine
@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("rules_first", [True, False])
def test_closure_from_scratch_and_edge_changes(form: str, rules_first: bool) -> None:
    rnd = random.Random(hash((form, rules_first)) & 0xFFFF)
    edges = {(rnd.randrange(40), rnd.randrange(40)) for _ in range(70)}
    rt = runtime(form, edges, rules_first)
    assert reach(rt) == naive_closure(edges)
    assert rt.program.stats["closure_rebuilds"] >= 1
    for _ in range(60):
        add = {(rnd.randrange(40), rnd.randrange(40)) for _ in range(rnd.randint(0, 2))} - edges
        gone = set(rnd.sample(sorted(edges), min(len(edges), rnd.randint(0, 2))))
        rt.program.update_facts(adds={EDGE: list(add)}, dels={EDGE: list(gone)})
        edges = (edges - gone) | add
        assert reach(rt) == naive_closure(edges)
    assert rt.program.stats["closure_checks"] > 0


def test_deleting_a_bridge_removes_exactly_what_it_carried() -> None:
    # two cycles joined by one bridge 2 -> 3: deleting it cuts {0,1,2} off from {3,4,5}
    edges = {(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3)}
    rt = runtime("left", edges)
    changes = rt.program.update_facts(dels={EDGE: [(2, 3)]})
    assert reach(rt) == naive_closure(edges - {(2, 3)})
    assert rt.program.stats["closure_deleted"] == 9       # {0,1,2} x {3,4,5}
    assert changes == {} or REACH not in changes or len(changes[REACH][1]) == 9
    # a detour keeps everything: 1 -> 3 also reaches the second cycle
    rt.program.update_facts(adds={EDGE: [(2, 3), (1, 3)]})
    before = reach(rt)
    rt.program.update_facts(dels={EDGE: [(2, 3)]})
    assert reach(rt) == before


def test_watched_closure_reports_net_changes() -> None:
    rt = runtime("left", {(0, 1)})
    rt.program.watch(REACH)
    changes = rt.program.update_facts(adds={EDGE: [(1, 2)]}, dels={EDGE: [(0, 1)]})
    ins, dels = changes[REACH]
    assert ins == {(1, 2)} and dels == {(0, 1)}


def test_explicit_closure_facts_take_the_general_path() -> None:
    edges = {(0, 1), (1, 2)}
    rt = runtime("left", edges)
    rt.insert("g", "reach(7, 0)")
    assert (7, 2) in reach(rt)
    rt.program.update_facts(dels={EDGE: [(1, 2)]})
    assert reach(rt) == naive_closure(edges - {(1, 2)}) | {(7, 0), (7, 1)}
    rt.delete("g", "reach(7, 0)")
    assert reach(rt) == naive_closure({(0, 1)})


def test_removing_the_recursive_rule_leaves_the_edges() -> None:
    edges = {(0, 1), (1, 2), (2, 3)}
    rt = runtime("right", edges)
    assert reach(rt) == naive_closure(edges)
    rt.delete("g", FORMS["right"])
    assert reach(rt) == edges
    rt.insert("g", FORMS["double"])
    assert reach(rt) == naive_closure(edges)


def test_closure_feeds_rules_that_read_it() -> None:
    rt = runtime("left", {(0, 1), (1, 2)})
    rt.insert("g", 'cut(x) :- node(x), not reach(x, 2)')
    rt.program.update_facts(adds={("g", "node"): [(0,), (1,), (5,)]})
    assert set(rt.program.rows(("g", "cut"))) == {(5,)}
    rt.program.update_facts(dels={EDGE: [(1, 2)]})
    assert set(rt.program.rows(("g", "cut"))) == {(0,), (1,), (5,)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(form=st.sampled_from(sorted(FORMS)),
       initial=st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=20),
       batches=st.lists(st.tuples(
           st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=3),
           st.sets(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=3)), max_size=12))
def test_property_closure_equals_search(form, initial, batches) -> None:
    rt = runtime(form, initial)
    edges = set(initial)
    for add, gone in batches:
        add = add - edges
        gone = gone & edges
        rt.program.update_facts(adds={EDGE: list(add)}, dels={EDGE: list(gone)})
        edges = (edges - gone) | add
        assert reach(rt) == naive_closure(edges)
