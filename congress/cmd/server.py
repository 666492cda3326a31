"""``congress-server``: run a Congress node (all-in-one, or API/policy-engine/datasource roles).

See :data:`DESCRIPTION` and :data:`EPILOG` (what ``--help`` prints).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from oslo_config import cfg

from congress import config, exceptions
from congress.cmd import cli, logging_setup
from congress.db import migration

LOG = logging.getLogger("congress.server")

DESCRIPTION = """\
Run a Congress node: all-in-one (the default), or any of the API, policy-engine and
datasource roles of a multi-process deployment."""

EPILOG = """\
examples:
  all-in-one on its defaults (SQLite under the state directory, in-process bus,
  no authentication, http://127.0.0.1:1789):
    congress-server
  a policy-engine node with the API, and the datasource node, of a cluster:
    congress-server --config-file /etc/congress/congress.conf --api --policy-engine --node-id pe-1
    congress-server --config-file /etc/congress/congress.conf --datasources --node-id dsd

Without --config-file the first of ~/.congress/congress.conf, ~/congress.conf,
/etc/congress/congress.conf and /etc/congress.conf that exists is read; with none the server
runs all-in-one on its defaults and says so in its log."""


class BusBackend:
    """What the API calls: services on this node directly, others over the bus."""

    def __init__(self, node: Any, conf: Any, engine: Any = None) -> None:
        self.node = node
        self.conf = conf
        self.engine = engine

    def call(self, service_id: str, method: str, **kwargs: Any) -> Any:
        return self.node.call(service_id, method, prefer_local=True,
                              timeout=float(self.conf.dse.long_timeout), **kwargs)

    def wait_for_data(self, fence: dict[str, Any], timeout: float) -> bool:
        """Wait until this node's engine reflects a datasource write (see
        ``PolicyEngineService.wait_applied``); False without an engine or on timeout."""
        if self.engine is None:
            return False
        return self.engine.wait_applied(fence, timeout)

    def node_info(self) -> dict[str, Any]:
        if self.engine is not None:
            status = self.engine.status()
            status["healthy"] = bool(status.get("healthy")) and self.node.running
            return status
        return {"node_id": self.node.node_id, "policy_revision": None, "data_revision": None,
                "healthy": self.node.running}


def parse_args(argv: list[str] | None) -> cfg.ConfigOpts:
    conf = cli.new_conf()
    config.register_cli_opts(conf)
    files = cfg.find_config_files(project="congress")
    conf(argv, project="congress", prog="congress-server",
         default_config_files=files,
         usage="congress-server [--config-file FILE] [--api] [--policy-engine] "
               "[--datasources] [--node-id ID]",
         description=DESCRIPTION, epilog=EPILOG)
    return conf


def roles(conf: cfg.ConfigOpts) -> tuple[bool, bool, bool]:
    api, pe, ds = conf.api, conf.policy_engine, conf.datasources
    if not (api or pe or ds):
        return True, True, True
    return api, pe, ds


class ServerNode:
    """Everything a ``congress-server`` process runs, started and stopped in order."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.node: Any = None
        self.db: Any = None
        self.engine: Any = None
        self.api_server: Any = None
        self.stopped = threading.Event()

    def start(self) -> None:
        from congress.bus import Node
        from congress.db import api as db_api

        conf = self.conf
        api, pe, ds = roles(conf)
        node_id = conf.node_id
        if not conf.config_file:
            LOG.info("no configuration file found: running on defaults (state in %s)",
                     conf.state_path)
        LOG.info("starting node %s: roles %s", node_id,
                 ", ".join(r for r, on in (("api", api), ("policy-engine", pe),
                                           ("datasources", ds)) if on))
        self.db = db_api.Database.from_conf(conf)
        migration.ensure_schema(self.db)
        LOG.info("database %s at revision %s", self.db.safe_url, migration.current(self.db))
        self.node = Node.from_conf(conf, node_id)
        self.node.start()
        if ds:
            from congress.services.datasource_manager import DatasourceManager
            manager = DatasourceManager(
                self.node, self.db, conf,
                delete_missing_driver_datasources=conf.delete_missing_driver_datasources)
            self.node.register_service(manager)
        if pe:
            from congress.services.library import LibraryService
            from congress.services.policy_engine import PolicyEngineService
            self.engine = PolicyEngineService(self.node, self.db, conf)
            self.node.register_service(self.engine)
            self.node.register_service(LibraryService(self.db, conf))
        if api:
            from congress.api.app import create_app
            from congress.api.server import serve
            app = create_app(conf, BusBackend(self.node, conf, self.engine))
            self.api_server = serve(conf, app)
        LOG.info("node %s ready", node_id)

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        LOG.info("stopping node %s", self.conf.node_id)
        if self.api_server is not None:
            self.api_server.stop()
        if self.node is not None:
            self.node.stop()
        if self.db is not None:
            self.db.dispose()
        LOG.info("node %s stopped", self.conf.node_id)


def main(argv: list[str] | None = None) -> int:
    conf = parse_args(sys.argv[1:] if argv is None else argv)
    logging_setup.setup(conf)
    server = ServerNode(conf)

    def on_signal(signum: int, _frame: Any) -> None:
        LOG.info("received signal %d", signum)
        server.stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.start()
    except exceptions.DuplicateNodeError as e:
        LOG.error("%s", e)
        print(f"ERROR: {e}", file=sys.stderr)
        server.stop()
        return 2
    except exceptions.CongressError as e:
        LOG.error("could not start: %s", e)
        print(f"ERROR: could not start: {e}", file=sys.stderr)
        server.stop()
        return 1
    except OSError as e:
        LOG.error("could not start: %s", e)
        print(f"ERROR: could not start: {e}", file=sys.stderr)
        server.stop()
        return 1
    server.stopped.wait()
    server.stopped.clear()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
