"""Subscriber side of table publish/subscribe: ordering, gaps, resynchronisation.

Every node runs ONE dispatcher thread. Everything that changes subscription state happens on it:
new subscriptions, incoming snapshots and deltas, snapshot fetch results and the periodic check.
So a subscriber never sees two updates of a table at once, nor out of order.

Per (subscriber, publisher, table) the dispatcher keeps the publisher incarnation and the last
sequence number delivered:

* a snapshot (fetched by RPC, or broadcast as the first publication of an incarnation) replaces
  everything and sets the sequence number;
* a delta numbered last+1 is delivered, one numbered <= last is dropped, one further ahead is
  queued until the gap fills; a gap that lasts ``time_to_resub`` seconds triggers a fresh
  snapshot, and so does a publisher's heartbeat announcing a sequence number we never received
  (the last deltas before a broker outage are lost without leaving a gap);
* a delta or snapshot from a new incarnation (the publisher restarted, or moved to another node)
  triggers a fresh snapshot; messages of incarnations we moved away from are ignored;
* when the node we synced from stops hosting the publisher we fetch a snapshot from wherever the
  publisher lives now; while it lives nowhere the subscription waits, keeping its data.

Snapshot fetches run on a small thread pool (never on the dispatcher) and come back as events.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from congress import exceptions
from congress.bus.service import EMPTY, ResyncWanted, Service, TableUpdate, freeze_rows

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

LOG = logging.getLogger("congress.bus.pubsub")

Key = tuple[str, str, str]          # (subscriber_id, publisher_id, table)


@dataclass(frozen=True)
class DataMsg:
    """One update of a published table, as it travels between nodes."""

    publisher: str
    table: str
    node_id: str          # node hosting the publisher instance that sent it
    instance: str         # that node's instance id
    update: TableUpdate

    def to_wire(self) -> dict[str, Any]:
        u = self.update
        out: dict[str, Any] = {"p": self.publisher, "t": self.table, "n": self.node_id,
                               "i": self.instance, "inc": u.incarnation, "seq": u.seqnum,
                               "snap": u.is_snapshot}
        if u.is_snapshot:
            out["rows"] = [list(r) for r in (u.rows or EMPTY)]
        else:
            out["add"] = [list(r) for r in u.added]
            out["del"] = [list(r) for r in u.removed]
        return out

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> DataMsg:
        if d.get("snap"):
            update = TableUpdate(True, freeze_rows(d.get("rows") or ()), EMPTY, EMPTY,
                                 int(d["seq"]), str(d["inc"]))
        else:
            update = TableUpdate(False, None, freeze_rows(d.get("add") or ()),
                                 freeze_rows(d.get("del") or ()), int(d["seq"]), str(d["inc"]))
        return cls(str(d["p"]), str(d["t"]), str(d["n"]), str(d["i"]), update)


@dataclass
class _SubState:
    subscriber: str
    publisher: str
    table: str
    incarnation: str | None = None          # None: no snapshot yet
    last: int = -1
    source: tuple[str, str] | None = None   # (node_id, instance) we synced from
    pending: dict[tuple[str, int], DataMsg] = field(default_factory=dict)
    gap_since: float | None = None          # oldest queued delta of our incarnation
    behind_since: float | None = None       # a heartbeat announced a newer seqnum
    fetch_token: int | None = None
    next_retry: float = 0.0
    waiting_logged: bool = False
    want_snapshot: bool = False             # (re)subscribed: deliver the next fetched snapshot
    resync_wanted: bool = False             # a snapshot was asked for and not applied yet
    created: float = field(default_factory=time.monotonic)
    retired: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=16))

    @property
    def name(self) -> str:
        return f"{self.publisher}:{self.table} for {self.subscriber}"


_STOP = object()


class SubscriptionHost(Protocol):
    """What :class:`Subscriptions` needs of its node (``congress.bus.node.Node``)."""

    node_id: str
    heartbeat_interval: float
    heartbeat_timeout: float
    time_to_resub: float

    def local_service(self, service_id: str) -> Service | None:
        """The service registered on this node under ``service_id``, if any."""

    def fetch_snapshot(self, publisher_id: str, table: str, hint: str | None) -> DataMsg:
        """A snapshot of ``publisher_id``'s table, preferably from node ``hint`` (blocking)."""

    def source_status(self, publisher_id: str, table: str, source: tuple[str, str] | None
                      ) -> tuple[bool, tuple[str, int] | None]:
        """Is the publisher instance we synced from still there, and what does it announce?"""


class Subscriptions:
    """The subscriptions of the services on one node and their dispatcher thread."""

    MAX_PENDING = 10000
    FETCH_WORKERS = 8

    def __init__(self, node: SubscriptionHost) -> None:
        self._node = node
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._states: dict[Key, _SubState] = {}          # dispatcher thread only
        self._lock = threading.Lock()
        self._index: dict[tuple[str, str], set[str]] = {}  # (publisher, table) -> subscribers
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()             # _thread and _pool
        self._pool: ThreadPoolExecutor | None = None
        self._tokens = itertools.count(1)
        # Test hook: return True to drop an incoming update (simulated message loss).
        self.loss_filter: Callable[[DataMsg], bool] | None = None

    # ------------------------------------------------------------------ any thread
    def start(self) -> None:
        self._queue = queue.SimpleQueue()
        self._states = {}
        with self._thread_lock:
            self._pool = ThreadPoolExecutor(self.FETCH_WORKERS,
                                            thread_name_prefix=f"bus-{self._node.node_id}-fetch")
            self._thread = self._dispatcher()
            self._thread.start()
        with self._lock:
            keys = [(sub, pub, table) for (pub, table), subs in self._index.items()
                    for sub in subs]
        for key in keys:
            self._queue.put(("sub", key))

    def stop(self) -> None:
        with self._thread_lock:
            thread, pool = self._thread, self._pool
            self._thread = self._pool = None
        if thread is not None:
            self._queue.put(_STOP)
            if thread is not threading.current_thread():
                thread.join(timeout=10)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def renew_thread(self, wait: float = 0.0) -> None:
        """The dispatcher thread makes way for a fresh one once it gets to this in its queue
        (waiting up to ``wait`` seconds for it to end): a thread's malloc cache (blocks from
        all over a big table's freed rows, which keep their pages from being trimmed) goes
        back to the heap when the thread ends."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(("renew",))
        if wait and thread is not threading.current_thread():
            thread.join(wait)

    def _dispatcher(self) -> threading.Thread:
        return threading.Thread(target=self._run, daemon=True,
                                name=f"bus-{self._node.node_id}-dispatch")

    def add(self, subscriber: str, publisher: str, table: str) -> bool:
        """Record a subscription (and ask for a fresh snapshot). True if it is new."""
        with self._lock:
            subs = self._index.setdefault((publisher, table), set())
            new = subscriber not in subs
            subs.add(subscriber)
        self._queue.put(("sub", (subscriber, publisher, table)))
        return new

    def remove(self, subscriber: str, publisher: str, table: str) -> bool:
        with self._lock:
            subs = self._index.get((publisher, table))
            if not subs or subscriber not in subs:
                return False
            subs.discard(subscriber)
            if not subs:
                del self._index[(publisher, table)]
        self._queue.put(("unsub", (subscriber, publisher, table)))
        return True

    def remove_all(self, subscriber: str) -> set[tuple[str, str]]:
        removed = self.of(subscriber)
        for publisher, table in removed:
            self.remove(subscriber, publisher, table)
        return removed

    def of(self, subscriber: str) -> set[tuple[str, str]]:
        with self._lock:
            return {key for key, subs in self._index.items() if subscriber in subs}

    def has_local(self, publisher: str, table: str) -> bool:
        return bool(self._index.get((publisher, table)))

    def pairs(self) -> list[tuple[str, str]]:
        """(publisher, table) pairs subscribed on this node."""
        with self._lock:
            return list(self._index)

    def summary(self) -> dict[str, list[str]]:
        """publisher -> tables subscribed on this node (for heartbeats)."""
        out: dict[str, list[str]] = {}
        with self._lock:
            for publisher, table in self._index:
                out.setdefault(publisher, []).append(table)
        for tables in out.values():
            tables.sort()
        return out

    def put_data(self, msg: DataMsg) -> None:
        loss = self.loss_filter
        if loss is not None and loss(msg):
            LOG.debug("test hook dropped %s:%s seq %s", msg.publisher, msg.table,
                      msg.update.seqnum)
            return
        self._queue.put(("data", msg))

    def tick(self) -> None:
        self._queue.put(("tick",))

    def publishers_seen(self, publishers: Iterable[str]) -> None:
        self._queue.put(("seen", frozenset(publishers)))

    # ------------------------------------------------------------------ dispatcher thread
    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is _STOP:
                return
            if event[0] == "renew":
                with self._thread_lock:
                    if self._thread is threading.current_thread():     # else: stopping
                        self._thread = self._dispatcher()
                        self._thread.start()
                        return
                continue
            try:
                getattr(self, "_ev_" + event[0])(*event[1:])
            except Exception:
                LOG.exception("bus dispatcher of node %s failed on a %s event",
                              self._node.node_id, event[0])

    def _ev_sub(self, key: Key) -> None:
        subscriber, publisher, table = key
        with self._lock:
            present = subscriber in self._index.get((publisher, table), ())
        if not present:
            return
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _SubState(subscriber, publisher, table)
            LOG.debug("subscription %s added", state.name)
        state.next_retry = 0.0
        state.want_snapshot = True
        self._fetch(state, reason=None)

    def _ev_unsub(self, key: Key) -> None:
        subscriber, publisher, table = key
        with self._lock:
            present = subscriber in self._index.get((publisher, table), ())
        if not present:
            self._states.pop(key, None)

    def _ev_data(self, msg: DataMsg) -> None:
        with self._lock:
            subscribers = sorted(self._index.get((msg.publisher, msg.table), ()))
        for subscriber in subscribers:
            state = self._states.get((subscriber, msg.publisher, msg.table))
            if state is not None:
                self._handle(state, msg)

    def _handle(self, st: _SubState, msg: DataMsg) -> None:
        u = msg.update
        if u.incarnation in st.retired:
            return
        if st.incarnation is None:
            if u.is_snapshot:
                self._apply_snapshot(st, msg)
            else:
                self._buffer(st, msg)
                self._fetch(st, hint=msg.node_id, reason=None)
            return
        if u.incarnation != st.incarnation:
            source = self._live_source(st)
            if source is not None and msg.node_id != source:
                LOG.debug("%s: ignoring instance on node %s, synced from live node %s",
                          st.name, msg.node_id, source)
                return
            if u.is_snapshot:
                self._apply_snapshot(st, msg)
            else:
                self._buffer(st, msg)
                self._fetch(st, hint=msg.node_id, reason="publisher has a new incarnation")
            return
        if u.is_snapshot:
            if u.seqnum > st.last:
                self._apply_snapshot(st, msg)
            return
        if u.seqnum <= st.last:
            return
        if u.seqnum == st.last + 1:
            self._deliver(st, msg)
            st.last = u.seqnum
            st.behind_since = None
            self._drain(st)
            return
        self._buffer(st, msg)

    def _live_source(self, st: _SubState) -> str | None:
        """The node we synced from, if it is still there. (With two instances of one
        publisher, e.g. while a datasource node takes over, we stay with ours while it lives.)"""
        if st.source is None:
            return None
        alive, _ = self._node.source_status(st.publisher, st.table, st.source)
        return st.source[0] if alive else None

    def _buffer(self, st: _SubState, msg: DataMsg) -> None:
        st.pending[(msg.update.incarnation, msg.update.seqnum)] = msg
        if msg.update.incarnation == st.incarnation and st.gap_since is None:
            st.gap_since = time.monotonic()
            LOG.debug("%s: gap after seq %s (got %s)", st.name, st.last, msg.update.seqnum)
        if len(st.pending) > self.MAX_PENDING:
            LOG.warning("%s: too many queued updates; resyncing", st.name)
            st.pending.clear()
            st.gap_since = None
            self._fetch(st, reason="too many queued updates")

    def _drain(self, st: _SubState) -> None:
        while True:
            msg = st.pending.pop((st.incarnation, st.last + 1), None)
            if msg is None:
                break
            self._deliver(st, msg)
            st.last += 1
        for key in [k for k in st.pending if k[0] == st.incarnation and k[1] <= st.last]:
            del st.pending[key]
        if any(k[0] == st.incarnation for k in st.pending):
            if st.gap_since is None:
                st.gap_since = time.monotonic()
        else:
            st.gap_since = None

    def _apply_snapshot(self, st: _SubState, msg: DataMsg) -> None:
        u = msg.update
        if st.incarnation is not None and st.incarnation != u.incarnation:
            st.retired.append(st.incarnation)
            LOG.info("Resynced %s: publisher incarnation changed (%s on node %s, seq %s)",
                     st.name, u.incarnation[:8], msg.node_id, u.seqnum)
        elif st.incarnation is not None:
            LOG.info("Resynced %s at seq %s (was at %s)", st.name, u.seqnum, st.last)
        st.incarnation = u.incarnation
        st.last = u.seqnum
        st.source = (msg.node_id, msg.instance)
        st.behind_since = None
        st.waiting_logged = False
        st.want_snapshot = False
        st.resync_wanted = False
        st.pending = {k: v for k, v in st.pending.items()
                      if k[0] == st.incarnation and k[1] > st.last}
        st.gap_since = None
        self._deliver(st, msg)
        self._drain(st)

    def _deliver(self, st: _SubState, msg: DataMsg) -> None:
        service = self._node.local_service(st.subscriber)
        if service is None:
            return
        LOG.debug("deliver %s %s seq %s", st.name,
                  "snapshot" if msg.update.is_snapshot else "delta", msg.update.seqnum)
        try:
            service.receive_data(st.publisher, st.table, msg.update)
        except ResyncWanted as e:
            st.want_snapshot = True
            self._fetch(st, hint=msg.node_id, reason=str(e) or "the subscriber asked for it")
        except Exception:
            LOG.exception("%s failed to receive %s:%s seq %s", st.subscriber, st.publisher,
                          st.table, msg.update.seqnum)

    def _fetch(self, st: _SubState, *, hint: str | None = None, reason: str | None) -> None:
        """Ask the publisher for a snapshot (unless a request is already out)."""
        if st.fetch_token is not None or self._pool is None:
            return
        if reason:
            LOG.info("Resyncing %s: %s", st.name, reason)
        token = next(self._tokens)
        st.fetch_token = token
        st.resync_wanted = True
        key = (st.subscriber, st.publisher, st.table)
        try:
            self._pool.submit(self._fetch_job, key, token, hint)
        except RuntimeError:        # pool shut down: node stopping
            st.fetch_token = None

    def _fetch_job(self, key: Key, token: int, hint: str | None) -> None:
        _, publisher, table = key
        try:
            msg = self._node.fetch_snapshot(publisher, table, hint)
        except Exception as exc:
            self._queue.put(("snap", key, token, None, exc))
        else:
            self._queue.put(("snap", key, token, msg, None))

    def _ev_snap(self, key: Key, token: int, msg: DataMsg | None,
                 error: BaseException | None) -> None:
        st = self._states.get(key)
        if st is None or st.fetch_token != token:
            return
        st.fetch_token = None
        now = time.monotonic()
        if error is not None or msg is None:
            if isinstance(error, exceptions.ServiceNotFound):
                st.next_retry = now + self._node.heartbeat_interval
                if st.waiting_logged or now - st.created < self._node.heartbeat_timeout:
                    LOG.debug("Subscription %s: publisher not found (yet)", st.name)
                else:
                    LOG.info("Subscription %s waits for its publisher to appear", st.name)
                    st.waiting_logged = True
            else:
                st.next_retry = now + self._node.time_to_resub
                LOG.warning("Could not get a snapshot of %s: %s", st.name, error)
            return
        u = msg.update
        if u.incarnation in st.retired:
            st.next_retry = now + self._node.heartbeat_interval
            return
        source = self._live_source(st) if st.incarnation not in (None, u.incarnation) else None
        if source is not None and msg.node_id != source:
            # asked while our source seemed gone (not heard from yet), answered by the other
            # instance: stay; a resync still wanted asks our source on the next tick
            LOG.debug("%s: ignoring a snapshot from node %s, synced from live node %s",
                      st.name, msg.node_id, source)
            return
        if st.incarnation == u.incarnation:
            if u.seqnum < st.last:          # stale answer: we are further already
                if st.want_snapshot:
                    self._fetch(st, hint=msg.node_id, reason=None)
                return
            if u.seqnum == st.last and not st.want_snapshot:
                st.resync_wanted = False
                self._drain(st)
                return
        self._apply_snapshot(st, msg)

    def _ev_seen(self, publishers: frozenset[str]) -> None:
        for st in self._states.values():
            if st.publisher in publishers:
                st.next_retry = 0.0
        self._ev_tick()

    def _ev_tick(self) -> None:
        now = time.monotonic()
        resub = self._node.time_to_resub
        for st in list(self._states.values()):
            if st.fetch_token is not None or now < st.next_retry:
                continue
            if st.incarnation is None or st.resync_wanted:     # retry a failed fetch
                self._fetch(st, hint=self._live_source(st), reason=None)
                continue
            alive, advertised = self._node.source_status(st.publisher, st.table, st.source)
            if not alive:
                self._fetch(st, reason=None if st.waiting_logged else
                            f"publisher no longer on node {st.source and st.source[0]}")
                continue
            if advertised is not None:
                incarnation, seqnum = advertised
                if incarnation != st.incarnation and incarnation not in st.retired:
                    self._fetch(st, hint=st.source[0] if st.source else None,
                                reason="publisher restarted")
                    continue
                if incarnation == st.incarnation:
                    if seqnum > st.last:
                        if st.behind_since is None:
                            st.behind_since = now
                    else:
                        st.behind_since = None
            since = [t for t in (st.gap_since, st.behind_since) if t is not None]
            if since and now - min(since) >= resub:
                what = "gap in sequence" if st.gap_since is not None else "missed updates"
                self._fetch(st, hint=st.source[0] if st.source else None,
                            reason=f"{what} for {now - min(since):.1f}s after seq {st.last}")
