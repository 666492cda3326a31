"""A small top-down (SLD with negation as failure) solver over materialized relations.

The incremental engine answers every query from materialized tables; this solver exists for the
things that need to *walk* derivations:

* traces of queries in OpenStack Congress's ``Call/Exit/Fail/Redo`` format (``?trace=true``),
* the bodies of action-description rules in ``simulate`` (they are not part of the program),
* explanations: a proof tree of why a row holds.

Literals are resolved by a callback; rules by another, so callers decide what "a table" is
(materialized rows, a scratch theory of simulated actions, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from congress.datalog.analysis import builtin_of
from congress.datalog.ast import Constant, Literal, Rule, Term, Variable

Binding = dict[str, Any]
# (literal with bindings applied) -> candidate rows (may be a superset; unification filters)
RowSource = Callable[[Literal], Iterable[tuple]]
# literal -> rules whose head may match, with the policy they live in; None: use rows only
RuleSource = Callable[[Literal], "list[tuple[Rule, str]] | None"]


@dataclass
class Tracer:
    """Collects trace lines: ``<prefix>: <"| " * depth><Event>: <text>``."""

    prefix_of: Callable[[str], str] = lambda policy: policy
    lines: list[str] = field(default_factory=list)

    def event(self, policy: str, depth: int, kind: str, text: str) -> None:
        prefix = (self.prefix_of(policy) or "")[:6].ljust(6)
        self.lines.append(f"{prefix}: {'| ' * depth}{kind}: {text}")

    def runtime(self, text: str) -> None:
        self.lines.append(f"RT    : {text}")

    def text(self) -> str:
        return "\n".join(self.lines)


def resolve(term: Term, binding: Binding) -> Term:
    if term.is_variable and term.name in binding:
        return Constant.of(binding[term.name])
    return term


def plug(lit: Literal, binding: Binding) -> Literal:
    return lit.with_args(resolve(a, binding) for a in lit.args).negate(lit.negated) \
        if not lit.named else lit.plug(binding)


def unify_row(args: tuple[Term, ...], row: tuple, binding: Binding) -> Binding | None:
    """Extend ``binding`` so that ``args`` match ``row``; None if they cannot."""
    if len(args) != len(row):
        return None
    new = binding
    copied = False
    for a, v in zip(args, row, strict=True):
        if a.is_variable:
            cur = new.get(a.name, _UNBOUND)
            if cur is _UNBOUND:
                if not copied:
                    new = dict(new)
                    copied = True
                new[a.name] = v
            elif cur != v:
                return None
        elif a.value != v:
            return None
    return new


_UNBOUND = object()


class Solver:
    def __init__(self, rows: RowSource, rules: RuleSource | None = None,
                 tracer: Tracer | None = None, max_depth: int = 200) -> None:
        self.rows = rows
        self.rules = rules
        self.tracer = tracer
        self.max_depth = max_depth
        self._fresh = 0

    # ------------------------------------------------------------------ helpers
    def _trace(self, policy: str, depth: int, kind: str, text: str) -> None:
        if self.tracer is not None:
            self.tracer.event(policy, depth, kind, text)

    def _rename(self, rule: Rule) -> Rule:
        """Rename a rule's variables apart from the caller's."""
        self._fresh += 1
        suffix = f"_{self._fresh}"
        names = rule.variables()

        def ren(t: Term) -> Term:
            return Variable(t.name + suffix) if t.is_variable and t.name in names else t

        def lit(x: Literal) -> Literal:
            return x.with_args(ren(a) for a in x.args).negate(x.negated)
        return Rule(tuple(lit(h) for h in rule.heads), tuple(lit(b) for b in rule.body))

    @staticmethod
    def _ready(lit: Literal, binding: Binding) -> bool:
        if lit.negated:
            return True  # negations are tested with what is bound (padding vars existential)
        b = builtin_of(lit)
        if b is None:
            return True
        return all(not a.is_variable or a.name in binding for a in lit.args[:b.num_inputs])

    # ------------------------------------------------------------------ solving
    def solve(self, body: list[Literal], policy: str, binding: Binding | None = None,
              depth: int = 0) -> Iterator[Binding]:
        """All bindings satisfying the conjunction ``body`` (evaluated in ``policy``)."""
        binding = binding or {}
        if not body:
            yield binding
            return
        # pick the first literal that can run: positives, bound builtins, then negations
        idx = 0
        for i, lit in enumerate(body):
            if not lit.negated and self._ready(lit, binding):
                idx = i
                break
        else:
            idx = 0
        lit = body[idx]
        rest = body[:idx] + body[idx + 1:]
        for b in self.solve_literal(lit, policy, binding, depth):
            yield from self.solve(rest, policy, b, depth)

    def solve_literal(self, lit: Literal, policy: str, binding: Binding, depth: int
                      ) -> Iterator[Binding]:
        shown = plug(lit, binding)
        if depth > self.max_depth:
            return
        b = builtin_of(lit)
        if lit.negated:
            self._trace(policy, depth, "Call", str(shown))
            positive = lit.negate(False)
            found = next(iter(self.solve_literal(positive, policy, binding, depth + 1)), None)
            if found is None:
                self._trace(policy, depth, "Exit", str(shown))
                yield binding
            else:
                self._trace(policy, depth, "Fail", str(shown))
            return
        self._trace(policy, depth, "Call", str(shown))
        produced = False
        if not lit.args and not lit.service and lit.table in ("true", "false"):
            if lit.table == "true":
                self._trace(policy, depth, "Exit", str(shown))
                yield binding
            else:
                self._trace(policy, depth, "Fail", str(shown))
            return
        if b is not None:
            inputs = []
            for a in lit.args[:b.num_inputs]:
                a = resolve(a, binding)
                if a.is_variable:
                    self._trace(policy, depth, "Fail", str(shown))
                    return
                inputs.append(a.value)
            out = b.evaluate(tuple(inputs))
            if out is None:
                self._trace(policy, depth, "Note", f"Error in builtin or false: {shown}")
            else:
                nb = unify_row(lit.args[b.num_inputs:], out, binding)
                if nb is not None:
                    self._trace(policy, depth, "Exit", str(plug(lit, nb)))
                    produced = True
                    yield nb
            if not produced:
                self._trace(policy, depth, "Fail", str(shown))
            return
        for nb in self._matches(lit, shown, binding, policy, depth):
            if produced:
                self._trace(policy, depth, "Redo", str(shown))
            self._trace(policy, depth, "Exit", str(plug(lit, nb)))
            produced = True
            yield nb
        if not produced:
            self._trace(policy, depth, "Fail", str(shown))

    def _matches(self, lit: Literal, shown: Literal, binding: Binding, policy: str,
                 depth: int) -> Iterator[Binding]:
        """Bindings of a table literal: from its rows (the table's contents, or its explicit
        facts when it has rules), then from each of its rules walked top-down."""
        rules = self.rules(shown) if self.rules is not None else None
        for row in self.rows(shown):
            nb = unify_row(lit.args, row, binding)
            if nb is not None:
                yield nb
        for rule, rule_policy in rules or ():
            rule = self._rename(rule)
            head = rule.head
            hb = unify_terms(head.args, shown.args, {})
            if hb is None:
                continue
            self._trace(policy, depth + 1, "Note", f"Trying {rule}")
            for sol in self.solve(list(rule.body), rule_policy, hb, depth + 1):
                row = tuple(resolve(a, sol) for a in head.args)
                if any(t.is_variable for t in row):
                    continue
                nb = unify_row(lit.args, tuple(t.value for t in row), binding)
                if nb is not None:
                    yield nb


def unify_terms(pattern: tuple[Term, ...], target: tuple[Term, ...], binding: Binding
                ) -> Binding | None:
    """Bind variables of ``pattern`` to the constants of ``target`` (variables there are free)."""
    if len(pattern) != len(target):
        return None
    out = dict(binding)
    for p, t in zip(pattern, target, strict=True):
        if t.is_variable:
            continue
        if p.is_variable:
            cur = out.get(p.name, _UNBOUND)
            if cur is _UNBOUND:
                out[p.name] = t.value
            elif cur != t.value:
                return None
        elif p.value != t.value:
            return None
    return out
