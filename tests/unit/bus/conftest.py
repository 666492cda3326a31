"""Fixtures for bus tests on the in-process transport (short intervals, unique bus ids)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from congress.bus import Node, Service, TableUpdate

FAST = {"heartbeat_interval": 0.1, "heartbeat_timeout": 0.6, "rpc_timeout": 5.0,
        "ping_timeout": 0.5, "time_to_resub": 0.5}


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll ``predicate`` until it returns something true; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


def stop_all(nodes: list[Node]) -> None:
    threads = [threading.Thread(target=n.stop) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.fixture
def bus_id() -> str:
    return f"unit-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_node(bus_id: str) -> Iterator[Callable[..., Node]]:
    """make_node(node_id, start=True, **overrides) on this test's bus."""
    nodes: list[Node] = []

    def make(node_id: str, *, start: bool = True, **kwargs: Any) -> Node:
        options = {**FAST, "bus_id": bus_id, **kwargs}
        node = Node(node_id, **options)
        nodes.append(node)
        if start:
            node.start()
        return node

    yield make
    stop_all(nodes)


class Recorder(Service):
    """Subscriber keeping every update and the table it reconstructs per (publisher, table)."""

    def __init__(self, service_id: str) -> None:
        super().__init__(service_id)
        self.updates: list[tuple[str, str, TableUpdate]] = []
        self.tables: dict[tuple[str, str], frozenset] = {}
        self.threads: set[str] = set()
        self.concurrent = 0
        self.max_concurrent = 0
        self._lock = threading.Lock()

    def receive_data(self, publisher_id: str, table: str, update: TableUpdate) -> None:
        with self._lock:
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            self.threads.add(threading.current_thread().name)
            key = (publisher_id, table)
            self.tables[key] = update.apply_to(self.tables.get(key, frozenset()))
            self.updates.append((publisher_id, table, update))
        finally:
            with self._lock:
                self.concurrent -= 1

    def seqnums(self, publisher_id: str, table: str) -> list[tuple[bool, int]]:
        return [(u.is_snapshot, u.seqnum) for p, t, u in list(self.updates)
                if (p, t) == (publisher_id, table)]

    def table(self, publisher_id: str, table: str) -> frozenset | None:
        return self.tables.get((publisher_id, table))
