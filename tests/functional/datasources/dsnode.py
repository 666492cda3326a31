"""A datasource node in a process of its own, for restart tests.

``python -m tests.functional.datasources.dsnode DB_URL KEY_DIR MODE``

* ``write``: create the datasources ``pushed`` (push, persist_data) and ``doc`` (doctor,
  persist_data), push rows into them, print ``WRITTEN`` and die at once (SIGKILL: no clean
  shutdown, as a crashed node);
* ``read``: start a datasource manager on a fresh node (it starts every datasource from the
  database), subscribe to both tables from another node's service, print one JSON line
  ``{"rows": {...}, "snapshots": {...}, "status": {...}}`` and stop.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from congress import bus, config
from congress.db import api, crypto, migration
from congress.services.datasource_manager import DatasourceManager

EVENTS = [{"time": "2024-03-08T10:00:00", "type": "compute.host.down",
           "details": {"hostname": "compute-1", "status": "down", "monitor": "zabbix",
                       "monitor_event_id": "42"}}]
ROWS = [["web-01", 1, "ACTIVE"], ["db-01", 2, "SHUTOFF"]]


class Watcher(bus.Service):
    def __init__(self) -> None:
        super().__init__("watcher")
        self.tables: dict[str, list] = {}

    def receive_data(self, publisher_id, table, update):  # noqa: ANN001, ANN201
        key = f"{publisher_id}:{table}"
        self.tables[key] = sorted(map(list, update.apply_to(
            tuple(map(tuple, self.tables.get(key, []))))))


def main() -> None:
    db_url, key_dir, mode = sys.argv[1:4]
    conf = config.new_conf()
    conf([], project="congress-dsnode")
    conf.set_override("encryption_key_path", key_dir)
    conf.set_override("datasource_sync_period", 0)
    crypto.configure(key_dir)
    db = api.Database(db_url)
    migration.ensure_schema(db)
    node = bus.Node(f"ds-{mode}-{os.getpid()}", bus_id=f"restart-{os.getpid()}",
                    heartbeat_interval=0.1)
    node.start()
    manager = DatasourceManager(node, db, conf)
    node.register_service(manager)
    if mode == "write":
        manager.create_datasource({"name": "pushed", "driver": "push",
                                   "config": {"description": "servers",
                                              "persist_data": "true"}})
        manager.create_datasource({"name": "doc", "driver": "doctor",
                                   "config": {"persist_data": "true"}})
        node.call("pushed", "replace_table", table="data", rows=ROWS)
        node.call("doc", "replace_table", table="events", rows=EVENTS)
        print("WRITTEN", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    watcher = Watcher()
    node.register_service(watcher)
    watcher.subscribe("pushed", "data")
    watcher.subscribe("doc", "events")
    deadline = time.monotonic() + 10
    while len(watcher.tables) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    out = {"rows": {"pushed": node.call("pushed", "get_rows", table="data"),
                    "doc": node.call("doc", "get_rows", table="events")},
           "snapshots": watcher.tables,
           "status": node.call("pushed", "get_status")}
    print(json.dumps(out), flush=True)
    node.stop()
    db.dispose()


if __name__ == "__main__":
    main()
