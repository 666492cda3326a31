"""Nodes on the in-process transport, by ``(bus_id, node_id)``.

The in-process transport only reaches this process, so this registry is the whole truth about who
is on an in-process bus (a node registers itself when it starts and leaves when it stops).
"""

from __future__ import annotations

import threading
from typing import Any

NODES: dict[tuple[str, str], Any] = {}
LOCK = threading.Lock()


def hosts(bus_id: str, service_id: str, node_id: str | None) -> bool:
    """Whether a running node of ``bus_id`` (``node_id`` if given) serves ``service_id``."""
    with LOCK:
        nodes = [n for (b, nid), n in NODES.items()
                 if b == bus_id and (node_id is None or nid == node_id)]
    return any(n.running and n.serves(service_id) for n in nodes)
