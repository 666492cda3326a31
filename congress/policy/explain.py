"""Why does a row hold? Traces and proof trees over a Runtime's materialized state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from congress.datalog.analysis import builtin_of
from congress.datalog.ast import Literal, Rule, Variable
from congress.datalog.evaluation.topdown import Solver, Tracer, plug, unify_terms
from congress.datalog.parser import parse_atom
from congress.exceptions import PolicyError, TableNotFound
from congress.policy import kinds

if TYPE_CHECKING:
    from congress.policy.runtime import Runtime


def tracer_for(rt: Runtime) -> Tracer:
    def prefix(policy: str) -> str:
        pol = rt.policies.get(policy)
        return pol.abbreviation if pol is not None else policy
    return Tracer(prefix_of=prefix)


def _row_source(rt: Runtime, policy: str, facts_only_if_rules: bool):
    def rows(lit: Literal):
        key = rt.rel_key(lit, policy)
        rel = rt.program.relations.get(key)
        if rel is None:
            return ()
        if facts_only_if_rules and rt.program.producers.get(key) and not rel.recursive:
            return list(rel.facts)
        bound = {i: a.value for i, a in enumerate(lit.args) if not a.is_variable}
        if bound:
            cols = tuple(sorted(bound))
            k = bound[cols[0]] if len(cols) == 1 else tuple(bound[c] for c in cols)
            return list(rel.index(cols).get(k, ()))
        return list(rel.rows)
    return rows


def _rule_source(rt: Runtime, policy: str):
    """Rules defining a literal's table, unless it is recursive (then use materialized rows)."""
    def rules(lit: Literal):
        key = rt.rel_key(lit, policy)
        if not rt.program.producers.get(key):
            return None
        rel = rt.program.relations.get(key)
        if rel is not None and rel.recursive:
            return None
        pol = rt.policies.get(key[0])
        if pol is None or pol.kind not in kinds.EVALUATED:
            return None
        return [(rec.prepared, pol.name) for rec in pol.rules.values()
                if isinstance(rec.prepared, Rule) and rec.prepared.head.modal is None
                and rec.prepared.head.table == key[1]]
    return rules


class _PolicyAwareSolver(Solver):
    """Resolves each literal relative to the policy its rule lives in."""

    def __init__(self, rt: Runtime, tracer: Tracer | None) -> None:
        self.rt = rt
        self._policy_stack: list[str] = []
        super().__init__(self._rows, self._rules, tracer)

    def solve_literal(self, lit, policy, binding, depth):
        self._policy_stack.append(policy)
        try:
            yield from super().solve_literal(lit, policy, binding, depth)
        finally:
            self._policy_stack.pop()

    def _rows(self, lit: Literal):
        return _row_source(self.rt, self._policy_stack[-1], True)(lit)

    def _rules(self, lit: Literal):
        return _rule_source(self.rt, self._policy_stack[-1])(lit)


def trace_query(rt: Runtime, policy: str, lit: Literal, tracer: Tracer | None = None
                ) -> tuple[list[tuple], str]:
    """Answer ``lit`` top-down through the rules, recording the Call/Exit/Fail/Redo trace (in
    ``tracer``, when given, after the lines it already holds)."""
    tracer = tracer or tracer_for(rt)
    solver = _PolicyAwareSolver(rt, tracer)
    answers: list[tuple] = []
    seen = set()
    for sol in solver.solve([lit], policy, {}, 0):
        row = tuple(sol.get(a.name) if a.is_variable else a.value for a in lit.args)
        if row not in seen:
            seen.add(row)
            answers.append(row)
    found = ",".join(str(Literal.fact(lit.table, r, lit.service)) for r in answers)
    prefix = (tracer.prefix_of(policy) or "")[:6].ljust(6)
    tracer.lines.append(f"{prefix}: Found answer [{found}]")
    return answers, tracer.text()


def trace_table(rt: Runtime, policy: str, table: str) -> tuple[list[tuple], str]:
    """All rows of ``table`` as seen from ``policy`` (``svc:table`` for a datasource's), and
    the top-down trace of computing them that ``GET .../rows?trace=true`` returns."""
    rt.get_policy(policy)
    if not rt.has_table(policy, table):
        raise TableNotFound(f"table '{table}' doesn't exist")
    svc, name = table.split(":", 1) if ":" in table else (None, table)
    arity = rt.arity_of(svc or policy, name) or 0
    lit = Literal(name, tuple(Variable(f"x{i}") for i in range(arity)), service=svc)
    _, text = trace_query(rt, policy, lit)
    return rt.select(policy, table), text


def explain(rt: Runtime, policy: str, atom: str | Literal, max_nodes: int = 10000
            ) -> dict[str, Any]:
    """A proof tree of a ground atom that holds.

    Nodes: ``{"literal": str, "kind": "fact"|"data"|"rule"|"builtin"|"negation",
    "policy": str, "rule": str (kind rule), "children": [...]}``. Raises PolicyError if the
    atom does not hold.
    """
    lit = parse_atom(atom) if isinstance(atom, str) else atom
    (lit,), _ = rt.eliminate_query(policy, lit)
    if not lit.is_ground():
        raise PolicyError(f"explain needs a ground atom, got {lit}")
    budget = [max_nodes]
    tree = _explain(rt, policy, lit, set(), budget)
    if tree is None:
        raise PolicyError(f"{lit} does not hold in policy {policy}")
    return tree


def _explain(rt: Runtime, policy: str, lit: Literal, path: set, budget: list[int]
             ) -> dict[str, Any] | None:
    budget[0] -= 1
    if budget[0] < 0:
        return None
    key = rt.rel_key(lit, policy)
    row = lit.values()
    rel = rt.program.relations.get(key)
    if rel is None or row not in rel.rows:
        return None
    node: dict[str, Any] = {"literal": str(Literal.fact(key[1], row, key[0])), "policy": key[0]}
    pol = rt.policies.get(key[0])
    if row in rel.facts:
        node["kind"] = "data" if pol is not None and pol.kind == kinds.DATASOURCE else "fact"
        node["children"] = []
        return node
    if (key, row) in path:
        return None
    path = path | {(key, row)}
    rules = [rec.prepared for rec in (pol.rules.values() if pol else ())
             if isinstance(rec.prepared, Rule) and rt.rel_key(rec.prepared.head, key[0]) == key]
    rows_of = _row_source(rt, key[0], False)
    solver = Solver(rows_of)
    for rule in rules:
        hb = unify_terms(rule.head.args, lit.args, {})
        if hb is None:
            continue
        for sol in solver.solve(list(rule.body), key[0], hb, 0):
            children = []
            ok = True
            for b in rule.body:
                ground = plug(b, sol)
                if builtin_of(b) is not None:
                    children.append({"literal": str(ground), "kind": "builtin", "children": []})
                elif b.negated:
                    children.append({"literal": str(ground), "kind": "negation", "children": []})
                else:
                    sub = _explain(rt, key[0], ground, path, budget)
                    if sub is None:
                        ok = False
                        break
                    children.append(sub)
            if ok:
                node.update(kind="rule", rule=str(rule), children=children)
                return node
            if budget[0] < 0:
                return None
    return None


def explain_text(tree: dict[str, Any], indent: int = 0) -> str:
    """The proof tree as indented text."""
    how = tree["kind"] if tree["kind"] != "rule" else f"by {tree['rule']}"
    lines = [f"{'  ' * indent}{tree['literal']}  [{how}]"]
    for child in tree.get("children", ()):
        lines.append(explain_text(child, indent + 1))
    return "\n".join(lines)
