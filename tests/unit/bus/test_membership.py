"""Heartbeats, peers, peer events, duplicate node ids, bus isolation (in-process transport)."""

from __future__ import annotations

import threading
import time

import pytest

from congress import exceptions
from congress.bus import Node, Service

from .conftest import FAST, stop_all, wait_until


class Info(Service):
    def __init__(self, service_id: str, revision: int = 0) -> None:
        super().__init__(service_id)
        self.revision = revision

    def heartbeat_info(self):
        return {"revision": self.revision}


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, frozenset]] = []
        self.lock = threading.Lock()

    def __call__(self, event, peer) -> None:
        with self.lock:
            self.items.append((event, peer.node_id, peer.services))

    def of(self, node_id: str) -> list[str]:
        with self.lock:
            return [e for e, n, _ in self.items if n == node_id]


def test_peers_discover_each_other(make_node):
    a = make_node("a")
    events = Events()
    a.add_peer_listener(events)
    b = make_node("b")
    b.register_service(Info("svc", revision=3))
    wait_until(lambda: "b" in a.peers() and "svc" in a.peers()["b"].services)
    peer = a.peers()["b"]
    assert peer.node_id == "b" and peer.instance == b.instance
    assert peer.service_info["svc"] == {"revision": 3}
    assert peer.last_seen <= time.monotonic()
    assert a.nodes_for("svc") == ["b"] and b.nodes_for("svc") == ["b"]
    wait_until(lambda: "a" in b.peers())
    assert "a" not in a.peers()
    wait_until(lambda: events.of("b")[:1] == ["joined"])
    wait_until(lambda: "updated" in events.of("b"))


def test_service_info_updates(make_node):
    a, b = make_node("a"), make_node("b")
    svc = Info("svc")
    b.register_service(svc)
    events = Events()
    a.add_peer_listener(events)
    wait_until(lambda: a.peers().get("b") and a.peers()["b"].service_info.get("svc"))
    svc.revision = 7
    wait_until(lambda: a.peers()["b"].service_info["svc"] == {"revision": 7})
    wait_until(lambda: "updated" in events.of("b"))


def test_joining_node_asks_for_heartbeats(make_node):
    slow = {"heartbeat_interval": 30.0, "heartbeat_timeout": 60.0}
    a = make_node("a", **slow)
    a.register_service(Info("svc"))
    b = make_node("b", **slow)
    # Nobody sends a periodic heartbeat for 30 s; the greeting makes everyone answer at once.
    wait_until(lambda: b.nodes_for("svc") == ["a"], timeout=2)
    wait_until(lambda: "b" in a.peers(), timeout=2)


def test_stopped_peer_is_forgotten_at_once(make_node):
    a, b = make_node("a"), make_node("b", heartbeat_timeout=30.0)
    events = Events()
    b.add_peer_listener(events)
    wait_until(lambda: "a" in b.peers())
    a.stop()
    wait_until(lambda: "a" not in b.peers(), timeout=1)   # goodbye, not the 30 s timeout
    wait_until(lambda: events.of("a") == ["joined", "lost"])


def test_silent_peer_is_forgotten_after_timeout(make_node):
    a, b = make_node("a"), make_node("b")
    events = Events()
    b.add_peer_listener(events)
    wait_until(lambda: "a" in b.peers())
    # Simulate a crash: a's heartbeats stop without a goodbye.
    a._stop_event.set()
    a._wake.set()
    start = time.monotonic()
    wait_until(lambda: "a" not in b.peers(), timeout=3)
    elapsed = time.monotonic() - start
    assert FAST["heartbeat_timeout"] - 0.2 <= elapsed <= FAST["heartbeat_timeout"] + 1.0
    wait_until(lambda: events.of("a") == ["joined", "lost"])


def test_restarted_peer_is_lost_then_joined(make_node, bus_id):
    a = make_node("a")
    b = make_node("b", heartbeat_timeout=30.0)
    events = Events()
    b.add_peer_listener(events)
    wait_until(lambda: "a" in b.peers())
    first = a.instance
    # A crash and a quick restart: no goodbye, a new instance within the timeout.
    a._stop_event.set()
    a._wake.set()
    a2 = Node("a", **{**FAST, "bus_id": bus_id})
    with pytest.raises(exceptions.DuplicateNodeError):
        a2.start()       # the old a is still running its servers in this process
    stop_all([a])
    b._on_heartbeat({"node_id": "a", "instance": "feedbeef", "services": {}, "subs": {},
                     "pubs": {}}, hello=False)
    wait_until(lambda: b.peers()["a"].instance == "feedbeef")
    assert first != "feedbeef"
    wait_until(lambda: events.of("a") == ["joined", "lost", "joined"])


def test_duplicate_node_id_refused(make_node, bus_id):
    make_node("dup")
    twin = Node("dup", **{**FAST, "bus_id": bus_id})
    with pytest.raises(exceptions.DuplicateNodeError) as info:
        twin.start()
    assert "'dup'" in info.value.message and f"'{bus_id}'" in info.value.message
    assert not twin.running
    other_bus = Node("dup", **{**FAST, "bus_id": bus_id + "-other"})
    other_bus.start()           # the same id on another bus is fine
    other_bus.stop()


def test_node_id_reusable_after_stop(make_node, bus_id):
    first = make_node("n")
    first.stop()
    second = make_node("n")
    assert second.running


def test_buses_are_isolated(make_node, bus_id):
    a = make_node("a")
    a.register_service(Info("svc"))
    other = Node("b", **{**FAST, "bus_id": bus_id + "-x"})
    other.start()
    try:
        same = make_node("b")
        wait_until(lambda: same.nodes_for("svc") == ["a"])
        time.sleep(0.3)
        assert other.peers() == {} and "b" in a.peers() and len(a.peers()) == 1
        with pytest.raises(exceptions.ServiceNotFound):
            other.call("svc", "x")
        other.broadcast("svc", "x")          # reaches nobody, no error
    finally:
        other.stop()


def test_duplicate_heartbeat_is_logged(make_node, caplog):
    a = make_node("a")
    with caplog.at_level("ERROR", logger="congress.bus"):
        a._on_heartbeat({"node_id": "a", "instance": "other", "services": {}}, hello=False)
    assert "Another node uses our id a" in caplog.text
    assert "a" not in a.peers()
