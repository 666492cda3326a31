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
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from congress.datalog.evaluation import closure
from congress.datalog.evaluation.codegen import (
    BACKWARD,
    COUNT,
    HEADS,
    NEG,
    NEW,
    POS,
    RANKED,
    CLit,
    CRule,
    chain_shape,
    generate,
    generate_chain,
)
from congress.datalog.evaluation.relation import OverlayView, Relation, key_function

Key = Any
Row = tuple
Changes = dict[Key, tuple[set[Row], set[Row]]]


class _SccWork:
    __slots__ = ("lower", "fact_adds", "fact_dels", "seed_adds", "seed_dels")

    def __init__(self) -> None:
        self.lower: list[tuple[CRule, int, list[Row], list[Row]]] = []
        self.fact_adds: dict[Key, set[Row]] = defaultdict(set)
        self.fact_dels: dict[Key, set[Row]] = defaultdict(set)
        self.seed_adds: dict[Key, dict[Row, int]] = defaultdict(dict)
        self.seed_dels: dict[Key, set[Row]] = defaultdict(set)


class Program:
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
        self._gc_depth = 0

    # ================================================================== batches
    @contextlib.contextmanager
    def paused_gc(self) -> Any:
        """Pause the cyclic garbage collector for a batch of changes (nestable).

        Loading thousands of rules or rows allocates millions of small objects; collections
        in the middle would rescan the whole (acyclic) heap again and again.
        """
        self._gc_depth += 1
        was = gc.isenabled() if self._gc_depth == 1 else False
        if was:
            gc.disable()
        try:
            yield
        finally:
            self._gc_depth -= 1
            if was:
                gc.enable()

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

    # ================================================================== dependency graph
    def _deps(self, key: Key) -> Iterable[tuple[Key, bool]]:
        for rule in self.producers.get(key, ()):
            for lit in rule.body:
                if lit.kind in (POS, NEG):
                    yield lit.rel, lit.kind == NEG

    def find_cycles(self, new_rules: Iterable[CRule] = (), removed: Iterable[Any] = ()
                    ) -> list[tuple[list[Key], bool]]:
        """Strongly connected components with a cycle, if ``new_rules`` were added.

        Returns ``[(members, has_negative_edge_inside), ...]`` for every cyclic component that
        involves a head of ``new_rules`` (all of them when ``new_rules`` is empty).
        """
        new_rules = list(new_rules)
        removed = set(removed)
        extra: dict[Key, list[tuple[Key, bool]]] = defaultdict(list)
        for r in new_rules:
            for lit in r.body:
                if lit.kind in (POS, NEG):
                    extra[r.head_rel].append((lit.rel, lit.kind == NEG))
        if new_rules:
            # fast path: a head nobody reads cannot close a cycle
            heads = {r.head_rel for r in new_rules}
            readers = {lit.rel for r in new_rules for lit in r.body if lit.kind in (POS, NEG)}
            if not any(self.consumers.get(h) for h in heads) and not (heads & readers):
                return []

        def edges(node: Key) -> list[tuple[Key, bool]]:
            out = [(b, neg) for rule in self.producers.get(node, ()) if rule.id not in removed
                   for b, neg in ((lit.rel, lit.kind == NEG) for lit in rule.body
                                  if lit.kind in (POS, NEG))]
            out.extend(extra.get(node, ()))
            return out

        nodes = set(self.producers) | set(extra)
        comps = closure.components(nodes, lambda n: [b for b, _ in edges(n)])
        out = []
        heads = {r.head_rel for r in new_rules}
        for comp in comps:
            members = set(comp)
            cyclic = len(comp) > 1 or any(b == comp[0] for b, _ in edges(comp[0]))
            if not cyclic:
                continue
            if new_rules and not (members & heads):
                continue
            neg = any(neg and b in members for m in comp for b, neg in edges(m))
            out.append((sorted(comp, key=repr), neg))
        return out

    def _recompute_structure(self) -> None:
        """Full Tarjan + levels (after a cycle appears or may have disappeared)."""
        nodes = set(self.relations) | set(self.producers)
        comps = closure.components(nodes, lambda n: [b for b, _ in self._deps(n)])
        old_scc = dict(self.scc_of)
        self.scc_of.clear()
        self.scc_members.clear()
        for comp in comps:
            cyclic = len(comp) > 1 or any(b == comp[0] for b, _ in self._deps(comp[0]))
            lvl = 0
            members = set(comp)
            for m in comp:
                for b, _ in self._deps(m):
                    if b not in members:
                        lvl = max(lvl, self.level.get(b, 0) + 1)
            for m in comp:
                self.level[m] = lvl
            if cyclic:
                sid = next(self._scc_ids)
                self.scc_members[sid] = sorted(comp, key=repr)
                for m in comp:
                    self.scc_of[m] = sid
        # relations whose recursive status changed: fix the meaning of their row values
        for key, rel in self.relations.items():
            now = key in self.scc_of
            if now and not rel.recursive:
                rel.recursive = True
                for row in rel.rows:
                    rel.rows[row] = 0 if row in rel.facts else 1
            elif not now and rel.recursive:
                rel.recursive = False
                self._recount(key)
        del old_scc

    def _recount(self, key: Key) -> None:
        rel = self.relations[key]
        counts: dict[Row, int] = {row: 1 for row in rel.facts}
        for rule in self.producers.get(key, ()):
            self._plan(rule, None, False, COUNT)(self._views(rule), None, 1, counts)
        for row in list(rel.rows):
            if row not in counts:
                rel.remove(row)  # cannot happen when the component was consistent
        for row, c in counts.items():
            if c <= 0:
                continue
            if row in rel.rows:
                rel.rows[row] = c
            else:
                rel.insert(row, c)

    def _raise_levels(self, start: Key, minimum: int) -> None:
        stack = [(start, minimum)]
        while stack:
            key, lvl = stack.pop()
            if self.level.get(key, 0) >= lvl:
                continue
            members = self.scc_members[self.scc_of[key]] if key in self.scc_of else [key]
            for m in members:
                self.level[m] = lvl
            for m in members:
                for rule, _ in self.consumers.get(m, ()):
                    h = rule.head_rel
                    if h in members:
                        continue
                    stack.append((h, lvl + 1))

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
            table = self._dispatch[key] = _build_dispatch(self.consumers.get(key, ()))
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
    def _plan(self, rule: CRule, delta: int | None, head_bound: bool, mode: str,
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

    def _views(self, rule: CRule, override: dict[int, Any] | None = None) -> list[Any]:
        views = []
        for i, lit in enumerate(rule.body):
            if override and i in override:
                views.append(override[i])
            elif lit.kind in (POS, NEG):
                views.append(self.relation(lit.rel))
            else:
                views.append(None)
        return views

    def _rec_positions(self, rule: CRule) -> frozenset[int]:
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
        cyclic = bool(self.find_cycles([rule]))
        self.producers[head].append(rule)
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
        run = _Run(self)
        with self.paused_gc():
            self._seed_new_rule(rule, run)
            return run.run()

    def _seed_new_rule(self, rule: CRule, run: _Run) -> None:
        head = rule.head_rel
        if head in self.scc_of:
            work = run.scc_work(self.scc_of[head])
            out: dict[Row, int] = {}
            self._plan(rule, None, False, RANKED, self._rec_positions(rule))(
                self._views(rule), None, 1, out)
            for row, rank in out.items():
                cur = work.seed_adds[head].get(row)
                if cur is None or rank < cur:
                    work.seed_adds[head][row] = rank
        else:
            counts: dict[Row, int] = {}
            self._plan(rule, None, False, COUNT)(self._views(rule), None, 1, counts)
            run.add_counts(head, counts)

    def remove_rule(self, rule_id: Any) -> Changes:
        rule = self.rules.pop(rule_id)
        head = rule.head_rel
        run = _Run(self)
        recursive = head in self.scc_of
        if recursive:
            out: set[Row] = set()
            self._plan(rule, None, False, HEADS)(self._views(rule), None, 1, out)
            work = run.scc_work(self.scc_of[head])
            work.seed_dels[head] |= out
        else:
            counts: dict[Row, int] = {}
            self._plan(rule, None, False, COUNT)(self._views(rule), None, -1, counts)
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
        run = _Run(self)
        keys = set(adds or ()) | set(dels or ())
        for key in keys:
            rel = self.relation(key)
            new = (adds or {}).get(key, ())
            gone = (dels or {}).get(key, ())
            facts = rel.facts
            if not checked:
                gone = [r for r in gone if r in facts]
                new = [r for r in set(new) if r not in facts]
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


class _Run:
    """One propagation pass."""

    def __init__(self, prog: Program) -> None:
        self.p = prog
        self.heap: list[tuple[int, int, Any]] = []
        self.queued: set[Any] = set()
        self.counts: dict[Key, dict[Row, int]] = {}
        self.base: dict[Key, tuple[list[Row], list[Row]]] = {}
        self.scc: dict[int, _SccWork] = {}
        self.applied: dict[Key, tuple[list[Row], list[Row]]] = {}
        self.watched_changes: Changes = {}
        self.tiebreak = itertools.count()

    # ------------------------------------------------------------------ queueing
    def _push(self, unit: Any, level: int) -> None:
        if unit not in self.queued:
            self.queued.add(unit)
            heapq.heappush(self.heap, (level, next(self.tiebreak), unit))

    def add_counts(self, key: Key, counts: dict[Row, int]) -> None:
        if not counts:
            return
        pending = self.counts.get(key)
        if pending is None:
            self.counts[key] = counts
        else:
            for row, c in counts.items():
                pending[row] = pending.get(row, 0) + c
        self._push(("rel", key), self.p.level.get(key, 0))

    def scc_work(self, sid: int) -> _SccWork:
        work = self.scc.get(sid)
        if work is None:
            work = self.scc[sid] = _SccWork()
            members = self.p.scc_members[sid]
            self._push(("scc", sid), self.p.level.get(members[0], 0))
        return work

    def base_changes(self, key: Key, adds: Iterable[Row], dels: Iterable[Row]) -> None:
        """Facts of a relation no rule defines: present rows change directly (no counting)."""
        pending = self.base.get(key)
        if pending is None:
            self.base[key] = (list(adds), list(dels))
        else:
            pending[0].extend(adds)
            pending[1].extend(dels)
        self._push(("rel", key), self.p.level.get(key, 0))

    def fact_changes(self, key: Key, adds: Iterable[Row], dels: Iterable[Row]) -> None:
        sid = self.p.scc_of.get(key)
        if sid is not None:
            work = self.scc_work(sid)
            work.fact_adds[key].update(adds)
            work.fact_dels[key].update(dels)
            return
        counts: dict[Row, int] = dict.fromkeys(adds, 1)
        for r in dels:
            counts[r] = counts.get(r, 0) - 1
        self.add_counts(key, counts)

    # ------------------------------------------------------------------ main loop
    def run(self) -> Changes:
        """Propagate everything queued; returns the changes of watched relations.

        Big changes (snapshots, new rules over large tables) allocate millions of small objects;
        CPython's cyclic collector would rescan the whole heap many times meanwhile, so it is
        paused for their duration (nothing the engine allocates forms reference cycles).
        """
        pending = sum(len(v) for v in self.counts.values()) + \
            sum(len(a) + len(d) for a, d in self.base.values())
        if pending < 2000 and not self.p.scc_members:
            return self._run()
        with self.p.paused_gc():
            return self._run()

    def _run(self) -> Changes:
        while self.heap:
            _, _, unit = heapq.heappop(self.heap)
            self.queued.discard(unit)
            if unit[0] == "rel":
                self._process_relation(unit[1])
            else:
                self._process_scc(unit[1])
        return self.watched_changes

    def _record(self, key: Key, ins: list[Row], dels: list[Row]) -> None:
        self.applied[key] = (ins, dels)
        if key in self.p.watched:
            prev = self.watched_changes.get(key)
            if prev is None:
                self.watched_changes[key] = (set(ins), set(dels))
            else:
                pi, pd = prev
                for r in ins:
                    if r in pd:
                        pd.discard(r)
                    else:
                        pi.add(r)
                for r in dels:
                    if r in pi:
                        pi.discard(r)
                    else:
                        pd.add(r)

    def _process_relation(self, key: Key) -> None:
        base = self.base.pop(key, None)
        if base is not None:
            ins_list, dels = base
            rel = self.p.relation(key)
            if dels:
                rel.remove_many(dels)
            if ins_list:
                rel.insert_many([(r, 1) for r in ins_list])
            self.p.stats["rows_changed"] += len(ins_list) + len(dels)
            self._record(key, ins_list, dels)
            self._fanout(key, ins_list, dels, {})
            return
        deltas = self.counts.pop(key, None)
        if not deltas:
            return
        rel = self.p.relation(key)
        rows = rel.rows
        ins: dict[Row, int] = {}
        dels: list[Row] = []
        get = rows.get
        for row, c in deltas.items():
            if not c:
                continue
            old = get(row)
            if old is None:
                if c < 0:
                    raise AssertionError(f"negative derivation count for {key} {row}")
                ins[row] = c
                continue
            new = old + c
            if new == 0:
                dels.append(row)
            elif new < 0:
                raise AssertionError(f"negative derivation count for {key} {row}")
            else:
                rows[row] = new
        if dels:
            rel.remove_many(dels)
        if ins:
            rel.insert_many(ins)
        if ins or dels:
            ins_list = list(ins)
            self.p.stats["rows_changed"] += len(ins_list) + len(dels)
            self._record(key, ins_list, dels)
            self._fanout(key, ins_list, dels, {})

    # ------------------------------------------------------------------ pushing changes
    def _old_view(self, key: Key, later: dict[Key, tuple[list[Row], list[Row]]]) -> Any:
        ins, dels = later[key]
        return OverlayView(self.p.relation(key), ins, dels)

    def _fanout(self, key: Key, ins: list[Row], dels: list[Row],
                later: dict[Key, tuple[list[Row], list[Row]]]) -> None:
        """Push the (already applied) change of ``key`` to the rules reading it.

        ``later``: relations already applied that must still look old to these rules (members of
        the same recursive component processed after ``key``).
        """
        p = self.p
        for rule, pos, r_ins, r_dels in p.dispatch(key, ins, dels):
            head = rule.head_rel
            sid = p.scc_of.get(head)
            if sid is not None:
                if p.scc_of.get(key) == sid:
                    continue  # inside the component: handled by its own pass
                self.scc_work(sid).lower.append((rule, pos, r_ins, r_dels))
                continue
            lit = rule.body[pos]
            override: dict[int, Any] = {}
            for k, other in enumerate(rule.body):
                if other.kind not in (POS, NEG) or k == pos:
                    continue
                if other.rel == key and k > pos:
                    override[k] = OverlayView(p.relation(key), ins, dels)
                elif other.rel in later:
                    override[k] = self._old_view(other.rel, later)
            views = p._views(rule, override)
            counts: dict[Row, int] = {}
            if lit.kind == POS:
                fn = p._plan(rule, pos, False, COUNT)
                if r_ins:
                    fn(views, r_ins, 1, counts)
                if r_dels:
                    fn(views, r_dels, -1, counts)
            else:
                became_true, became_false = self._negation_transitions(lit, key, r_ins, r_dels)
                fn = p._plan(rule, pos, False, COUNT)
                if became_true:
                    fn(views, became_true, 1, counts)
                if became_false:
                    fn(views, became_false, -1, counts)
            if counts:
                self.add_counts(head, counts)

    def _negation_transitions(self, lit: CLit, key: Key, ins: list[Row], dels: list[Row]
                              ) -> tuple[list[tuple], list[tuple]]:
        """Keys (over the negation's bound positions) whose existence flipped.

        Returns (keys now absent: the negation became true, keys now present: it became false).
        """
        keypos = lit.key_positions()
        if len(keypos) == len(lit.args):
            return list(dels), list(ins)
        rel = self.p.relation(key)
        idx = rel.index(keypos)
        now_present: list[tuple] = []
        now_absent: list[tuple] = []
        ins_keys = {tuple(r[i] for i in keypos) for r in ins}
        del_keys = {tuple(r[i] for i in keypos) for r in dels}
        old = OverlayView(rel, ins, dels).index(keypos)
        single = len(keypos) == 1
        for k in ins_keys | del_keys:
            ik = k[0] if single else k
            before = ik in old
            after = ik in idx
            if after and not before:
                now_present.append(k)
            elif before and not after:
                now_absent.append(k)
        return now_absent, now_present

    # ------------------------------------------------------------------ recursive components
    def _process_scc(self, sid: int) -> None:
        p = self.p
        work = self.scc.pop(sid)
        members = p.scc_members[sid]
        rules = [r for m in members for r in p.producers.get(m, ())]
        edge = self._closure_edge(members, rules, work)
        if edge is not None and self._closure_rebuild_needed(members[0], edge, work):
            ins, dels = self._closure_rebuild(members[0], edge)
            self._publish_net(members, {members[0]: (ins, dels)} if ins or dels else {})
            return
        if edge is not None:
            deleted = self._closure_deletions(members[0], edge)
        else:
            deleted = self._recursive_deletions(sid, members, rules, work)
        self._insert_seminaive(members, work, deleted)

    # ------------------------------------------------------------------ transitive closure
    def _closure_edge(self, members: list[Key], rules: list[CRule], work: _SccWork) -> Key | None:
        """The edge relation when the component is a plain transitive closure (closure.py)."""
        if len(members) != 1 or work.fact_adds or work.fact_dels:
            return None
        if self.p.relation(members[0]).facts:
            return None
        return closure.closure_edge(members[0], rules)

    def _closure_rebuild_needed(self, head: Key, edge: Key, work: _SccWork) -> bool:
        """Recompute from the edges: rules changed, nothing derived yet, or a big change."""
        if work.seed_adds or work.seed_dels or not self.p.relation(head).rows:
            return True
        ins, dels = self.applied.get(edge, ((), ()))
        return 4 * (len(ins) + len(dels)) > len(self.p.relation(edge).rows)

    def _closure_rebuild(self, head: Key, edge: Key) -> tuple[list[Row], list[Row]]:
        p = self.p
        succ = p.relation(edge).adjacency(0, 1)
        sets = closure.reach_sets(closure.patched(succ), list(succ))
        new: dict[Row, int] = {}
        for x, reach in sets.items():
            new.update(zip(zip(itertools.repeat(x), reach), itertools.repeat(1)))
        rel = p.relation(head)
        old = rel.rows
        if not old:
            ins = new
            dels: list[Row] = []
        else:
            dels = [r for r in old if r not in new]
            ins = {r: 1 for r in new if r not in old}
        if dels:
            rel.remove_many(dels)
        if ins:
            rel.insert_many(ins)
        p.stats["closure_rebuilds"] += 1
        return list(ins), dels

    def _closure_deletions(self, head: Key, edge: Key) -> dict[Key, set[Row]]:
        """Remove the closure rows that lost every path; insertions come after (semi-naive).

        Works on the edges without this pass's insertions (``mid``) and as they were before it
        (``old``): a deleted edge whose target is still reachable from its source in ``mid``
        changes nothing; otherwise the sources that reached the edge lose what ``mid`` no
        longer reaches from them.
        """
        p = self.p
        e_ins, e_dels = self.applied.get(edge, ((), ()))
        if not e_dels:
            return {}
        erel = p.relation(edge)
        succ = erel.adjacency(0, 1)
        mid = closure.patched(succ, remove=e_ins)
        broken = [(u, v) for u, v in e_dels if not closure.reaches(mid, u, v)]
        p.stats["closure_checks"] += len(e_dels)
        if not broken:
            return {}
        old = closure.patched(succ, remove=e_ins, add=e_dels)
        pred_old = closure.patched(erel.adjacency(1, 0), remove=[(v, u) for u, v in e_ins],
                                   add=[(v, u) for u, v in e_dels])
        sources = closure.closed_under(pred_old, {u for u, _ in broken})
        before = closure.reach_sets(old, sources)
        after = closure.reach_sets(mid, sources)
        present = p.relation(head).rows
        gone = [(x, y) for x in sources for y in before[x] - after[x] if (x, y) in present]
        if not gone:
            return {}
        p.relation(head).remove_many(gone)
        p.stats["closure_deleted"] += len(gone)
        return {head: set(gone)}

    # ------------------------------------------------------------------ general components
    def _recursive_deletions(self, sid: int, members: list[Key], rules: list[CRule],
                             work: _SccWork) -> dict[Key, set[Row]]:
        p = self.p
        cands: dict[Key, set[Row]] = defaultdict(set)
        for key, rows in work.fact_dels.items():
            rel = p.relation(key)
            cands[key] |= {r for r in rows if r in rel.rows}
        for key, rows in work.seed_dels.items():
            rel = p.relation(key)
            cands[key] |= {r for r in rows if r in rel.rows}
        for rule, pos, ins, dels in work.lower:
            lit = rule.body[pos]
            if lit.kind == POS:
                seeds = dels
            else:
                seeds = self._negation_transitions(lit, lit.rel, ins, dels)[1]
            if not seeds:
                continue
            override = {k: OverlayView(p.relation(o.rel), *self.applied[o.rel])
                        for k, o in enumerate(rule.body)
                        if o.kind in (POS, NEG) and o.rel in self.applied and k != pos}
            out: set[Row] = set()
            p._plan(rule, pos, False, HEADS)(p._views(rule, override), seeds, 1, out)
            rel = p.relation(rule.head_rel)
            cands[rule.head_rel] |= {r for r in out if r in rel.rows}
        return _BackwardForward(p, sid, members, rules).delete(cands) if cands else {}

    def _insert_seminaive(self, members: list[Key], work: _SccWork,
                          deleted: dict[Key, set[Row]]) -> None:
        p = self.p
        member_set = set(members)
        # ---- 2. insertions, semi-naively
        # rows derived in round r get rank base + r (their derivation depth in this pass)
        delta: dict[Key, dict[Row, int]] = defaultdict(dict)

        def offer_all(key: Key, rows: dict[Row, int]) -> None:
            present = p.relation(key).rows
            pending = delta[key]
            for row, rank in rows.items():
                if row in present:
                    continue
                cur = pending.get(row)
                if cur is None or rank < cur:
                    pending[row] = rank

        for key, rows in work.fact_adds.items():
            offer_all(key, dict.fromkeys(rows, 0))
        for key, rows in work.seed_adds.items():
            offer_all(key, rows)
        for rule, pos, ins, dels in work.lower:
            lit = rule.body[pos]
            seeds = ins if lit.kind == POS else self._negation_transitions(lit, lit.rel, ins,
                                                                           dels)[0]
            if not seeds:
                continue
            hrel = p.relation(rule.head_rel)
            if chain_shape(rule) is not None:
                # set-at-a-time; rank 1 is only an estimate (ranks steer proof search)
                found: set[Row] = set()
                p._plan(rule, pos, False, NEW)(p._views(rule), seeds, 1,
                                               (found, hrel.rows, hrel))
                offer_all(rule.head_rel, dict.fromkeys(found, 1))
                continue
            out: dict[Row, int] = {}
            p._plan(rule, pos, False, RANKED, p._rec_positions(rule))(
                p._views(rule), seeds, 1, out)
            offer_all(rule.head_rel, out)
        inserted: dict[Key, list[Row]] = defaultdict(list)
        base = max((r for rows in delta.values() for r in rows.values()), default=0)
        current: dict[Key, Any] = {k: v for k, v in delta.items() if v}
        rnd = 0
        while current:
            rnd += 1
            for key, rows in current.items():
                rel = p.relation(key)
                if isinstance(rows, dict):
                    rel.insert_many(rows)
                else:
                    rank = base + rnd
                    rel.insert_many([(r, rank) for r in rows])
                inserted[key].extend(rows)
            nxt: dict[Key, set[Row]] = {}
            for key, rows in current.items():
                seed = list(rows)
                for rule, pos in p.consumers.get(key, ()):
                    head = rule.head_rel
                    if head not in member_set:
                        continue
                    found = nxt.get(head)
                    if found is None:
                        found = nxt[head] = set()
                    hrel = p.relation(head)
                    p._plan(rule, pos, False, NEW)(p._views(rule), seed, 1,
                                                   (found, hrel.rows, hrel))
            current = {k: v for k, v in nxt.items() if v}
            p.stats["seminaive_rounds"] += 1

        # ---- 3. net change of each member, pushed outwards
        net: dict[Key, tuple[list[Row], list[Row]]] = {}
        for m in members:
            gone = deleted.get(m, set())
            came = inserted.get(m, [])
            came_set = set(came)
            ins = [r for r in came if r not in gone]
            dels = [r for r in gone if r not in came_set]
            if ins or dels:
                net[m] = (ins, dels)
        self._publish_net(members, net)

    def _publish_net(self, members: list[Key], net: dict[Key, tuple[list[Row], list[Row]]]
                     ) -> None:
        later = dict(net)
        for m in members:
            if m not in net:
                continue
            ins, dels = net[m]
            later.pop(m)
            self.p.stats["rows_changed"] += len(ins) + len(dels)
            self._record(m, ins, dels)
            self._fanout(m, ins, dels, later)


class _BackwardForward:
    """Which candidate rows of a recursive component lost every derivation (Motik et al. 2015).

    ``check`` searches backwards for a derivation from rows still present, depth first and trying
    low-rank (shallow) derivations first; ``prove`` saturates forwards among checked rows, so a
    row found provable proves everything checked that depends on it. A row checked and not proved
    once the search is over has no derivation: it is deleted and the rows it helped derive become
    candidates in turn.
    """

    def __init__(self, prog: Program, sid: int, members: list[Key], rules: list[CRule]) -> None:
        self.p = prog
        self.sid = sid
        self.members = set(members)
        self.checked: set[tuple[Key, Row]] = set()
        self.proved: dict[Key, Relation] = {m: Relation(m) for m in members}
        self.producers = {m: [r for r in rules if r.head_rel == m] for m in members}
        self.member_rows = {m: prog.relation(m).rows for m in members}
        self._fwd: dict[Key, list[tuple[Any, list[Any], Key]]] = {}
        # per rule: its backward plan, views and which body positions are recursive
        self._backward: dict[Any, tuple[Any, list[Any], list[Key]]] = {}
        for rule in rules:
            rec = prog._rec_positions(rule)
            self._backward[rule.id] = (prog._plan(rule, None, True, BACKWARD, rec),
                                       prog._views(rule),
                                       [lit.rel for lit in rule.body])

    def is_proved(self, fact: tuple[Key, Row]) -> bool:
        return fact[1] in self.proved[fact[0]].rows

    def delete(self, cands: dict[Key, set[Row]]) -> dict[Key, set[Row]]:
        p = self.p
        queue = [(k, r) for k, rows in cands.items() for r in rows]
        deleted: dict[Key, set[Row]] = defaultdict(set)
        while queue:
            fact = queue.pop()
            key, row = fact
            rel = p.relation(key)
            if row not in rel.rows or self.is_proved(fact):
                continue
            self.check(fact)
            if self.is_proved(fact):
                continue
            rel.remove(row)
            deleted[key].add(row)
            p.stats["bf_deleted"] += 1
            for rule, pos in p.consumers.get(key, ()):
                if rule.head_rel not in self.members:
                    continue
                out: set[Row] = set()
                p._plan(rule, pos, False, HEADS)(p._views(rule), [row], 1, out)
                hrel = p.relation(rule.head_rel)
                for h in out:
                    if h in hrel.rows and not self.is_proved((rule.head_rel, h)):
                        queue.append((rule.head_rel, h))
        return deleted

    def _instances(self, fact: tuple[Key, Row]) -> list[tuple]:
        """Derivations of ``fact`` from rows present: tuples of recursive body facts,
        shallowest (lowest rank) first."""
        key, row = fact
        found: list[tuple[int, tuple]] = []
        member_rows = self.member_rows
        for rule in self.producers.get(key, ()):
            fn, views, rels = self._backward[rule.id]
            for inst in fn(views, row):
                if not inst:
                    return [()]           # a derivation from lower strata only: done
                facts = tuple([(rels[pos], r) for pos, r in inst])
                rank = max([member_rows[k].get(r, 0) for k, r in facts])
                found.append((rank, facts))
        found.sort(key=_first)
        return [f for _, f in found]

    def check(self, root: tuple[Key, Row]) -> None:
        if root in self.checked:
            return
        self.checked.add(root)
        if root[1] in self.p.relation(root[0]).facts:
            self.prove(root)
            return
        stack = [[root, iter(self._instances(root)), None, 0]]
        p = self.p
        while stack:
            frame = stack[-1]
            fact = frame[0]
            if self.is_proved(fact):
                stack.pop()
                continue
            cur = frame[2]
            if cur is None:
                cur = next(frame[1], None)
                if cur is None:
                    stack.pop()
                    continue
                frame[2], frame[3] = cur, 0
                if not cur:            # derivation from lower strata only
                    self.prove(fact)
                    continue
            if frame[3] < len(cur):
                sub = cur[frame[3]]
                frame[3] += 1
                if self.is_proved(sub) or sub in self.checked:
                    continue
                if sub[1] not in p.relation(sub[0]).rows:
                    continue
                self.checked.add(sub)
                p.stats["bf_checked"] += 1
                if sub[1] in p.relation(sub[0]).facts:
                    self.prove(sub)
                    continue
                stack.append([sub, iter(self._instances(sub)), None, 0])
                continue
            if all(self.is_proved(s) for s in cur):
                self.prove(fact)
            frame[2] = None

    def _forward(self, key: Key) -> list[tuple[Any, list[Any], Key]]:
        """For rows of ``key`` newly proved: (plan, views over proved rows, head) per use."""
        cached = self._fwd.get(key)
        if cached is None:
            p = self.p
            cached = []
            for rule, pos in p.consumers.get(key, ()):
                if rule.head_rel not in self.members:
                    continue
                override = {k: self.proved[lit.rel] for k, lit in enumerate(rule.body)
                            if lit.kind == POS and lit.rel in self.members and k != pos}
                cached.append((p._plan(rule, pos, False, HEADS), p._views(rule, override),
                               rule.head_rel))
            self._fwd[key] = cached
        return cached

    def prove(self, fact: tuple[Key, Row]) -> None:
        work = [fact]
        checked = self.checked
        while work:
            key, row = work.pop()
            prel = self.proved[key]
            if row in prel.rows:
                continue
            prel.insert(row, self.member_rows[key].get(row, 0))
            for fn, views, head in self._forward(key):
                out: set[Row] = set()
                fn(views, (row,), 1, out)
                proved_head = self.proved[head].rows
                for h in out:
                    f = (head, h)
                    if f in checked and h not in proved_head:
                        work.append(f)


def _build_dispatch(consumers: Iterable[tuple[CRule, int]]) -> tuple[list, list]:
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


def _first(pair: tuple) -> Any:
    return pair[0]
