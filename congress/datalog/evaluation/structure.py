"""The dependency graph of a program: levels of relations and its recursive components.

Relations are ordered by *level*, a topological order of the graph "head depends on body
relation" (the members of a recursive strongly connected component share one level), so that a
propagation pass processes every relation after everything it reads. Levels are maintained
incrementally as rules come and go; a full Tarjan pass only runs when a rule closes or may open
a cycle. :class:`DependencyGraph` is a part of :class:`~congress.datalog.evaluation.program.
Program` (it reads the program's producers and consumers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from congress.datalog.evaluation import closure
from congress.datalog.evaluation.codegen import COUNT, NEG, POS, CRule

Key = Any
Row = tuple


class DependencyGraph:
    """Levels and recursive components (``level``, ``scc_of``, ``scc_members``) of the
    relations of a :class:`~congress.datalog.evaluation.program.Program`."""

    producers: dict[Key, list[CRule]]
    consumers: dict[Key, list[tuple[CRule, int]]]
    level: dict[Key, int]
    scc_of: dict[Key, int]
    scc_members: dict[int, list[Key]]
    relations: dict[Key, Any]
    plan: Callable[..., Callable]
    body_views: Callable[..., list[Any]]

    def _deps(self, key: Key) -> Iterable[tuple[Key, bool]]:
        for rule in self.producers.get(key, ()):
            for lit in rule.body:
                if lit.kind in (POS, NEG):
                    yield lit.rel, lit.kind == NEG

    def closes_cycle(self, rule: CRule) -> bool:
        """Is the head of ``rule`` (already among the producers) on a cycle? A walk of what
        the head depends on, stopping at the head: the same answer as a non-empty
        ``find_cycles([rule])`` taken before ``rule`` joined the producers, without a pass
        over the whole graph for every rule added."""
        head = rule.head_rel
        if not self.consumers.get(head) and not any(
                lit.rel == head for lit in rule.body if lit.kind in (POS, NEG)):
            return False        # nothing reads the head: no path comes back to it
        seen: set[Key] = set()
        todo = [head]
        while todo:
            for body_rel, _neg in self._deps(todo.pop()):
                if body_rel == head:
                    return True
                if body_rel not in seen:
                    seen.add(body_rel)
                    todo.append(body_rel)
        return False

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
            self.plan(rule, None, False, COUNT)(self.body_views(rule), None, 1, counts)
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
