"""Hash-indexed relations and read-only views of them.

A :class:`Relation` maps each present row (a tuple of str/int/float) to a number:

* in non-recursive relations, the number of derivations (explicit facts count one each), so
  incremental maintenance is a matter of adding and subtracting counts;
* in recursive relations, the *rank* of the row (0 for facts, else one more than the highest rank of
  the recursive body facts that first derived it): a cheap estimate of derivation depth used to pick
  short proofs first when checking whether a row is still derivable.

Indexes are built on demand per column tuple and kept up to date; an index maps the key (the value
itself for one column, a tuple for several) to the set of rows with that key.

Generated join code (``codegen.py``) only ever uses ``view.rows`` (membership and iteration) and
``view.index(cols)`` (``get``/``in``), so :class:`OverlayView` can present an older state of a
relation (current rows minus ``plus`` plus ``minus``) without copying it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import repeat
from operator import itemgetter
from typing import Any

from congress import gcpause, steps

Row = tuple
EMPTY: tuple = ()



def key_function(cols: tuple[int, ...]):
    """Row -> index key (a bare value for one column, a tuple for several)."""
    if len(cols) == 0:
        return lambda row: ()
    return itemgetter(*cols)


class Relation:
    __slots__ = ("key", "rows", "indexes", "_keyfns", "_facts", "recursive", "adj")

    def __init__(self, key: Any) -> None:
        self.key = key
        self.rows: dict[Row, int] = {}
        self.indexes: dict[tuple[int, ...], dict[Any, set[Row]]] = {}
        self._keyfns: dict[tuple[int, ...], Any] = {}
        # Explicit facts (inserted statements, datasource rows). None while no rule defines the
        # relation: then every row is a fact and ``rows`` alone says so (no second copy).
        self._facts: set[Row] | None = None
        self.recursive = False
        # adjacency indexes of binary relations: (key col, value col) -> {key: {values}}
        self.adj: dict[tuple[int, int], dict[Any, set[Any]]] = {}

    @property
    def is_base(self) -> bool:
        """True while no rule derives rows of this relation (rows are exactly its facts)."""
        return self._facts is None

    @property
    def facts(self):
        """The explicit facts (a set, or the rows' key view for a base relation)."""
        return self.rows.keys() if self._facts is None else self._facts

    def make_derived(self) -> None:
        """A rule now defines this relation: keep its facts apart from derived rows."""
        if self._facts is None:
            self._facts = set(self.rows)

    def make_base(self) -> None:
        """No rule defines this relation any more: its rows are exactly its facts."""
        if self._facts is not None and len(self._facts) == len(self.rows):
            self._facts = None

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Relation({self.key!r}, {len(self.rows)} rows)"

    # ------------------------------------------------------------------ indexes
    def index(self, cols: tuple[int, ...]) -> dict[Any, Any]:
        """Key -> rows with that key: a 1-tuple for a single row, a set for several."""
        idx = self.indexes.get(cols)
        if idx is None:
            fn = key_function(cols)
            # building one over a big relation allocates a bucket per key: the cyclic garbage
            # collector would meanwhile rescan everything allocated since its last run (after
            # a bulk load: millions of rows) several times over
            idx = {}
            if len(self.rows) > 10_000:
                with gcpause.paused():
                    _add_to_index(idx, fn, self.rows)
            else:
                _add_to_index(idx, fn, self.rows)
            self.indexes[cols] = idx
            self._keyfns[cols] = fn
        return idx

    def adjacency(self, kcol: int, vcol: int) -> dict[Any, set[Any]]:
        """Value of column ``kcol`` -> set of values of column ``vcol`` (set-at-a-time joins)."""
        adj = self.adj.get((kcol, vcol))
        if adj is None:
            adj = {}
            for row in self.rows:
                k = row[kcol]
                s = adj.get(k)
                if s is None:
                    adj[k] = {row[vcol]}
                else:
                    s.add(row[vcol])
            self.adj[(kcol, vcol)] = adj
        return adj

    def _adj_add(self, rows: Iterable[Row]) -> None:
        for (kc, vc), adj in self.adj.items():
            get = adj.get
            for row in rows:
                k = row[kc]
                s = get(k)
                if s is None:
                    adj[k] = {row[vc]}
                else:
                    s.add(row[vc])

    def _adj_remove(self, rows: Iterable[Row]) -> None:
        for (kc, vc), adj in self.adj.items():
            for row in rows:
                k = row[kc]
                s = adj[k]
                s.discard(row[vc])
                if not s:
                    del adj[k]

    def drop_indexes(self, adjacency: bool = True) -> None:
        """Forget the indexes (:meth:`index` rebuilds one on demand)."""
        self.indexes.clear()
        self._keyfns.clear()
        if adjacency:
            self.adj.clear()

    # ------------------------------------------------------------------ updates
    def insert(self, row: Row, value: int) -> None:
        """Add a row that is not present."""
        self.rows[row] = value
        if self.adj:
            self._adj_add((row,))
        for cols, idx in self.indexes.items():
            _add_to_index(idx, self._keyfns[cols], (row,))

    def remove(self, row: Row) -> None:
        """Remove a present row."""
        del self.rows[row]
        if self.adj:
            self._adj_remove((row,))
        for cols, idx in self.indexes.items():
            _remove_from_index(idx, self._keyfns[cols], (row,))

    def insert_many(self, items: dict[Row, int] | list[tuple[Row, int]]) -> None:
        """Add rows that are not present, with their values.

        A batch at least as big as the relation (a snapshot loaded into an empty table, a new
        rule's rows) drops the indexes instead of updating them row by row: :meth:`index`
        rebuilds one in a single pass when a plan next asks for it, and one nobody asks for
        again (e.g. an index a rule only used when it was first evaluated) costs nothing.
        """
        rows_dict = self.rows
        before = len(rows_dict)
        if isinstance(items, dict):
            rows_dict.update(items)
            new: Any = items
        else:
            new = []
            append = new.append
            for row, value in items:
                rows_dict[row] = value
                append(row)
        self._inserted(new, before)

    def insert_rows(self, rows: list[Row]) -> None:
        """``insert_many(dict.fromkeys(rows, 1))``, ``congress.steps.ROWS_PER_STEP`` rows per
        C call."""
        rows_dict = self.rows
        before = len(rows_dict)
        size = steps.ROWS_PER_STEP
        for step in range(0, len(rows), size):
            rows_dict.update(zip(rows[step:step + size], repeat(1)))
        self._inserted(rows, before)

    def insert_set(self, rows: set[Row] | frozenset[Row]) -> None:
        """Add a set of rows that are not present. Into an empty relation in one C call that
        reuses the hashes the set holds: a fresh 300k-row table in ~60 ms, where hashing each
        row again (:meth:`insert_rows`) takes 0.2-0.3 s."""
        if self.rows:
            self.insert_rows(list(rows))
            return
        self.rows = dict.fromkeys(rows, 1)
        self._inserted(rows, 0)

    def _inserted(self, new: Iterable[Row], before: int) -> None:
        """Adjacency and indexes after ``new`` rows were added to ``before`` rows."""
        if self.adj:
            self._adj_add(new)
        if not self.indexes:
            return
        if len(new) >= before:  # type: ignore[arg-type]
            self.drop_indexes(adjacency=False)
            return
        for cols, idx in self.indexes.items():
            _add_to_index(idx, self._keyfns[cols], new)

    def remove_many(self, rows: list[Row]) -> None:
        """Remove present rows (the indexes are dropped when at most as many rows remain)."""
        rows_dict = self.rows
        for row in rows:
            del rows_dict[row]
        if self.adj:
            self._adj_remove(rows)
        if len(rows) >= len(rows_dict):
            self.drop_indexes(adjacency=False)
            return
        for cols, idx in self.indexes.items():
            _remove_from_index(idx, self._keyfns[cols], rows)

    def clear(self) -> None:
        self.rows.clear()
        self.drop_indexes()


class _OverlayRows:
    __slots__ = ("base", "plus", "minus")

    def __init__(self, base: dict, plus: set, minus: set) -> None:
        self.base, self.plus, self.minus = base, plus, minus

    def __contains__(self, row: Row) -> bool:
        if row in self.minus:
            return False
        return row in self.base or row in self.plus

    def __iter__(self) -> Iterator[Row]:
        minus = self.minus
        for row in self.base:
            if row not in minus:
                yield row
        yield from self.plus

    def __len__(self) -> int:
        return len(self.base) - len(self.minus) + len(self.plus)

    def __getitem__(self, row: Row) -> int:
        if row in self.minus:
            raise KeyError(row)
        return self.base.get(row, 0)


class _OverlayIndex:
    __slots__ = ("base", "plus", "minus")

    def __init__(self, base: dict, plus: dict, minus: set) -> None:
        self.base, self.plus, self.minus = base, plus, minus

    def get(self, key: Any, default: Any = EMPTY) -> Any:
        rows = self.base.get(key)
        extra = self.plus.get(key)
        if rows is None and extra is None:
            return default
        out = {r for r in rows if r not in self.minus} if rows else set()
        if extra:
            out |= extra
        return out or default

    def __contains__(self, key: Any) -> bool:
        return bool(self.get(key, None))


class OverlayView:
    """``relation`` as it was before a change: its rows minus ``added`` plus ``removed``."""

    __slots__ = ("rel", "plus", "minus", "rows", "_indexes", "key")

    def __init__(self, rel: Relation, added: Iterable[Row], removed: Iterable[Row]) -> None:
        self.rel = rel
        self.key = rel.key
        self.minus = set(added)
        self.plus = set(removed)
        self.rows = _OverlayRows(rel.rows, self.plus, self.minus)
        self._indexes: dict[tuple[int, ...], _OverlayIndex] = {}

    def index(self, cols: tuple[int, ...]) -> _OverlayIndex:
        idx = self._indexes.get(cols)
        if idx is None:
            fn = key_function(cols)
            plus_idx: dict[Any, set[Row]] = {}
            for row in self.plus:
                plus_idx.setdefault(fn(row), set()).add(row)
            idx = _OverlayIndex(self.rel.index(cols), plus_idx, self.minus)
            self._indexes[cols] = idx
        return idx

    def __len__(self) -> int:
        return len(self.rows)


def _add_to_index(idx: dict, fn, rows) -> None:
    """Add ``rows`` to the hash index ``idx`` keyed by ``fn(row)``: a bucket holds one row as
    a 1-tuple and more as a set."""
    get = idx.get
    for row in rows:
        k = fn(row)
        bucket = get(k)
        if bucket is None:
            idx[k] = (row,)
        elif type(bucket) is tuple:
            idx[k] = {bucket[0], row}
        else:
            bucket.add(row)


def _remove_from_index(idx: dict, fn, rows) -> None:
    """Remove present ``rows`` from the hash index ``idx`` (the inverse of _add_to_index)."""
    for row in rows:
        k = fn(row)
        bucket = idx[k]
        if type(bucket) is tuple:
            del idx[k]
        else:
            bucket.discard(row)
            if len(bucket) == 1:
                idx[k] = (next(iter(bucket)),)
