"""Recursive components in a propagation pass: transitive closures and the general case.

A recursive component is processed as a unit. Rows that may have lost their derivations are
checked with the Backward/Forward algorithm (:mod:`.backward_forward`), then insertions run
semi-naively; rows carry a rank (an estimate of their derivation depth) so that the backward
search tries short proofs first. A component that is exactly a transitive closure (``p :- e``
plus one path-extending rule) is rebuilt from the strongly connected components of ``e`` and
checks edge deletions by reachability instead (:mod:`.closure`).

:class:`RecursiveComponents` is a part of :class:`~congress.datalog.evaluation.propagation.
Propagation` (it uses the pass's queue and records).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from congress.datalog.evaluation import closure
from congress.datalog.evaluation.backward_forward import BackwardForward
from congress.datalog.evaluation.codegen import HEADS, NEG, NEW, POS, RANKED, CRule, chain_shape
from congress.datalog.evaluation.relation import OverlayView

Key = Any
Row = tuple


class SccWork:
    """What a pass queued for one recursive component."""

    __slots__ = ("lower", "fact_adds", "fact_dels", "seed_adds", "seed_dels")

    def __init__(self) -> None:
        self.lower: list[tuple[CRule, int, list[Row], list[Row]]] = []
        self.fact_adds: dict[Key, set[Row]] = defaultdict(set)
        self.fact_dels: dict[Key, set[Row]] = defaultdict(set)
        self.seed_adds: dict[Key, dict[Row, int]] = defaultdict(dict)
        self.seed_dels: dict[Key, set[Row]] = defaultdict(set)


class RecursiveComponents:
    """The recursive-component half of a propagation pass."""

    p: Any
    scc: dict[int, Any]
    applied: dict[Key, tuple[list[Row], list[Row]]]

    def process_scc(self, sid: int) -> None:
        p = self.p
        work = self.scc.pop(sid)
        members = p.scc_members[sid]
        rules = [r for m in members for r in p.producers.get(m, ())]
        edge = self.closure_edge(members, rules, work)
        if edge is not None and self.closure_rebuild_needed(members[0], edge, work):
            ins, dels = self.closure_rebuild(members[0], edge)
            self.publish_net(members, {members[0]: (ins, dels)} if ins or dels else {})
            return
        if edge is not None:
            deleted = self.closure_deletions(members[0], edge)
        else:
            deleted = self.recursive_deletions(sid, members, rules, work)
        self.insert_seminaive(members, work, deleted)

    # ------------------------------------------------------------------ transitive closure
    def closure_edge(self, members: list[Key], rules: list[CRule], work: SccWork) -> Key | None:
        """The edge relation when the component is a plain transitive closure (closure.py)."""
        if len(members) != 1 or work.fact_adds or work.fact_dels:
            return None
        if self.p.relation(members[0]).facts:
            return None
        return closure.closure_edge(members[0], rules)

    def closure_rebuild_needed(self, head: Key, edge: Key, work: SccWork) -> bool:
        """Recompute from the edges: rules changed, nothing derived yet, or a big change."""
        if work.seed_adds or work.seed_dels or not self.p.relation(head).rows:
            return True
        ins, dels = self.applied.get(edge, ((), ()))
        return 4 * (len(ins) + len(dels)) > len(self.p.relation(edge).rows)

    def closure_rebuild(self, head: Key, edge: Key) -> tuple[list[Row], list[Row]]:
        p = self.p
        succ = p.relation(edge).adjacency(0, 1)
        sets = closure.reach_sets(closure.patched(succ), list(succ))
        new: dict[Row, int] = {}
        for x, reach in sets.items():
            new.update(zip(zip(itertools.repeat(x), reach), itertools.repeat(1)))
        rel = p.relation(head)
        if p.max_rows is not None:
            p.check_size(head, len(new))
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

    def closure_deletions(self, head: Key, edge: Key) -> dict[Key, set[Row]]:
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
    def recursive_deletions(self, sid: int, members: list[Key], rules: list[CRule],
                             work: SccWork) -> dict[Key, set[Row]]:
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
                seeds = self.negation_transitions(lit, lit.rel, ins, dels)[1]
            if not seeds:
                continue
            override = {k: OverlayView(p.relation(o.rel), *self.applied[o.rel])
                        for k, o in enumerate(rule.body)
                        if o.kind in (POS, NEG) and o.rel in self.applied and k != pos}
            out: set[Row] = set()
            p.plan(rule, pos, False, HEADS)(p.body_views(rule, override), seeds, 1, out)
            rel = p.relation(rule.head_rel)
            cands[rule.head_rel] |= {r for r in out if r in rel.rows}
        return BackwardForward(p, sid, members, rules).delete(cands) if cands else {}

    def insert_seminaive(self, members: list[Key], work: SccWork,
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
            seeds = ins if lit.kind == POS else self.negation_transitions(lit, lit.rel, ins,
                                                                           dels)[0]
            if not seeds:
                continue
            hrel = p.relation(rule.head_rel)
            if chain_shape(rule) is not None:
                # set-at-a-time; rank 1 is only an estimate (ranks steer proof search)
                found: set[Row] = set()
                p.plan(rule, pos, False, NEW)(p.body_views(rule), seeds, 1,
                                               (found, hrel.rows, hrel))
                offer_all(rule.head_rel, dict.fromkeys(found, 1))
                continue
            out: dict[Row, int] = {}
            p.plan(rule, pos, False, RANKED, p.rec_positions(rule))(
                p.body_views(rule), seeds, 1, out)
            offer_all(rule.head_rel, out)
        inserted: dict[Key, list[Row]] = defaultdict(list)
        base = max((r for rows in delta.values() for r in rows.values()), default=0)
        current: dict[Key, Any] = {k: v for k, v in delta.items() if v}
        rnd = 0
        while current:
            rnd += 1
            for key, rows in current.items():
                rel = p.relation(key)
                if p.max_rows is not None:
                    p.check_size(key, len(rel.rows) + len(rows))
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
                    p.plan(rule, pos, False, NEW)(p.body_views(rule), seed, 1,
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
        self.publish_net(members, net)

    def publish_net(self, members: list[Key], net: dict[Key, tuple[list[Row], list[Row]]]
                     ) -> None:
        later = dict(net)
        for m in members:
            if m not in net:
                continue
            ins, dels = net[m]
            later.pop(m)
            self.p.stats["rows_changed"] += len(ins) + len(dels)
            self.record(m, ins, dels)
            self.fanout(m, ins, dels, later)
