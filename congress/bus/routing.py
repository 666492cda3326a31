"""Table updates between services: publishing (in order, to interested nodes only) and
subscribing (sequence-numbered updates with snapshot and gap recovery, see
:mod:`congress.bus.pubsub`). :class:`TableRouting` is a part of :class:`~congress.bus.node.Node`.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from congress import exceptions
from congress.bus import errors
from congress.bus import transport as tp
from congress.bus.context import current_caller
from congress.bus.pubsub import DataMsg
from congress.bus.service import EMPTY, Service, TableUpdate, freeze_rows

LOG = logging.getLogger("congress.bus")


class TableRouting:
    """Publishing and subscribing to tables (a part of the node)."""

    # provided by Node
    node_id: str
    bus_id: str
    instance: str

    # ================================================================== publishing
    def publish_update(self, service: Service, table: str, update: TableUpdate) -> None:
        """A local publisher changed ``table`` (called under the publisher's lock)."""
        if self._services.get(service.service_id) is not service:
            return
        msg = DataMsg(service.service_id, table, self.node_id, self.instance, update)
        if self._subs.has_local(service.service_id, table):
            self._subs.put_data(msg)
        if self._running and (service.service_id, table) in self._remote_interest:
            self._sender_queue.put(msg)
        LOG.debug("published %s:%s seq %s (%s)", service.service_id, table, update.seqnum,
                  "snapshot" if update.is_snapshot else
                  f"+{len(update.added)} -{len(update.removed)}")

    def _sender_loop(self) -> None:
        q = self._sender_queue
        while True:
            msg = q.get()
            if msg is None:
                return
            try:
                sent = self._cast_control("bus_data", {"msg": msg.to_wire()},
                                          retry=tp.FANOUT_RETRY)
            except Exception:
                LOG.exception("sending %s:%s failed", msg.publisher, msg.table)
                sent = False
            if not sent:
                # The broker is unreachable: what is queued would go out late or not at all.
                # Drop it; subscribers see the gap (or the seqnums in our heartbeats) and resync.
                dropped = 0
                while True:
                    try:
                        item = q.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        return
                    dropped += 1
                if dropped:
                    LOG.debug("dropped %d queued table updates", dropped)

    def _serve_snapshot(self, service: Service, table: Any) -> dict[str, Any]:
        if not isinstance(table, str) or not table:
            raise exceptions.BadRequest("bus.snapshot needs a table")
        caller = current_caller()
        if caller is not None and caller.node_id:
            self._note_interest(service.service_id, table, caller.node_id)
        incarnation, seqnum, rows = service.bus_snapshot(table)
        LOG.debug("snapshot of %s:%s seq %s (%d rows) for %s", service.service_id, table,
                  seqnum, len(rows), caller.node_id if caller else None)
        return {"inc": incarnation, "seq": seqnum, "rows": [list(r) for r in rows],
                "node": self.node_id, "instance": self.instance}

    def _note_interest(self, publisher_id: str, table: str, node_id: str) -> None:
        """``node_id`` fetched a snapshot: send it deltas from now on."""
        if node_id == self.node_id:
            return
        key = (publisher_id, table)
        with self._interest_lock:
            self._interest.setdefault(key, {})[node_id] = time.monotonic()
            if key not in self._remote_interest:
                self._remote_interest = self._remote_interest | {key}
        self._recompute_subscribers()

    def _recompute_subscribers(self) -> None:
        """Which local publishers' tables have subscribers; fire the hooks on changes.

        Subscribers are: local subscriptions, peers' subscriptions (from heartbeats) and nodes
        that fetched a snapshot less than ``heartbeat_timeout`` ago (their heartbeat may not
        list the subscription yet). The same set gates sending deltas to other nodes.
        """
        with self._hooks_lock:
            now = time.monotonic()
            local = set(self._ready)
            remote: set[tuple[str, str]] = set()
            for peer in list(self._peers.values()):
                for publisher_id, tables in peer.subscriptions.items():
                    remote.update((publisher_id, t) for t in tables)
            with self._interest_lock:
                for key, nodes in list(self._interest.items()):
                    for node_id, since in list(nodes.items()):
                        if now - since > self.heartbeat_timeout:
                            del nodes[node_id]
                    if nodes:
                        remote.add(key)
                    else:
                        del self._interest[key]
                self._remote_interest = frozenset(remote)
            wanted = {k for k in self._subs.pairs() if k[0] in local}
            wanted.update(k for k in remote if k[0] in local)
            added = sorted(wanted - self._subscribed)
            removed = sorted(self._subscribed - wanted)
            self._subscribed = wanted
            for publisher_id, table in added:
                LOG.debug("%s:%s has subscribers", publisher_id, table)
                self._submit_event(self._run_hook, publisher_id, "on_first_subscriber", table)
            for publisher_id, table in removed:
                LOG.debug("%s:%s has no subscribers", publisher_id, table)
                self._submit_event(self._run_hook, publisher_id, "on_no_subscribers", table)

    def _run_hook(self, publisher_id: str, hook: str, table: str) -> None:
        service = self._services.get(publisher_id)
        if service is not None:
            getattr(service, hook)(table)

    # ================================================================== subscribing
    def subscribe_table(self, subscriber_id: str, publisher_id: str, table: str) -> None:
        if self._subs.add(subscriber_id, publisher_id, table):
            LOG.debug("%s subscribes to %s:%s", subscriber_id, publisher_id, table)
            self._wake.set()
            self._recompute_subscribers()

    def unsubscribe_table(self, subscriber_id: str, publisher_id: str, table: str) -> None:
        if self._subs.remove(subscriber_id, publisher_id, table):
            LOG.debug("%s unsubscribes from %s:%s", subscriber_id, publisher_id, table)
            self._wake.set()
            self._recompute_subscribers()

    def subscriptions_of(self, subscriber_id: str) -> set[tuple[str, str]]:
        return self._subs.of(subscriber_id)

    def _on_data(self, wire: dict[str, Any]) -> None:
        try:
            if wire["n"] == self.node_id and wire["i"] == self.instance:
                return        # our own publication: local subscribers already have it
            if not self._subs.has_local(wire["p"], wire["t"]):
                return
            msg = DataMsg.from_wire(wire)
        except (KeyError, TypeError, ValueError):
            LOG.warning("malformed table update: %.200r", wire)
            return
        LOG.debug("received %s:%s seq %s from %s", msg.publisher, msg.table,
                  msg.update.seqnum, msg.node_id)
        self._subs.put_data(msg)

    def fetch_snapshot(self, publisher_id: str, table: str, hint: str | None) -> DataMsg:
        """A snapshot of ``publisher_id``'s table, preferably from node ``hint`` (blocking)."""
        service = self._services.get(publisher_id)
        if service is not None and publisher_id in self._ready and hint in (None, self.node_id):
            incarnation, seqnum, rows = service.bus_snapshot(table)
            update = TableUpdate(True, rows, EMPTY, EMPTY, seqnum, incarnation)
            return DataMsg(publisher_id, table, self.node_id, self.instance, update)
        if hint is not None and (hint == self.node_id or not self._known(publisher_id, hint)):
            hint = None
        if not self._known(publisher_id, hint) or not self._running:
            raise errors.service_not_found(publisher_id)
        reply = self._rpc(publisher_id, "bus.snapshot", {"table": table},
                          timeout=self.rpc_timeout, node_id=hint)
        update = TableUpdate(True, freeze_rows(reply["rows"]), EMPTY, EMPTY, int(reply["seq"]),
                             str(reply["inc"]))
        return DataMsg(publisher_id, table, str(reply["node"]), str(reply["instance"]), update)

    def source_status(self, publisher_id: str, table: str,
                       source: tuple[str, str] | None) -> tuple[bool, tuple[str, int] | None]:
        """Is the publisher we synced from still there, and what does it announce?"""
        if source is None:
            return False, None
        node_id, instance = source
        if node_id == self.node_id:
            service = self._services.get(publisher_id)
            if instance != self.instance or service is None or publisher_id not in self._ready:
                return False, None
            return True, (service.incarnation, service.published_tables().get(table, -1))
        peer = self._peers.get(node_id)
        if peer is None or peer.instance != instance or not peer.hosts(publisher_id):
            return False, None
        return True, peer.advertised(publisher_id, table)

    # ================================================================== test hooks
    def set_loss_filter(self, predicate: Callable[[DataMsg], bool] | None) -> None:
        """Testing: drop incoming table updates for which ``predicate(msg)`` is true."""
        self._subs.loss_filter = predicate
