"""Bulk work over a big table in steps: a few rows per C call.

A single C call over 300k rows (hashing each, read in a set's order: all over memory) holds
the interpreter 50-200 ms, during which no other thread, no API request, runs. The bus and
the engine take big tables :data:`ROWS_PER_STEP` rows at a time instead.
"""

from __future__ import annotations

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
