"""Hypothetical reasoning: what would a query answer after a sequence of updates and actions?

The semantics are those of doc/policy-language.md §10. The sequence is applied to the real runtime
incrementally (with action notifications suppressed), the query is answered, and every change is
undone in reverse order, so the state afterwards is exactly what it was.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any

from congress.datalog.ast import Constant, Literal, Rule, Statement
from congress.datalog.evaluation.program import EvaluationStopped
from congress.datalog.evaluation.topdown import Solver, Tracer, plug
from congress.datalog.parser import parse_statements
from congress.exceptions import (
    CongressError,
    PolicyError,
    RowLimitExceeded,
    SimulateError,
    TimeLimitExceeded,
)
from congress.policy import kinds
from congress.policy.explain import trace_query, tracer_for

if TYPE_CHECKING:
    from congress.policy.runtime import Runtime

_skolem = itertools.count(1)


def simulate(rt: Runtime, policy: str, query: str, sequence: str, action_policy: str,
             delta: bool = False, trace: bool = False, *, max_rows: int | None = None,
             max_seconds: float | None = None) -> tuple[list[str], str | None]:
    """``max_rows``: most rows a derived table may hold while the sequence is applied;
    ``max_seconds``: longest the sequence may take to evaluate. Past either the simulation
    stops (RowLimitExceeded / TimeLimitExceeded) and the state is as before."""
    try:
        return _simulate(rt, policy, query, sequence, action_policy, delta, trace,
                         max_rows, max_seconds)
    except SimulateError:
        raise
    except RowLimitExceeded:
        raise
    except TimeLimitExceeded as e:
        raise TimeLimitExceeded(
            f"Refused: the simulation ran longer than {max_seconds:g} s (the limit on the time "
            "a simulate may take); nothing was changed",
            data={"limit_seconds": max_seconds}) from e
    except CongressError as e:
        raise SimulateError(e.message, position=e.position) from e


def _simulate(rt: Runtime, policy: str, query: str, sequence: str, action_policy: str,
              delta: bool, trace: bool, max_rows: int | None = None,
              max_seconds: float | None = None) -> tuple[list[str], str | None]:
    rt.get_policy(policy)
    actpol = rt.get_policy(action_policy)
    qs = parse_statements(query)
    if len(qs) != 1:
        raise SimulateError(f"Query {query} contained more than 1 rule")
    q = qs[0]
    if not isinstance(q, Literal):
        raise SimulateError(f"Query {query} must be an atom")
    seq = parse_statements(sequence) if sequence.strip() else []
    tracer = tracer_for(rt) if trace else None
    # the runtime lines of OpenStack Congress's simulate trace (tools read that format): the
    # answer before the sequence (delta only), the sequence, the query traced in the new state,
    # its answer, the roll-back; lists are written [a;b]
    if tracer and delta:
        tracer.runtime(f"** Simulate: Querying {q}")
    before = set(rt.query(policy, q)) if delta else set()
    if tracer and delta:
        tracer.runtime(f"Original result of {q} is {_iterstr(sorted(before))}")
    if tracer:
        tracer.runtime(f"** Simulate: Applying sequence {_iterstr(seq)}")

    undo: list[tuple[str, Any]] = []
    saved_listeners = rt.action_listeners
    saved_revision = rt.revision
    saved_limit = rt.program.max_rows
    rt.action_listeners = []
    if max_rows is not None:
        rt.program.max_rows = max_rows
    # checked between updates: a pass runs to its end (max_rows bounds it), so stopping never
    # leaves the program half-updated
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        declared = {row[0] for row in rt.program.rows((action_policy, "action")) if row}
        results: list[tuple] = []
        for elem in seq:
            table = elem.head.table if isinstance(elem, Rule) else elem.table
            if table not in declared:
                if not _is_update(elem):
                    raise SimulateError(f"Sequence contained non-action, non-update: {elem}")
                _apply_update(rt, policy, elem, undo, deadline)
                continue
            scratch: dict[str, list[tuple]] = {}
            if isinstance(elem, Literal):
                if elem.negated or not elem.is_ground():
                    raise SimulateError(f"Action {elem} must be a ground, positive atom")
                scratch.setdefault(elem.table, []).append(elem.values())
            else:
                scratch["result"] = list(results)
                solver = _scratch_solver(rt, policy, actpol.name, scratch)
                sol = next(iter(solver.solve(list(elem.body), policy, {}, 0)), None)
                if sol is None:
                    continue
                scratch = {}
                for head in elem.heads:
                    h = plug(head, sol)
                    if h.is_ground():
                        scratch.setdefault(h.table, []).append(h.values())
            updates, results = _consequences(rt, policy, actpol.name, scratch)
            for u in updates:
                _apply_update(rt, policy, u, undo, deadline)
        answers = rt.query(policy, q)
        if tracer:
            tracer.runtime(f"** Simulate: Querying {q}")
            _trace_query(rt, policy, q, tracer)
            tracer.runtime(f"Result of {q} is {_iterstr(sorted(answers))}")
            tracer.runtime("** Simulate: Rolling back")
    finally:
        # taking back what was applied is never limited
        rt.program.max_rows = None
        for kind, item in reversed(undo):
            _undo(rt, kind, item)
        rt.program.max_rows = saved_limit
        rt.action_listeners = saved_listeners
        rt.revision = saved_revision
    if delta:
        after = set(answers)
        out = [_signed(a, "+") for a in sorted(after - before)] + \
              [_signed(a, "-") for a in sorted(before - after)]
    else:
        out = answers
    return out, (tracer.text() if tracer else None)


def _trace_query(rt: Runtime, policy: str, q: Literal, tracer: Tracer) -> None:
    """The Call/Exit/Fail trace (OpenStack Congress's format) of answering ``q`` now."""
    (lit,), _ = rt.eliminate_query(policy, q)
    trace_query(rt, policy, lit, tracer)


def _iterstr(items: Any) -> str:
    return "[" + ";".join(str(x) for x in items) + "]"


def _signed(atom: str, sign: str) -> str:
    i = atom.index("(")
    return atom[:i] + sign + atom[i:]


def _is_update(stmt: Statement) -> bool:
    return (stmt.head if isinstance(stmt, Rule) else stmt).is_update()


def _scratch_rows(rt: Runtime, target: str, action_policy: str, scratch: dict, lit: Literal):
    """Rows for a literal inside an action description: scratch, action policy, target."""
    if lit.service is None and lit.table in scratch:
        return scratch[lit.table]
    if lit.service is None:
        act_rows = rt.program.rows((action_policy, lit.table))
        if act_rows:
            return list(act_rows)
    key = (lit.service or target, lit.table)
    return list(rt.program.rows(key))


def _scratch_solver(rt: Runtime, target: str, action_policy: str, scratch: dict) -> Solver:
    return Solver(lambda lit: _scratch_rows(rt, target, action_policy, scratch, lit))


def _ordered_action_rules(rules: list[Rule]) -> list[Rule]:
    """Action-description rules, each after the rules defining tables its body reads."""
    heads = {r.head.table for r in rules}
    done: list[Rule] = []
    defined: set[str] = set()
    pending = list(rules)
    while pending:
        progress = False
        for r in list(pending):
            needs = {b.table for b in r.body if b.service is None and b.table in heads}
            waiting = {t for t in needs if any(o.head.table == t for o in pending if o is not r)}
            if not waiting:
                done.append(r)
                defined.add(r.head.table)
                pending.remove(r)
                progress = True
        if not progress:        # cyclic descriptions: evaluate the rest once, in order
            done.extend(pending)
            break
    return done


def _consequences(rt: Runtime, target: str, action_policy: str, scratch: dict
                  ) -> tuple[list[Literal], list[tuple]]:
    """Update atoms (``p+``/``p-``) and ``result`` rows the action policy derives from ``scratch``.

    Each description rule runs once, after the rules whose tables it reads (so ``result(x) :-
    create(v), p+(x, v)`` sees the skolem constant chosen for ``p+``).
    """
    pol = rt.policies[action_policy]
    rules = [rec.prepared for rec in pol.rules.values() if isinstance(rec.prepared, Rule)]
    tables = dict(scratch)
    derived: dict[str, dict[tuple, Literal]] = {}
    for rule in _ordered_action_rules(rules):
        solver = _scratch_solver(rt, target, action_policy, tables)
        for sol in solver.solve(list(rule.body), target, {}, 0):
            head = plug(rule.head, sol)
            if not head.is_ground():
                # skolemize free head variables with fresh constants
                fresh = {a.name: f"_sk{next(_skolem)}" for a in head.args if a.is_variable}
                head = head.with_args(Constant.of(fresh[a.name]) if a.is_variable else a
                                      for a in head.args)
            derived.setdefault(head.tablename(), {})[head.values()] = head
            if head.service is None:
                tables.setdefault(head.table, [])
                if head.values() not in tables[head.table]:
                    tables[head.table] = list(tables[head.table]) + [head.values()]
    inserts: dict[tuple, Literal] = {}
    deletes: dict[tuple, Literal] = {}
    results: list[tuple] = []
    for heads in derived.values():
        for row, head in heads.items():
            if head.table in ("result", "result+"):
                results.append(row)
            elif head.table.endswith("+"):
                inserts[(head.service, head.table[:-1], row)] = head
            elif head.table.endswith("-"):
                deletes[(head.service, head.table[:-1], row)] = head
    for k in list(deletes):
        if k in inserts:
            del deletes[k]  # insert wins
    return list(deletes.values()) + list(inserts.values()), results


def _apply_update(rt: Runtime, target: str, elem: Statement, undo: list,
                  deadline: float | None = None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeLimitExceeded("the simulation ran out of time")
    insert = (elem.head if isinstance(elem, Rule) else elem).table.endswith("+")
    if isinstance(elem, Rule):
        head = elem.head.drop_update()
        policy = head.service or target
        rule = Rule((head.__class__(head.table, head.args, None, head.modal, head.negated,
                                    head.named, head.position),), elem.body, elem.position)
        if insert:
            update = rt.insert(policy, [(str(rule), rule)])
            undo.append(("rule_insert", (policy, update.records[0].id)))
        else:
            try:
                rec = rt.find_statement(policy, rule)
            except PolicyError:
                return
            limit, rt.program.max_rows = rt.program.max_rows, None   # deletions run through
            try:
                rt.delete_rules(policy, [rec.id])
            finally:
                rt.program.max_rows = limit
            undo.append(("rule_delete", (policy, rec)))
        return
    atom = elem.drop_update()
    if not atom.is_ground():
        raise SimulateError(f"Update {elem} must be ground")
    policy = atom.service or target
    if policy not in rt.policies:
        raise SimulateError(f"Policy {policy} does not exist")
    key = (policy, atom.table)
    row = atom.values()
    width = rt.arity_of(policy, atom.table)
    if width is not None and width != len(row):
        raise SimulateError(f"Update {elem} has {len(row)} values; table {atom.table} of "
                            f"policy {policy} has {width} columns")
    rel = rt.program.relation(key)
    if (row in rel.facts) == insert:
        return
    try:
        if insert:
            rt.program.update_facts(adds={key: [row]})
        else:
            rt.program.update_facts(dels={key: [row]})
    except EvaluationStopped as stop:
        # the pass stopped half way: rebuild the program as it was before this update
        if insert:
            rt.rebuild_program(drop_facts={key: {row}})
        else:
            rt.rebuild_program(add_facts={key: {row}})
        raise rt.limit_error(stop) from None
    undo.append(("fact_insert" if insert else "fact_delete", (key, row)))


def _undo(rt: Runtime, kind: str, item: Any) -> None:
    if kind == "fact_insert":
        key, row = item
        rt.program.update_facts(dels={key: [row]})
    elif kind == "fact_delete":
        key, row = item
        rt.program.update_facts(adds={key: [row]})
    elif kind == "rule_insert":
        policy, rid = item
        rt.delete_rules(policy, [rid])
    elif kind == "rule_delete":
        policy, rec = item
        rt.insert(policy, [(rec.text, rec.statement)], ids=[rec.id], names=[rec.name],
                  comments=[rec.comment])


__all__ = ["simulate", "kinds"]
