"""A bus node in its own process, for functional tests and benchmarks.

    python -m tests.functional.bus.busnode '<json>'

The JSON gives node_id, bus_id, url, services (names of the test services below), options (Node
keyword arguments) and fast_reconnect. The process prints ``READY <instance>`` once started (or
``DUPLICATE <message>`` and exits 3), and stops cleanly on SIGTERM or when its stdin closes.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from typing import Any

from oslo_config import cfg

from congress import exceptions
from congress.bus import Node, Service, TableUpdate, current_caller
from congress.bus import transport as tp


class Echo(Service):
    rpc_methods = frozenset({"echo", "where", "caller", "fail", "slow", "record", "records"})

    def __init__(self, service_id: str = "echo") -> None:
        super().__init__(service_id)
        self._records: list[Any] = []

    def echo(self, value: Any) -> Any:
        return value

    def where(self) -> str:
        return self.node.node_id

    def caller(self) -> list[str | None]:
        ctx = current_caller()
        return [ctx.node_id, ctx.instance] if ctx else []

    def fail(self, message: str) -> None:
        raise exceptions.PolicyNotFound(message, position=(1, 2))

    def slow(self, seconds: float) -> str:
        time.sleep(seconds)
        return "done"

    def record(self, value: Any) -> None:
        ctx = current_caller()
        self._records.append([value, ctx.node_id if ctx else None])

    def records(self) -> list[Any]:
        return self._records


class Pub(Service):
    rpc_methods = frozenset({"publish_range", "publish_stamp", "start_ticker", "stop_ticker"})

    def __init__(self, service_id: str = "pub") -> None:
        super().__init__(service_id)
        self._ticker: threading.Thread | None = None
        self._ticking = threading.Event()
        self._tick = 0

    def publish_range(self, table: str, start: int, count: int) -> dict[str, int]:
        self.publish(table, ((i, f"name-{i}", i * 0.5) for i in range(start, start + count)))
        return {"seq": self.published_tables()[table]}

    def publish_stamp(self, table: str) -> None:
        """One row holding the wall-clock time of publication (latency measurements)."""
        self.publish(table, [(time.time(),)])

    def start_ticker(self, table: str, interval: float) -> None:
        self._ticking.set()

        def run() -> None:
            while self._ticking.is_set():
                self._tick += 1
                self.publish(table, [(self._tick,)])
                time.sleep(interval)
        self._ticker = threading.Thread(target=run, daemon=True)
        self._ticker.start()

    def stop_ticker(self) -> int:
        self._ticking.clear()
        if self._ticker is not None:
            self._ticker.join()
        return self._tick


class Sub(Service):
    rpc_methods = frozenset({"table"})

    def __init__(self, service_id: str = "sub") -> None:
        super().__init__(service_id)
        self._tables: dict[str, frozenset] = {}

    def receive_data(self, publisher_id: str, table: str, update: TableUpdate) -> None:
        key = f"{publisher_id}:{table}"
        self._tables[key] = update.apply_to(self._tables.get(key, frozenset()))

    def table(self, publisher_id: str, table: str) -> list[Any] | None:
        rows = self._tables.get(f"{publisher_id}:{table}")
        return None if rows is None else sorted(rows)


SERVICES = {"echo": Echo, "pub": Pub, "sub": Sub}


def make_conf(fast_reconnect: bool) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    tp.register_messaging_opts(conf)
    if fast_reconnect:
        for name, value in (("rabbit_retry_interval", 1), ("rabbit_retry_backoff", 0),
                            ("rabbit_interval_max", 1), ("kombu_reconnect_delay", 0.2)):
            conf.set_override(name, value, group="oslo_messaging_rabbit")
    return conf


def main() -> int:
    spec = json.loads(sys.argv[1])
    logging.basicConfig(level=spec.get("log_level", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(process)d %(threadName)s %(name)s "
                               "%(levelname)s %(message)s")
    node = Node(spec["node_id"], transport_url=spec["url"], bus_id=spec["bus_id"],
                conf=make_conf(spec.get("fast_reconnect", True)), **spec.get("options", {}))
    for name in spec.get("services", []):
        kind, _, service_id = name.partition(":")
        node.register_service(SERVICES[kind](service_id or kind))
    try:
        node.start()
    except exceptions.DuplicateNodeError as exc:
        print("DUPLICATE", exc, flush=True)
        return 3
    subscriptions = spec.get("subscribe", [])
    for subscriber, publisher, table in subscriptions:
        node.get_service(subscriber).subscribe(publisher, table)
    print("READY", node.instance, flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin() -> None:
        sys.stdin.read()
        done.set()
    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
