"""One propagation pass of a :class:`~congress.datalog.evaluation.program.Program`.

A pass takes the changes queued on it (new or removed facts, counts from a new or removed
rule) and processes relations in level order. Non-recursive relations count derivations: a
change to a relation is pushed to every rule that reads it through a *delta plan* (the rule with
the changed literal first), evaluated against the new state of relations already processed and
the old state of those not yet processed (the telescoping sum, so nothing is counted twice);
head counts crossing zero are the relation's own change. Recursive components are processed as
units (:mod:`.recursive`). The pass returns the changes of watched relations.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from typing import Any

from congress import gcpause
from congress.datalog.evaluation.codegen import COUNT, NEG, POS, CLit
from congress.datalog.evaluation.recursive import RecursiveComponents, SccWork
from congress.datalog.evaluation.relation import OverlayView

Key = Any
Row = tuple
Changes = dict[Key, tuple[set[Row], set[Row]]]


class Propagation(RecursiveComponents):
    """One propagation pass."""

    def __init__(self, prog: Any) -> None:
        self.p = prog
        self.heap: list[tuple[int, int, Any]] = []
        self.queued: set[Any] = set()
        self.counts: dict[Key, dict[Row, int]] = {}
        self.base: dict[Key, tuple[list[Row], list[Row]]] = {}
        self.scc: dict[int, SccWork] = {}
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

    def scc_work(self, sid: int) -> SccWork:
        work = self.scc.get(sid)
        if work is None:
            work = self.scc[sid] = SccWork()
            members = self.p.scc_members[sid]
            self._push(("scc", sid), self.p.level.get(members[0], 0))
        return work

    def base_changes(self, key: Key, adds: Iterable[Row], dels: Iterable[Row]) -> None:
        """Facts of a relation no rule defines: present rows change directly (no counting)."""
        pending = self.base.get(key)
        if pending is None:
            # a set of added rows is kept as it is (see _process_relation)
            self.base[key] = (adds if isinstance(adds, (set, frozenset)) else list(adds),
                              list(dels))
        else:
            if not isinstance(pending[0], list):
                pending = self.base[key] = (list(pending[0]), pending[1])
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
        with gcpause.paused():
            return self._run()

    def _run(self) -> Changes:
        heap = self.heap
        while heap:
            level, _, unit = heapq.heappop(heap)
            if not heap or heap[0][0] != level:
                self._process(unit)
                continue
            # Units of one level do not read each other, so any order is right; the smallest
            # change first is cheapest: the big one (often a table filling up) is then pushed
            # through the delta plans of the others already in their new state, while their
            # small changes join its old (often still empty) state.
            batch = [unit]
            while heap and heap[0][0] == level:
                batch.append(heapq.heappop(heap)[2])
            batch.sort(key=self._pending_size)
            for unit in batch:
                self._process(unit)
        return self.watched_changes

    def _pending_size(self, unit: Any) -> int:
        if unit[0] != "rel":
            return 0
        base = self.base.get(unit[1])
        return len(self.counts.get(unit[1], ())) + (len(base[0]) + len(base[1]) if base else 0)

    def _process(self, unit: Any) -> None:
        self.queued.discard(unit)
        if unit[0] == "rel":
            self._process_relation(unit[1])
        else:
            self.process_scc(unit[1])

    def record(self, key: Key, ins: list[Row], dels: list[Row]) -> None:
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
                if isinstance(ins_list, list):
                    rel.insert_rows(ins_list)
                else:
                    rel.insert_set(ins_list)
                    ins_list = list(ins_list)
            self.p.stats["rows_changed"] += len(ins_list) + len(dels)
            self.record(key, ins_list, dels)
            self.fanout(key, ins_list, dels, {})
            return
        deltas = self.counts.pop(key, None)
        if not deltas:
            return
        rel = self.p.relation(key)
        rows = rel.rows
        ins: dict[Row, int] = {}
        dels: list[Row] = []
        get = rows.get
        if not rows and min(deltas.values()) > 0:
            ins = deltas   # an empty relation (a new rule's first rows): all of them are new
            deltas = {}
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
        if ins and self.p.max_rows is not None:
            self.p.check_size(key, len(rows) + len(ins) - len(dels))
        if dels:
            rel.remove_many(dels)
        if ins:
            rel.insert_many(ins)
        if ins or dels:
            ins_list = list(ins)
            self.p.stats["rows_changed"] += len(ins_list) + len(dels)
            self.record(key, ins_list, dels)
            self.fanout(key, ins_list, dels, {})

    # ------------------------------------------------------------------ pushing changes
    def _old_view(self, key: Key, later: dict[Key, tuple[list[Row], list[Row]]]) -> Any:
        ins, dels = later[key]
        return OverlayView(self.p.relation(key), ins, dels)

    def fanout(self, key: Key, ins: list[Row], dels: list[Row],
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
            views = p.body_views(rule, override)
            if any(not len(views[k]) for k, other in enumerate(rule.body)
                   if other.kind == POS and k != pos):
                continue   # joins with an empty relation: nothing to derive
            counts: dict[Row, int] = {}
            if lit.kind == POS:
                fn = p.plan(rule, pos, False, COUNT)
                if r_ins:
                    fn(views, r_ins, 1, counts)
                if r_dels:
                    fn(views, r_dels, -1, counts)
            else:
                became_true, became_false = self.negation_transitions(lit, key, r_ins, r_dels)
                fn = p.plan(rule, pos, False, COUNT)
                if became_true:
                    fn(views, became_true, 1, counts)
                if became_false:
                    fn(views, became_false, -1, counts)
            if counts:
                self.add_counts(head, counts)

    def negation_transitions(self, lit: CLit, key: Key, ins: list[Row], dels: list[Row]
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
