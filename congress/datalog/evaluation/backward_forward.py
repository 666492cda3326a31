"""Backward/Forward deletion (Motik et al. 2015): which rows of a recursive component lost
every derivation after a change."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from congress.datalog.evaluation.codegen import BACKWARD, HEADS, POS, CRule
from congress.datalog.evaluation.relation import Relation

Key = Any
Row = tuple


class BackwardForward:
    """Which candidate rows of a recursive component lost every derivation (Motik et al. 2015).

    ``check`` searches backwards for a derivation from rows still present, depth first and trying
    low-rank (shallow) derivations first; ``prove`` saturates forwards among checked rows, so a
    row found provable proves everything checked that depends on it. A row checked and not proved
    once the search is over has no derivation: it is deleted and the rows it helped derive become
    candidates in turn.
    """

    def __init__(self, prog: Any, sid: int, members: list[Key], rules: list[CRule]) -> None:
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
            rec = prog.rec_positions(rule)
            self._backward[rule.id] = (prog.plan(rule, None, True, BACKWARD, rec),
                                       prog.body_views(rule),
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
            # the rows it helped derive are found while it is still present: a derivation that
            # uses it in several body positions (a self-join) needs it in all of them
            for rule, pos in p.consumers.get(key, ()):
                if rule.head_rel not in self.members:
                    continue
                out: set[Row] = set()
                p.plan(rule, pos, False, HEADS)(p.body_views(rule), [row], 1, out)
                hrel = p.relation(rule.head_rel)
                for h in out:
                    if h in hrel.rows and not self.is_proved((rule.head_rel, h)):
                        queue.append((rule.head_rel, h))
            rel.remove(row)
            deleted[key].add(row)
            p.stats["bf_deleted"] += 1
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
        found.sort(key=first_item)
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
                cached.append((p.plan(rule, pos, False, HEADS), p.body_views(rule, override),
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


def first_item(pair: tuple) -> Any:
    return pair[0]
