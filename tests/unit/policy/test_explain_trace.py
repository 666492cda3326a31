"""Explanations (proof trees), traces of queries and of simulations."""

from __future__ import annotations

import pytest

from congress.exceptions import PolicyError
from congress.policy.explain import explain, explain_text, trace_table
from congress.policy.runtime import Runtime
from congress.policy.simulation import simulate


@pytest.fixture
def rt() -> Runtime:
    r = Runtime()
    r.create_policy("classification")
    r.create_policy("action", "action")
    r.create_datasource_policy("nova", {"servers": ["id", "status"]})
    r.insert("classification", """
        error(x) :- nova:servers(id=x, status="ERROR"), not exempt(x)
        alert(x, n) :- error(x), count(x, n), gt(n, 1)
        count("s1", 2)
        exempt("s3")
    """)
    r.replace_table("nova", "servers", [("s1", "ERROR"), ("s2", "ACTIVE"), ("s3", "ERROR")])
    return r


def test_explain_builds_a_proof_tree(rt):
    tree = explain(rt, "classification", 'alert("s1", 2)')
    assert tree["kind"] == "rule"
    assert tree["rule"].startswith("alert(x, n) :- ")
    kinds = [c["kind"] for c in tree["children"]]
    assert kinds == ["rule", "fact", "builtin"]
    error = tree["children"][0]
    assert [c["kind"] for c in error["children"]] == ["data", "negation"]
    assert error["children"][0]["literal"] == 'nova:servers("s1", "ERROR")'
    text = explain_text(explain(rt, "classification", 'alert("s1", 2)'))
    assert text.splitlines()[0].startswith('classification:alert("s1", 2)  [by alert(x, n)')
    assert '    nova:servers("s1", "ERROR")  [data]' in text


def test_explain_refuses_what_does_not_hold(rt):
    with pytest.raises(PolicyError, match="does not hold"):
        explain(rt, "classification", 'error("s3")')       # exempt
    with pytest.raises(PolicyError, match="ground"):
        explain(rt, "classification", "error(x)")


def test_explain_recursive_rows_without_cycles():
    r = Runtime()
    r.create_policy("m", "materialized")
    r.insert("m", "reach(x, y) :- e(x, y)  reach(x, z) :- reach(x, y), e(y, z) "
                  "e(1, 2) e(2, 3) e(3, 1)")
    tree = explain(r, "m", "reach(1, 1)")
    depth = 0
    node = tree
    while node["children"]:
        node = node["children"][0]
        depth += 1
    assert node["kind"] == "fact" and depth >= 2


def test_trace_of_rows_in_the_original_format(rt):
    rows, trace = trace_table(rt, "classification", "error")
    assert rows == [("s1",)]
    lines = trace.splitlines()
    assert lines[0] == "class : Call: error(x0)"
    assert any("Note: Trying error(" in line for line in lines)
    assert any(line.startswith("class : | Call: nova:servers(") for line in lines)
    assert "class : | Call: not exempt(\"s1\")" in lines
    assert lines[-1] == 'class : Found answer [error("s1")]'


def test_simulate_trace_has_runtime_lines(rt):
    result, trace = simulate(rt, "classification", "error(x)", 'nova:servers+("s9", "ERROR")',
                                "action", delta=True, trace=True)
    assert result == ['error+("s9")']
    assert "RT    : ** Simulate: Querying error(x)" in trace
    assert "RT    : ** Simulate: Rolling back" in trace
    # OpenStack Congress's sequence of runtime lines (tools read them), and the query traced in
    # the new state
    lines = trace.splitlines()
    rt_lines = [line for line in lines if line.startswith("RT    : ")]
    assert rt_lines == [
        "RT    : ** Simulate: Querying error(x)",
        'RT    : Original result of error(x) is [error("s1")]',
        'RT    : ** Simulate: Applying sequence [nova:servers+("s9", "ERROR")]',
        "RT    : ** Simulate: Querying error(x)",
        'RT    : Result of error(x) is [error("s1");error("s9")]',
        "RT    : ** Simulate: Rolling back"]
    second = lines.index("RT    : ** Simulate: Querying error(x)", 1)
    traced = lines[second + 1:lines.index(rt_lines[4])]
    assert traced[0] == "class : Call: error(x)"
    assert any(line.startswith("class : | Call: nova:servers(") for line in traced)
    assert traced[-1] in ('class : Found answer [error("s1"),error("s9")]',
                          'class : Found answer [error("s9"),error("s1")]')
    # and the real state is untouched
    assert rt.select("classification", "error") == [("s1",)]
