"""Heartbeats and peers: who else is on the bus, what they host, when they are gone.

Every node casts a heartbeat (its services, their publication state, its instance) on the
control topic each ``heartbeat_interval``; a peer not heard from for ``heartbeat_timeout`` is
expired, and a ``bus_goodbye`` removes it at once. Listeners hear ``joined``/``updated``/``lost``
events on one thread. :class:`Heartbeats` is a part of :class:`~congress.bus.node.Node`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from congress.bus import transport as tp
from congress.bus.membership import Peer, peer_from_heartbeat, same_view

LOG = logging.getLogger("congress.bus")

PeerListener = Callable[[str, Peer], None]


class Heartbeats:
    """Membership through heartbeats (a part of the node)."""

    # provided by Node
    node_id: str
    bus_id: str
    instance: str

    def peers(self) -> dict[str, Peer]:
        """Live peers (not this node), by node id."""
        with self._peers_lock:
            return dict(self._peers)

    def nodes_for(self, service_id: str) -> list[str]:
        """Ids of the live nodes hosting ``service_id`` (this one included)."""
        nodes = [p.node_id for p in list(self._peers.values()) if p.hosts(service_id)]
        if service_id in self._ready:
            nodes.append(self.node_id)
        return sorted(nodes)

    def add_peer_listener(self, callback: PeerListener) -> None:
        """``callback(event, peer)`` with event "joined", "lost" or "updated".

        Called on one thread per node, in order; keep it quick.
        """
        self._listeners.append(callback)

    def remove_peer_listener(self, callback: PeerListener) -> None:
        try:
            self._listeners.remove(callback)
        except ValueError:
            pass

    def wait_for_service(self, service_id: str, timeout: float = 10.0,
                         node_id: str | None = None) -> bool:
        """Wait until some node (or ``node_id``) is known to host ``service_id``."""
        deadline = time.monotonic() + timeout
        while True:
            nodes = self.nodes_for(service_id)
            if nodes and (node_id is None or node_id in nodes):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def _heartbeat_payload(self) -> dict[str, Any]:
        services: dict[str, Any] = {}
        published: dict[str, Any] = {}
        for service_id, service in list(self._services.items()):
            if service_id not in self._ready:
                continue
            try:
                info = service.heartbeat_info() or {}
            except Exception:
                LOG.exception("heartbeat_info of %s failed", service_id)
                info = {}
            services[service_id] = info
            # Every service's incarnation, even with nothing published: subscribers notice a
            # restarted publisher although it has not published anything yet.
            published[service_id] = [service.incarnation, service.published_tables()]
        return {"node_id": self.node_id, "instance": self.instance, "services": services,
                "subs": self._subs.summary(), "pubs": published}

    def _heartbeat_loop(self) -> None:
        hello_sent = False
        while not self._stop_event.is_set():
            self._wake.clear()
            try:
                payload = self._heartbeat_payload()
                sent = self._cast_control("bus_heartbeat" if hello_sent else "bus_hello",
                                          {"hb": payload}, retry=tp.FANOUT_RETRY)
                hello_sent = hello_sent or sent
                self._expire_peers()
                self._recompute_subscribers()
                self._subs.tick()
            except Exception:
                LOG.exception("heartbeat of node %s failed", self.node_id)
            self._wake.wait(self.heartbeat_interval)
            self._stop_event.wait(0.005)  # coalesce bursts of wake-ups

    def _cast_control(self, method: str, kwargs: dict[str, Any], *, retry: int) -> bool:
        """Fan-out cast on the control topic. False (and a log line) if it failed."""
        try:
            client = self._client(self._control_topic).prepare(fanout=True, retry=retry)
            if self.inprocess:
                kwargs = tp.wire_copy(kwargs)
            client.cast(self._ctxt(), method, **kwargs)
        except Exception as exc:
            if not self._send_failing:
                LOG.warning("Node %s cannot send on bus %s: %s", self.node_id, self.bus_id, exc)
                self._send_failing = True
            else:
                LOG.debug("send %s failed: %s", method, exc)
            return False
        if self._send_failing:
            LOG.info("Node %s can send on bus %s again", self.node_id, self.bus_id)
            self._send_failing = False
        return True

    def _on_heartbeat(self, hb: dict[str, Any], *, hello: bool) -> None:
        try:
            node_id, instance = hb["node_id"], hb["instance"]
        except (KeyError, TypeError):
            LOG.warning("malformed heartbeat: %r", hb)
            return
        if node_id == self.node_id:
            if instance != self.instance and instance not in self._duplicates_seen:
                self._duplicates_seen.add(instance)
                LOG.error("Another node uses our id %s on bus %s (instance %s)",
                          self.node_id, self.bus_id, str(instance)[:8])
            return
        peer = peer_from_heartbeat(hb, time.monotonic())
        self._availability.seen(peer.services)
        events: list[tuple[str, Peer]] = []
        with self._peers_lock:
            if not self._running:
                return
            old = self._peers.get(node_id)
            self._peers[node_id] = peer
        if old is None:
            events.append(("joined", peer))
        elif old.instance != peer.instance:
            events += [("lost", old), ("joined", peer)]
        elif not same_view(old, peer):
            events.append(("updated", peer))
        if events:
            self._emit(events)
            self._subs.publishers_seen(peer.services)
        if events or old is None or old.subscriptions != peer.subscriptions:
            self._recompute_subscribers()
        if hello:
            self._wake.set()

    def _on_goodbye(self, node_id: str, instance: str) -> None:
        with self._peers_lock:
            peer = self._peers.get(node_id)
            if peer is None or peer.instance != instance:
                return
            del self._peers[node_id]
        self._availability.lost(peer, time.monotonic())
        self._emit([("lost", peer)])
        self._recompute_subscribers()
        self._subs.tick()

    def _expire_peers(self) -> None:
        now = time.monotonic()
        lost = []
        with self._peers_lock:
            for node_id, peer in list(self._peers.items()):
                if now - peer.last_seen > self.heartbeat_timeout:
                    del self._peers[node_id]
                    lost.append(peer)
                    self._availability.lost(peer, now)
        if lost:
            self._emit([("lost", p) for p in lost])
            self._recompute_subscribers()

    def _emit(self, events: list[tuple[str, Peer]]) -> None:
        for event, peer in events:
            if event == "joined":
                LOG.info("Peer %s joined bus %s (instance %s, services: %s)", peer.node_id,
                         self.bus_id, peer.instance[:8], ", ".join(sorted(peer.services)))
            elif event == "lost":
                LOG.info("Peer %s (instance %s) lost from bus %s", peer.node_id,
                         peer.instance[:8], self.bus_id)
            else:
                LOG.debug("Peer %s updated: services %s", peer.node_id, sorted(peer.services))
            for callback in list(self._listeners):
                self._submit_event(callback, event, peer)

    def _submit_event(self, fn: Callable[..., Any], *args: Any) -> None:
        executor = self._events
        if executor is None:
            return

        def run() -> None:
            try:
                fn(*args)
            except Exception:
                LOG.exception("bus callback %r failed", fn)
        try:
            executor.submit(run)
        except RuntimeError:  # shut down
            pass
