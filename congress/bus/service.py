"""Services: the things that live on a node, call each other and publish tables."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, ClassVar, Protocol

from congress import steps

LOG = logging.getLogger(__name__)

Row = tuple[Any, ...]
Rows = frozenset[Row]
EMPTY: Rows = frozenset()
_TUPLE = {tuple}


#: rows per C call when a big row set is built or checked: between the steps other threads
#: (the API's reads) get the interpreter, where one call over a 300k-row table held it for
#: 60-70 ms


def _all_tuples(rows: frozenset[Any]) -> bool:
    it = iter(rows)
    while kinds := set(map(type, islice(it, steps.ROWS_PER_STEP))):   # (checked in C, in steps)
        if not kinds <= _TUPLE:
            return False
    return True


def frozen_in_steps(rows: Iterable[Row]) -> Rows:
    """``frozenset(rows)``, ``congress.steps.ROWS_PER_STEP`` rows per C call, so a big table
    does not hold the interpreter: the set is built from a chain of steps, whose generator runs
    Python code (a chance for other threads) between them."""
    if isinstance(rows, frozenset):
        return rows
    if isinstance(rows, (list, tuple)) and len(rows) <= steps.ROWS_PER_STEP:
        return frozenset(rows)
    kinds: set[type] = set()
    widths: set[int] = set()

    def checked() -> Iterator[list[Row]]:
        for step in steps.in_steps(rows):
            kinds.update(map(type, step))
            if kinds <= _TUPLE:     # (a row's type and length: one read of its header)
                widths.update(map(len, step))
            yield step

    out = frozenset(chain.from_iterable(checked()))
    if kinds <= _TUPLE and len(widths) == 1:
        # checked as built, in the rows' order: freeze_rows and the engine's width check
        # need not read the rows again in the set's order
        steps.note_width(out, widths.pop())
    return out


def freeze_rows(rows: Iterable[Any]) -> Rows:
    """Rows as a frozenset of tuples (lists, e.g. from JSON, become tuples)."""
    if isinstance(rows, frozenset) and (steps.noted_width(rows) is not None
                                        or _all_tuples(rows)):
        return rows
    return frozenset(tuple(r) for r in rows)


@dataclass(frozen=True)
class TableUpdate:
    """What a subscriber receives for one (publisher, table).

    A snapshot carries the whole table in ``rows`` (``added``/``removed`` empty); a delta carries
    ``added`` and ``removed`` (``rows`` None). ``seqnum`` counts the publisher's changes of the
    table within one ``incarnation`` (a publisher start); a new incarnation starts over.
    """

    is_snapshot: bool
    rows: Rows | None
    added: Rows
    removed: Rows
    seqnum: int
    incarnation: str

    def apply_to(self, current: Iterable[Row]) -> Rows:
        """The table after this update, given the table before it."""
        if self.is_snapshot:
            return self.rows or EMPTY
        return (frozenset(current) - self.removed) | self.added


class ServiceHost(Protocol):
    """What a service needs of the node it is registered on (``congress.bus.node.Node``).

    The node also offers ``call``, ``cast``, ``broadcast`` and membership queries, which
    services use to talk to each other; this protocol names only what :class:`Service`
    itself relies on.
    """

    node_id: str

    def publish_update(self, service: Service, table: str, update: TableUpdate) -> None:
        """Send ``update`` of ``service``'s ``table`` to its subscribers (in call order)."""

    def subscribe_table(self, subscriber_id: str, publisher_id: str, table: str) -> None:
        """Start delivering ``publisher_id``'s ``table`` to ``subscriber_id``."""

    def unsubscribe_table(self, subscriber_id: str, publisher_id: str, table: str) -> None:
        """Stop delivering it."""

    def subscriptions_of(self, subscriber_id: str) -> set[tuple[str, str]]:
        """(publisher_id, table) pairs delivered to ``subscriber_id``."""


class ResyncWanted(Exception):
    """Raised by ``Service.receive_data`` for a delta it cannot apply because what it holds of
    the table is not the publisher's earlier contents (it refused them): the bus then fetches
    a snapshot of the table and delivers that instead."""


class _PublishedTable:
    __slots__ = ("rows", "seqnum")

    def __init__(self, seqnum: int, rows: Rows) -> None:
        self.seqnum = seqnum
        self.rows = rows


def _change_from(state: _PublishedTable | None,
                 change: tuple[Rows, Rows, Rows] | None) -> tuple[Rows, Rows] | None:
    """``(added, removed)`` of ``change`` (``(base, added, removed)``) if it can be sent as
    it is: its base is the very rows last published (so the change is from them) and both
    parts are frozensets of tuples (as :func:`freeze_rows` leaves them); else None, and the
    change is computed."""
    if change is None or state is None or state.rows is not change[0]:
        return None
    base, added, removed = change
    if freeze_rows(added) is not added or freeze_rows(removed) is not removed:
        return None
    return added, removed


class Service:
    """Something living on a node, addressed by ``service_id``.

    Methods named in ``rpc_methods`` are callable over the bus with keyword arguments; arguments
    and return values must be JSON-able (tuples arrive as lists, dict keys as strings).
    """

    rpc_methods: ClassVar[frozenset[str] | set[str] | tuple[str, ...]] = frozenset()

    def __init__(self, service_id: str) -> None:
        if not isinstance(service_id, str) or not service_id:
            raise ValueError("service_id must be a non-empty string")
        self.service_id = service_id
        self.node: Any = None    # the ServiceHost (a Node) while registered
        self._pub_lock = threading.RLock()
        self._published: dict[str, _PublishedTable] = {}
        self._incarnation = uuid.uuid4().hex
        # (publisher_id, table) subscribed before this service was registered on a node.
        self.early_subscriptions: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.service_id}>"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Called when the service is registered on a node."""

    def stop(self) -> None:
        """Called when the service is unregistered (or its node stops)."""

    def heartbeat_info(self) -> dict[str, Any]:
        """A small JSON-able dict carried in this node's heartbeats (peers see it)."""
        return {}

    @property
    def incarnation(self) -> str:
        """Id of this publisher's current life; changes each time the service is registered."""
        return self._incarnation

    def reset_publisher(self) -> None:
        with self._pub_lock:
            self._incarnation = uuid.uuid4().hex
            self._published = {}

    # ------------------------------------------------------------------ publishing
    def publish(self, table: str, rows: Iterable[Any],
                change: tuple[Rows, Rows, Rows] | None = None) -> None:
        """Publish the full current contents of ``table``.

        The bus sends subscribers only what changed since the last publication (nothing if
        nothing changed), numbered by a per-table sequence number. The first publication of a
        table in an incarnation is sent as a snapshot.

        ``change``: ``(base, added, removed)`` when the caller knows how ``rows`` (a frozenset
        of tuples) came from the frozenset ``base``: if ``base`` is what was last published,
        the change is not computed again (two passes over a big table).
        """
        if not isinstance(table, str) or not table:
            raise ValueError("table must be a non-empty string")
        given = change is not None and isinstance(rows, frozenset)
        new_rows = rows if given else freeze_rows(rows)
        with self._pub_lock:
            state = self._published.get(table)
            added = removed = None
            known = _change_from(state, change) if given else None
            if known is not None:
                added, removed = known
            elif given:
                new_rows = freeze_rows(rows)    # the rows are checked after all
            if state is None:
                self._published[table] = _PublishedTable(0, new_rows)
                update = TableUpdate(True, new_rows, EMPTY, EMPTY, 0, self._incarnation)
            else:
                if added is None:
                    added = new_rows - state.rows
                    removed = state.rows - new_rows
                if not added and not removed:
                    return
                state.seqnum += 1
                state.rows = new_rows
                update = TableUpdate(False, None, added, removed, state.seqnum,
                                     self._incarnation)
            node = self.node
            if node is not None:
                # Under the lock: updates of a table leave in sequence order.
                node.publish_update(self, table, update)

    def get_snapshot(self, table: str) -> Iterable[Any]:
        """Current contents of ``table`` for a new subscriber. Default: the last published rows."""
        with self._pub_lock:
            state = self._published.get(table)
            return state.rows if state is not None else EMPTY

    def published_tables(self) -> dict[str, int]:
        """Tables published in this incarnation, with their current sequence numbers."""
        with self._pub_lock:
            return {table: state.seqnum for table, state in self._published.items()}

    def bus_snapshot(self, table: str) -> tuple[str, int, Rows]:
        """(incarnation, seqnum, rows) for a subscriber; starts the table at 0 if unpublished."""
        with self._pub_lock:
            state = self._published.get(table)
            if state is not None:
                return self._incarnation, state.seqnum, state.rows
        rows = freeze_rows(self.get_snapshot(table))  # outside the lock: may be slow
        with self._pub_lock:
            state = self._published.get(table)
            if state is None:
                state = self._published[table] = _PublishedTable(0, rows)
            return self._incarnation, state.seqnum, state.rows

    def on_first_subscriber(self, table: str) -> None:
        """Some service (on any node) subscribed to ``table`` of this publisher."""

    def on_no_subscribers(self, table: str) -> None:
        """The last subscriber of ``table`` went away."""

    # ------------------------------------------------------------------ subscribing
    def subscribe(self, publisher_id: str, table: str) -> None:
        """Receive ``table`` of ``publisher_id``: a snapshot, then deltas in order.

        Safe from any thread (including inside :meth:`receive_data`); returns at once. If the
        publisher is not known yet the subscription waits and is retried when it appears.
        """
        node = self.node
        if node is None:
            self.early_subscriptions.add((publisher_id, table))
            return
        node.subscribe_table(self.service_id, publisher_id, table)

    def unsubscribe(self, publisher_id: str, table: str) -> None:
        node = self.node
        if node is None:
            self.early_subscriptions.discard((publisher_id, table))
            return
        node.unsubscribe_table(self.service_id, publisher_id, table)

    def subscriptions(self) -> set[tuple[str, str]]:
        """(publisher_id, table) pairs this service subscribes to."""
        node = self.node
        if node is None:
            return set(self.early_subscriptions)
        return node.subscriptions_of(self.service_id)

    def receive_data(self, publisher_id: str, table: str, update: TableUpdate) -> None:
        """Called on the node's dispatcher thread, in order, for each subscribed table."""
        LOG.debug("%s ignores %s:%s seq %s", self.service_id, publisher_id, table, update.seqnum)
