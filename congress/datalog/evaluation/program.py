"""Incremental bottom-up evaluation of a stratified Datalog program.

The :class:`Program` holds every relation (keyed by an opaque hashable, the runtime uses
``(policy, table)``), every rule, and keeps every derived relation materialized and up to date:

* Relations are ordered by *level* (a topological order of the dependency graph; the members of a
  recursive strongly connected component share one level). Levels are maintained incrementally as
  rules come and go; a full Tarjan pass only runs when a rule closes or may open a cycle.
* Non-recursive relations count derivations. A change to a relation is pushed to every rule that
  reads it through a *delta plan* (the rule with the changed literal first), evaluated against the
  new state of relations already processed and the old state of those not yet processed (the
  classic telescoping sum, so nothing is counted twice); head counts crossing zero are the
  relation's own change, processed in level order.
* A recursive component is processed as a unit: rows that may have lost their derivations are
  checked with the Backward/Forward algorithm (look for another derivation among rows still present,
  proving facts bottom-up with forward saturation; only rows with no proof are deleted), then
  insertions run semi-naively. Rows carry a rank (derivation depth estimate) so the backward search
  tries short proofs first.
* A component that is exactly a transitive closure (``p :- e`` plus one path-extending rule) is
  rebuilt from the strongly connected components of ``e`` and checks edge deletions by
  reachability instead (``closure.py``); insertions take the semi-naive pass like any other.

Nothing here knows about policies, kinds, parsing or I/O.

The work is split by concept: :mod:`.structure` (levels and recursive components),
:mod:`.propagation` (one propagation pass, non-recursive relations), :mod:`.recursive`
(recursive components and transitive closures in a pass), :mod:`.backward_forward` (which rows of
a recursive component lost every derivation), :mod:`.codegen` (compiled rule plans) and
:mod:`.relation` (the stored rows and their indexes).
"""

from __future__ import annotations

import gc
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from congress import gcpause
from congress.datalog.evaluation.codegen import (
    BACKWARD,
    COUNT,
    HEADS,
    NEG,
    NEW,
    POS,
    RANKED,
    CRule,
    chain_shape,
    generate,
    generate_chain,
)
from congress.datalog.evaluation.propagation import Changes, Key, Propagation, Row
from congress.datalog.evaluation.relation import Relation, key_function
from congress.datalog.evaluation.structure import DependencyGraph
from congress.steps import in_steps

__all__ = ["Changes", "Key", "Program", "Row"]


class EvaluationStopped(Exception):
    """A propagation pass stopped half way (a limit of the program was reached): the program is
    then inconsistent and must be rebuilt by its owner (``Runtime`` does)."""


class DerivationLimit(EvaluationStopped):
    """A derived relation would hold more than ``Program.max_rows`` rows."""

    def __init__(self, key: Key, rows: int, limit: int) -> None:
        super().__init__(f"{key!r} would hold {rows} rows (limit {limit})")
        self.key = key
        self.rows = rows
        self.limit = limit


class BoundedCounts(dict):
    """Derivation counts of one relation that stop (DerivationLimit) as soon as they hold
    more than ``limit`` distinct rows: a new rule's runaway join stops while it runs instead of
    after building every row. Only used while a limit is set (``d[k] = v`` costs more)."""

    __slots__ = ("key", "limit")

    def __init__(self, key: Key, limit: int) -> None:
        super().__init__()
        self.key = key
        self.limit = limit

    def __setitem__(self, row: Row, value: int) -> None:
        dict.__setitem__(self, row, value)
        if len(self) > self.limit:
            raise DerivationLimit(self.key, len(self), self.limit)


class Program(DependencyGraph):
    """Relations and rules of one Datalog program, every derived relation kept up to date."""

    def __init__(self) -> None:
        self.relations: dict[Key, Relation] = {}
        self.rules: dict[Any, CRule] = {}
        self.consumers: dict[Key, list[tuple[CRule, int]]] = defaultdict(list)
        self.producers: dict[Key, list[CRule]] = defaultdict(list)
        self.level: dict[Key, int] = {}
        self.scc_of: dict[Key, int] = {}           # recursive relations only
        self.scc_members: dict[int, list[Key]] = {}
        self._scc_ids = itertools.count(1)
        self.watched: set[Key] = set()
        self.stats = defaultdict(int)
        self._dispatch: dict[Key, Any] = {}
        #: most rows a derived relation may hold; checked before a pass applies a relation's
        #: change (None: no limit)
        self.max_rows: int | None = None

    def check_size(self, key: Key, rows: int) -> None:
        """DerivationLimit if derived relation ``key`` would hold ``rows`` rows."""
        limit = self.max_rows
        if limit is not None and rows > limit:
            raise DerivationLimit(key, rows, limit)

    # ================================================================== relations
    def relation(self, key: Key) -> Relation:
        rel = self.relations.get(key)
        if rel is None:
            rel = self.relations[key] = Relation(key)
            self.level.setdefault(key, 0)
        return rel

    def rows(self, key: Key) -> dict[Row, int]:
        rel = self.relations.get(key)
        return rel.rows if rel is not None else {}

    def size(self, key: Key) -> int:
        rel = self.relations.get(key)
        return len(rel.rows) if rel is not None else 0

    def drop_relation_if_unused(self, key: Key) -> None:
        rel = self.relations.get(key)
        if rel is not None and not rel.rows and not rel.facts and not self.producers.get(key) \
                and not self.consumers.get(key) and key not in self.watched:
            del self.relations[key]
            self.level.pop(key, None)
            self.producers.pop(key, None)
            self.consumers.pop(key, None)

    # ================================================================== alpha dispatch
    def dispatch(self, key: Key, ins: list[Row], dels: list[Row]
                 ) -> Iterable[tuple[CRule, int, list[Row], list[Row]]]:
        """The rules reading ``key`` with the changed rows each of them can match.

        Literals with constants (``servers(id=s, status="ACTIVE")``, negated or not) are grouped by
        their constant positions and looked up by the changed row's values there (an alpha
        network), so a change reaches only the rules whose constants it matches: with
        thousands of library rules over one table a one-row change costs what the few matching
        rules cost, not a call per rule.
        """
        table = self._dispatch.get(key)
        if table is None:
            table = self._dispatch[key] = build_dispatch(self.consumers.get(key, ()))
        plain, groups = table
        for rule, pos in plain:
            yield rule, pos, ins, dels
        for fn, mapping in groups:
            matched: dict[tuple[CRule, int], tuple[list[Row], list[Row]]] = {}
            for rows, which in ((ins, 0), (dels, 1)):
                for row in rows:
                    users = mapping.get(fn(row))
                    if users is None:
                        continue
                    for user in users:
                        entry = matched.get(user)
                        if entry is None:
                            entry = matched[user] = ([], [])
                        entry[which].append(row)
            for (rule, pos), (m_ins, m_dels) in matched.items():
                yield rule, pos, m_ins, m_dels

    # ================================================================== plans
    def plan(self, rule: CRule, delta: int | None, head_bound: bool, mode: str,
              rec: frozenset[int] = frozenset()) -> Callable:
        k = (delta, head_bound, mode, rec)
        fn = rule.plans.get(k)
        if fn is None:
            shape = chain_shape(rule) if mode in (NEW, BACKWARD) else None
            if shape is not None:
                fn = generate_chain(rule, shape, delta=delta, head_bound=head_bound, mode=mode,
                                    rec_positions=rec)
            if fn is None:
                fn = generate(rule, delta=delta, head_bound=head_bound, mode=mode,
                              rec_positions=rec, size=self.size)
            rule.plans[k] = fn
            self.stats["plans_compiled"] += 1
        return fn

    def body_views(self, rule: CRule, override: dict[int, Any] | None = None) -> list[Any]:
        views = []
        for i, lit in enumerate(rule.body):
            if override and i in override:
                views.append(override[i])
            elif lit.kind in (POS, NEG):
                views.append(self.relation(lit.rel))
            else:
                views.append(None)
        return views

    def rec_positions(self, rule: CRule) -> frozenset[int]:
        sid = self.scc_of.get(rule.head_rel)
        if sid is None:
            return frozenset()
        return frozenset(i for i, lit in enumerate(rule.body)
                         if lit.kind == POS and self.scc_of.get(lit.rel) == sid)

    # ================================================================== public updates
    def add_rule(self, rule: CRule) -> Changes:
        """Register and evaluate one (already validated) rule; returns watched changes."""
        self.rules[rule.id] = rule
        head = rule.head_rel
        self.relation(head).make_derived()
        self.producers[head].append(rule)
        cyclic = self.closes_cycle(rule)
        for i, lit in enumerate(rule.body):
            if lit.kind in (POS, NEG):
                self.relation(lit.rel)
                self.consumers[lit.rel].append((rule, i))
                self._dispatch.pop(lit.rel, None)
        if cyclic or head in self.scc_of:
            self._recompute_structure()
        else:
            lvl = max([self.level.get(lit.rel, 0) + 1 for lit in rule.body
                       if lit.kind in (POS, NEG)] or [1])
            self._raise_levels(head, lvl)
        run = Propagation(self)
        with gcpause.paused():
            self._seed_new_rule(rule, run)
            return run.run()

    def _seed_new_rule(self, rule: CRule, run: Propagation) -> None:
        head = rule.head_rel
        if head in self.scc_of:
            work = run.scc_work(self.scc_of[head])
            out: dict[Row, int] = {}
            self.plan(rule, None, False, RANKED, self.rec_positions(rule))(
                self.body_views(rule), None, 1, out)
            for row, rank in out.items():
                cur = work.seed_adds[head].get(row)
                if cur is None or rank < cur:
                    work.seed_adds[head][row] = rank
        else:
            # every count of a new rule is positive, and rows it derives that the head holds
            # already only make the head bigger: more than max_rows counts is over the limit
            counts: dict[Row, int] = {} if self.max_rows is None else \
                BoundedCounts(head, self.max_rows)
            self.plan(rule, None, False, COUNT)(self.body_views(rule), None, 1, counts)
            run.add_counts(head, dict(counts) if self.max_rows is not None else counts)

    def remove_rule(self, rule_id: Any) -> Changes:
        rule = self.rules.pop(rule_id)
        # its compiled plans are reference cycles, perhaps frozen by a batch: back into the
        # oldest generation with everything frozen (a constant-time move), where the
        # collector's next full pass finds them
        gc.unfreeze()
        head = rule.head_rel
        run = Propagation(self)
        recursive = head in self.scc_of
        if recursive:
            out: set[Row] = set()
            self.plan(rule, None, False, HEADS)(self.body_views(rule), None, 1, out)
            work = run.scc_work(self.scc_of[head])
            work.seed_dels[head] |= out
        else:
            counts: dict[Row, int] = {}
            self.plan(rule, None, False, COUNT)(self.body_views(rule), None, -1, counts)
            run.add_counts(head, counts)
        self.producers[head].remove(rule)
        for i, lit in enumerate(rule.body):
            if lit.kind in (POS, NEG):
                self.consumers[lit.rel].remove((rule, i))
                self._dispatch.pop(lit.rel, None)
        changes = run.run()
        if recursive:
            self._recompute_structure()
        if not self.producers.get(head):
            self.relation(head).make_base()
        for lit in rule.body:
            if lit.kind in (POS, NEG):
                self.drop_relation_if_unused(lit.rel)
        self.drop_relation_if_unused(head)
        return changes

    def update_facts(self, adds: dict[Key, Iterable[Row]] | None = None,
                     dels: dict[Key, Iterable[Row]] | None = None,
                     checked: bool = False) -> Changes:
        """Insert/delete explicit facts (all in one propagation pass).

        ``checked``: the caller guarantees adds are absent and dels present (replace_facts).
        """
        run = Propagation(self)
        keys = set(adds or ()) | set(dels or ())
        for key in keys:
            rel = self.relation(key)
            new = (adds or {}).get(key, ())
            gone = (dels or {}).get(key, ())
            facts = rel.facts
            if not checked:
                gone = _kept(filter, facts, gone)
                new = new if isinstance(new, (set, frozenset)) else set(new)
                if facts or not rel.is_base:
                    new = _kept(itertools.filterfalse, facts, new)
                # else all of them are new, and the set goes on whole: an empty base relation
                # takes it with the hashes the set holds (Relation.insert_set)
            if not new and not gone:
                continue
            if rel.is_base:
                run.base_changes(key, new, gone)
                continue
            rel._facts.difference_update(gone)
            rel._facts.update(new)
            run.fact_changes(key, new, gone)
        return run.run()

    def replace_facts(self, key: Key, rows: Iterable[Row]) -> Changes:
        rel = self.relation(key)
        rows = rows if isinstance(rows, (set, frozenset)) else set(rows)
        facts = rel.facts
        return self.update_facts({key: rows - facts}, {key: [r for r in facts if r not in rows]},
                                 checked=True)

    def watch(self, key: Key) -> None:
        self.watched.add(key)
        self.relation(key)

    def unwatch(self, key: Key) -> None:
        self.watched.discard(key)



def _kept(keep: Callable[..., Iterable[Row]], facts: Any, rows: Iterable[Row]) -> list[Row]:
    """``list(keep(facts.__contains__, rows))`` (filter or filterfalse), in steps of
    :data:`congress.steps.ROWS_PER_STEP` rows per C call."""
    if not facts and keep is filter:
        return []
    out: list[Row] = []
    for step in in_steps(rows):
        out.extend(keep(facts.__contains__, step) if facts else step)
    return out

def build_dispatch(consumers: Iterable[tuple[CRule, int]]) -> tuple[list, list]:
    plain: list[tuple[CRule, int]] = []
    by_positions: dict[tuple[int, ...], dict[Any, list[tuple[CRule, int]]]] = {}
    for rule, pos in consumers:
        lit = rule.body[pos]
        consts = tuple(i for i, a in enumerate(lit.args) if not a.is_variable)
        if lit.kind not in (POS, NEG) or not consts:
            plain.append((rule, pos))
            continue
        values = tuple(lit.args[i].value for i in consts)
        k = values[0] if len(values) == 1 else values
        by_positions.setdefault(consts, {}).setdefault(k, []).append((rule, pos))
    groups = [(key_function(positions), mapping) for positions, mapping in by_positions.items()]
    return plain, groups
