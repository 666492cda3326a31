"""Bulk work over a big table in steps: a few rows per C call.

A single C call over 300k rows (hashing each, read in a set's order: all over memory) holds
the interpreter 50-200 ms, during which no other thread, no API request, runs. The bus and
the engine take big tables :data:`ROWS_PER_STEP` rows at a time instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

#: rows one C call takes in bulk work over a big table
ROWS_PER_STEP = 20_000


def in_steps(rows: Iterable[Any]) -> Iterator[list[Any]]:
    """``rows`` as lists of at most :data:`ROWS_PER_STEP`, each taken in one C call."""
    it = iter(rows)
    while step := list(islice(it, ROWS_PER_STEP)):
        yield step


#: big row sets known to hold tuples of one width (by id, while the set lives), noted by whoever
#: built them in steps (their rows in the order they were made, close in memory), so that a
#: reader need not visit 300k rows again in the set's order, all over memory (~20-50 ms)
_WIDTHS: dict[int, int] = {}


def note_width(rows: frozenset[Any], width: int) -> None:
    """``rows`` (a frozenset) holds tuples only, each of ``width`` values."""
    key = id(rows)
    _WIDTHS[key] = width
    weakref.finalize(rows, _WIDTHS.pop, key, None).atexit = False


def noted_width(rows: Any) -> int | None:
    """The width :func:`note_width` noted for this very set, else None."""
    return _WIDTHS.get(id(rows)) if type(rows) is frozenset else None
