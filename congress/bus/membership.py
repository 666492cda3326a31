"""Peers: what a node knows about the other live nodes of its bus, learnt from heartbeats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Peer:
    """A live node of the bus as its last heartbeat described it."""

    node_id: str
    instance: str
    services: frozenset[str]
    service_info: Mapping[str, dict[str, Any]]
    last_seen: float                     # time.monotonic() of the last heartbeat received
    # publisher_id -> tables the peer's services subscribe to
    subscriptions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # service_id -> (incarnation, {table: seqnum}) of what the peer's services publish
    published: Mapping[str, tuple[str, Mapping[str, int]]] = field(default_factory=dict)

    def hosts(self, service_id: str) -> bool:
        return service_id in self.services

    def advertised(self, publisher_id: str, table: str) -> tuple[str, int] | None:
        entry = self.published.get(publisher_id)
        if entry is None:
            return None
        incarnation, tables = entry
        seqnum = tables.get(table)
        return (incarnation, seqnum) if seqnum is not None else (incarnation, -1)


def peer_from_heartbeat(hb: Mapping[str, Any], now: float) -> Peer:
    """Build a Peer from a heartbeat payload (see ``Node._heartbeat_payload``)."""
    services = hb.get("services") or {}
    subs = hb.get("subs") or {}
    pubs = hb.get("pubs") or {}
    published: dict[str, tuple[str, Mapping[str, int]]] = {}
    for sid, entry in pubs.items():
        if isinstance(entry, list | tuple) and len(entry) == 2:
            published[sid] = (str(entry[0]), {str(t): int(s) for t, s in entry[1].items()})
    return Peer(
        node_id=str(hb["node_id"]),
        instance=str(hb["instance"]),
        services=frozenset(services),
        service_info={sid: (info if isinstance(info, dict) else {})
                      for sid, info in services.items()},
        last_seen=now,
        subscriptions={pub: frozenset(tables) for pub, tables in subs.items()},
        published=published,
    )


def same_view(a: Peer, b: Peer) -> bool:
    """True if a listener would see no difference between ``a`` and ``b``."""
    return (a.instance == b.instance and a.services == b.services
            and dict(a.service_info) == dict(b.service_info))
