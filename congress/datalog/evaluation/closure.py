"""Transitive closure as a graph operation.

A recursive component made of one binary relation ``p`` defined by exactly

    p(x, y) :- e(x, y)
    p(x, z) :- p(x, y), e(y, z)      (or e(x, y), p(y, z), or p(x, y), p(y, z))

is the transitive closure of ``e`` (paths of one or more edges). Evaluating it rule by rule costs
one candidate derivation per (path prefix, edge) pair, and deleting an edge of a strongly
connected graph makes thousands of rows candidates for re-derivation. As a graph problem it is
much cheaper:

* from scratch: strongly connected components of ``e`` (Tarjan), then the reachable set of each
  component, sinks first, as the union of its successors' sets (set unions run in C; members of
  one component share one set);
* deleting edges: if ``v`` is still reachable from ``u`` without the deleted edges, every path that
  used ``u -> v`` has a detour and nothing changes (one breadth-first search per deleted edge);
  otherwise only sources that reached ``u`` can lose rows: their reachable sets before and after
  are compared.

Insertions are left to the general semi-naive pass, which is already proportional to the rows
they add. Nothing here knows about policies or rules beyond recognizing the shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from congress.datalog.evaluation.codegen import POS, CRule

Node = Any
Succ = Callable[[Node], Iterable[Node]]
EMPTY: frozenset = frozenset()


def closure_edge(head: Any, rules: list[CRule]) -> Any | None:
    """The edge relation ``e`` if ``rules`` (all the rules defining ``head``) make ``head`` the
    transitive closure of ``e``; else None."""
    if len(rules) != 2:
        return None
    for base, step in (rules, rules[::-1]):
        edge = _base_edge(base)
        if edge is not None and edge != head and _is_step(step, head, edge):
            return edge
    return None


def _names(args: tuple) -> list[str] | None:
    if not all(a.is_variable for a in args):
        return None
    return [a.name for a in args]


def _base_edge(rule: CRule) -> Any | None:
    """``p(x, y) :- e(x, y)`` with x, y distinct variables: returns e."""
    if len(rule.body) != 1 or len(rule.head_args) != 2:
        return None
    lit = rule.body[0]
    if lit.kind != POS or len(lit.args) != 2:
        return None
    head, body = _names(rule.head_args), _names(lit.args)
    if head is None or body is None or head[0] == head[1] or head != body:
        return None
    return lit.rel


def _is_step(rule: CRule, head: Any, edge: Any) -> bool:
    """``p(x, z) :- a(x, y), b(y, z)`` (either literal order) with a, b in {p, e}, one of them p."""
    if len(rule.body) != 2 or len(rule.head_args) != 2:
        return False
    hn = _names(rule.head_args)
    if hn is None or hn[0] == hn[1]:
        return False
    lits = rule.body
    if any(lit.kind != POS or len(lit.args) != 2 or lit.rel not in (head, edge) for lit in lits):
        return False
    if head not in (lits[0].rel, lits[1].rel):
        return False
    names = [_names(lit.args) for lit in lits]
    if names[0] is None or names[1] is None:
        return False
    x, z = hn
    for first, second in ((0, 1), (1, 0)):
        a, b = names[first], names[second]
        if a[0] == x and b[1] == z and a[1] == b[0] and a[1] not in (x, z):
            return True
    return False


def _levels(succ: Succ, start: Iterable[Node]) -> Iterable[set[Node]]:
    """Breadth-first frontiers from ``start`` (itself excluded), each a set of new nodes."""
    frontier = set(start)
    seen = set(frontier)
    while frontier:
        nxt: set[Node] = set()
        for n in frontier:
            nxt.update(succ(n))
        nxt -= seen
        seen |= nxt
        frontier = nxt
        if frontier:
            yield frontier


def reaches(succ: Succ, u: Node, v: Node) -> bool:
    """Is there a path of one or more edges from ``u`` to ``v``?"""
    first = set(succ(u))
    if v in first:
        return True
    return any(v in level for level in _levels(succ, first))


def closed_under(succ: Succ, start: Iterable[Node]) -> set[Node]:
    """``start`` and every node reachable from it."""
    out = set(start)
    for level in _levels(succ, out):
        out |= level
    return out


def components(roots: Iterable[Node], succ: Succ) -> list[list[Node]]:
    """Strongly connected components of the graph reachable from ``roots`` (Tarjan, iterative),
    in reverse topological order: a component comes after every component it reaches."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    on_stack: set[Node] = set()
    stack: list[Node] = []
    comps: list[list[Node]] = []
    counter = 0
    for root in roots:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ(root)))]
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(succ(nxt))))
                    break
                if nxt in on_stack and index[nxt] < low[node]:
                    low[node] = index[nxt]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] == index[node]:
                    members: list[Node] = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        members.append(w)
                        if w == node:
                            break
                    comps.append(members)
    return comps


def reach_sets(succ: Succ, sources: Iterable[Node]) -> dict[Node, set[Node]]:
    """Source -> the set of nodes reachable from it by one or more edges.

    Components are taken sinks first, so a component's set is the union of its successors'
    sets; all members of a component share one set: treat the sets as read-only.
    """
    sources = list(sources)
    comp_of: dict[Node, int] = {}
    sets: list[set[Node]] = []
    for members in components(sources, succ):
        sets.append(_component_set(succ, members, comp_of, sets))
        cid = len(sets) - 1
        for m in members:
            comp_of[m] = cid
    return {x: sets[comp_of[x]] for x in sources}


def _component_set(succ: Succ, members: list[Node], comp_of: dict[Node, int],
                   sets: list[set[Node]]) -> set[Node]:
    """Nodes reachable from a component whose successor components are all done."""
    member_set = set(members)
    out: set[Node] = set()
    cyclic = len(members) > 1
    merged: set[int] = set()
    for m in members:
        for t in succ(m):
            if t in member_set:
                cyclic = True
                continue
            out.add(t)
            cid = comp_of[t]
            if cid not in merged:
                merged.add(cid)
                out |= sets[cid]
    if cyclic:
        out |= member_set
    return out


def patched(adj: dict[Node, set[Node]], remove: Iterable[tuple[Node, Node]] = (),
            add: Iterable[tuple[Node, Node]] = ()) -> Succ:
    """Successor function of ``adj`` with some edges removed and others added (no copy of adj)."""
    patch: dict[Node, set[Node]] = {}
    for edges, change in ((remove, set.discard), (add, set.add)):
        for u, v in edges:
            s = patch.get(u)
            if s is None:
                s = patch[u] = set(adj.get(u, EMPTY))
            change(s, v)
    if not patch:
        return lambda n: adj.get(n, EMPTY)
    return lambda n: patch[n] if n in patch else adj.get(n, EMPTY)
