"""Who is calling: the caller of the RPC handler running on this thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class CallerContext:
    """The node (and its per-start instance id) that sent the request being handled."""

    node_id: str | None
    instance: str | None


_state = threading.local()


def current_caller() -> CallerContext | None:
    """Inside an RPC handler: who called. Local direct calls report this node. Else None."""
    return getattr(_state, "caller", None)


@contextmanager
def caller_scope(caller: CallerContext | None) -> Iterator[None]:
    previous = getattr(_state, "caller", None)
    _state.caller = caller
    try:
        yield
    finally:
        _state.caller = previous
