"""``congress-server``: run a Congress node (all-in-one, or API/policy-engine/datasource roles).

See :data:`DESCRIPTION` and :data:`EPILOG` (what ``--help`` prints).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from oslo_config import cfg

from congress import config, exceptions, gcpause
from congress.cmd import allocator, cli, logging_setup, sdnotify
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

As a systemd service (Type=notify) it reports READY=1 once the API listens and the bus is
joined, sends watchdog keep-alives while healthy, drains in-flight API requests on SIGTERM
and re-reads its configuration files on SIGHUP (log levels: debug).

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


SERVER_CLI_OPTS = [
    cfg.IntOpt("instance", min=1, max=65535 - 1789,
               help="Instance N of a policy-engine node (the N of congress-pe@N). Changes the "
                    "defaults: node id <hostname>-peN and API port 1789+N; and reads "
                    "congress-pe@N.conf next to the last configuration file (by default "
                    "/etc/congress/congress-pe@N.conf) after the others, if it exists."),
    cfg.StrOpt("status-file",
               help="Write this node's health as JSON to this file every second (what the "
                    "congress-datasource Pacemaker agent's monitor reads): node_id, pid, "
                    "healthy, bus (messages go out on the bus), time."),
    cfg.FloatOpt("drain-timeout", default=20.0, min=0.0,
                 help="On SIGTERM, seconds to wait for in-flight API requests to finish "
                      "before the API and the bus are stopped."),
]


def _new_conf() -> cfg.ConfigOpts:
    conf = cli.new_conf()
    config.register_cli_opts(conf)
    conf.register_cli_opts(SERVER_CLI_OPTS)
    return conf


def _parse(conf: cfg.ConfigOpts, argv: list[str], files: list[str]) -> None:
    conf(argv, project="congress", prog="congress-server",
         default_config_files=files,
         usage="congress-server [--config-file FILE] [--api] [--policy-engine] "
               "[--datasources] [--node-id ID] [--instance N]",
         description=DESCRIPTION, epilog=EPILOG)


def instance_config_file(conf: cfg.ConfigOpts) -> str:
    """Where the per-instance file of ``--instance N`` is looked for."""
    files = list(conf.config_file or [])
    directory = os.path.dirname(os.path.abspath(files[-1])) if files else "/etc/congress"
    return os.path.join(directory, f"congress-pe@{conf.instance}.conf")


def parse_args(argv: list[str] | None) -> cfg.ConfigOpts:
    argv = list(sys.argv[1:] if argv is None else argv)
    files = cfg.find_config_files(project="congress")
    conf = _new_conf()
    _parse(conf, argv, files)
    if conf.instance:
        extra = instance_config_file(conf)
        if os.path.exists(extra):
            # right after the last file: oslo.config lets what comes later in argv win, and
            # the command line must keep beating the files
            at = [i + (1 if a == "--config-file" else 0) for i, a in enumerate(argv)
                  if a == "--config-file" or a.startswith("--config-file=")]
            if at:
                argv = argv[:at[-1] + 1] + ["--config-file", extra] + argv[at[-1] + 1:]
            else:
                argv = [x for f in [*conf.config_file, extra] for x in ("--config-file", f)] + argv
            conf = _new_conf()
            _parse(conf, argv, files)
        conf.set_default("node_id", f"{socket.gethostname()}-pe{conf.instance}")
        conf.set_default("bind_port", 1789 + conf.instance)
    return conf


def roles(conf: cfg.ConfigOpts) -> tuple[bool, bool, bool]:
    api, pe, ds = conf.api, conf.policy_engine, conf.datasources
    if not (api or pe or ds):
        return True, True, True
    return api, pe, ds


class InFlight:
    """WSGI middleware counting requests being answered, so that a stop can wait for them.

    Once :meth:`drain` is called, new requests get 503 (``Connection: close``): load balancers
    move on, and what was in flight finishes (:meth:`wait_idle`)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.draining = False
        self._cv = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._cv:
            if self.draining:
                body = b'{"error": {"message": "the server is shutting down", "error_code": 503}}'
                start_response("503 Service Unavailable",
                               [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body))), ("Connection", "close"),
                                ("Retry-After", "1")])
                return [body]
            self.count += 1
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return _Closing(result, self._done)

    def _done(self) -> None:
        with self._cv:
            self.count -= 1
            self._cv.notify_all()

    def drain(self) -> None:
        with self._cv:
            self.draining = True

    def wait_idle(self, timeout: float) -> bool:
        """True when no request is in flight (waiting up to ``timeout`` seconds)."""
        with self._cv:
            return self._cv.wait_for(lambda: self.count <= 0, timeout)


class _Closing:
    """A WSGI response iterable that calls ``done`` once, when the server closes it."""

    def __init__(self, result: Iterable[bytes], done: Any) -> None:
        self._result = result
        self._done = done
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


class ServerNode:
    """Everything a ``congress-server`` process runs, started and stopped in order."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.node: Any = None
        self.db: Any = None
        self.engine: Any = None
        self.api_server: Any = None
        self.inflight: InFlight | None = None
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
            self.inflight = InFlight(create_app(conf, BusBackend(self.node, conf, self.engine)))
            self.api_server = serve(conf, self.inflight)
        LOG.info("node %s ready", node_id)

    def renew_threads(self) -> None:
        """The API's worker threads and the bus's dispatcher make way for fresh ones (their
        malloc caches go back to the heap; called by the trimmer before it trims)."""
        api = self.api_server
        if api is not None and api.serving:
            api.dispatcher.retire_idle()
        node = self.node
        if node is not None and node.running:
            node.renew_dispatcher(wait=0.5)

    def health(self) -> dict[str, Any]:
        """What the watchdog and the status file report: is this node serving?"""
        node = self.node
        running = bool(node is not None and node.running)
        bus = bool(running and node.sending)
        api = self.api_server is None or self.api_server.serving
        return {"node_id": self.conf.node_id, "pid": os.getpid(), "running": running,
                "bus": bus, "api": api, "healthy": running and bus and api,
                "time": time.time()}

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        LOG.info("stopping node %s", self.conf.node_id)
        if self.inflight is not None:
            self.inflight.drain()
            if self.inflight.wait_idle(self.conf.drain_timeout):
                LOG.info("API drained: no request in flight")
            else:
                LOG.warning("API: %d request(s) still in flight after %.0f s; stopping anyway",
                            self.inflight.count, self.conf.drain_timeout)
        if self.api_server is not None:
            self.api_server.stop()
        if self.node is not None:
            self.node.stop()
        if self.db is not None:
            self.db.dispose()
        LOG.info("node %s stopped", self.conf.node_id)


def write_status(path: str, status: dict[str, Any]) -> None:
    """Replace ``path`` with ``status`` as JSON (atomically: readers never see half a file)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(status, f)
    os.replace(tmp, path)


def reload_config(conf: cfg.ConfigOpts) -> None:
    """SIGHUP: re-read the configuration files and apply what can change while running."""
    if conf.reload_config_files():
        logging_setup.apply_levels(conf)
        LOG.info("configuration reloaded (debug=%s)", conf.debug)
    else:
        LOG.error("configuration not reloaded: the files could not be read (see above); "
                  "keeping the running settings")


def serve_forever(server: ServerNode, reload: threading.Event,
                  env: dict[str, str] | None = None) -> None:
    """The main loop: keep-alives, status file and SIGHUP reloads until ``server.stopped``."""
    conf = server.conf
    watchdog = sdnotify.watchdog_interval(env)
    tick = min(1.0, watchdog) if watchdog else 1.0
    unhealthy_since: float | None = None
    while True:
        health = server.health()
        if health["healthy"]:
            if unhealthy_since is not None:
                LOG.info("node %s healthy again", conf.node_id)
            unhealthy_since = None
            if watchdog:
                sdnotify.notify("WATCHDOG=1", env)
        elif unhealthy_since is None:
            unhealthy_since = time.monotonic()
            LOG.warning("node %s unhealthy: %s", conf.node_id,
                        ", ".join(k for k in ("running", "bus", "api") if not health[k]))
        if conf.status_file:
            try:
                write_status(conf.status_file, health)
            except OSError as e:
                LOG.warning("cannot write status file %s: %s", conf.status_file, e)
        if server.stopped.wait(tick):
            break
        if reload.is_set():
            reload.clear()
            reload_config(conf)


def setup_allocator(conf: cfg.ConfigOpts) -> allocator.Trimmer | None:
    """Limit malloc's arenas, turn its fast bins off and start the trimmer
    (``malloc_arena_max``, ``malloc_trim_threshold``; see :mod:`congress.cmd.allocator`).
    Called before any thread of the server starts: a thread keeps the arena it first
    allocated from."""
    if not allocator.available():
        return None
    LOG.info("Python objects on %s; at most %s malloc arenas, no fast bins, thread caches for "
             "blocks up to %s bytes; trim after %s MiB freed",
             allocator.python_allocator(), conf.malloc_arena_max or "glibc's default number of",
             allocator.tcache_max(), conf.malloc_trim_threshold or "(never)")
    if conf.malloc_arena_max and threading.active_count() > 1:
        LOG.warning("malloc_arena_max set after %d threads started",
                    threading.active_count() - 1)
    allocator.limit_arenas(conf.malloc_arena_max)
    allocator.disable_fastbins()
    if not conf.malloc_trim_threshold:
        return None
    trimmer = allocator.Trimmer(conf.malloc_trim_threshold * 2**20)
    trimmer.start()
    return trimmer


def main(argv: list[str] | None = None) -> int:
    conf = parse_args(argv)
    logging_setup.setup(conf)
    trimmer = setup_allocator(conf)
    from congress.services import memory
    memory.watch_collections()
    sys.setswitchinterval(conf.switch_interval)
    server = ServerNode(conf)
    if trimmer is not None:
        trimmer.before_trim.append(server.renew_threads)
    reload = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        LOG.info("received signal %d (%s)", signum, signal.Signals(signum).name)
        if signum == signal.SIGHUP:
            reload.set()
        else:
            server.stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        server.start()
    except exceptions.DuplicateNodeError as e:
        LOG.error("%s", e)
        print(f"ERROR: {e}", file=sys.stderr)
        server.stop()
        return 2
    except (exceptions.CongressError, OSError) as e:
        LOG.error("could not start: %s", e)
        print(f"ERROR: could not start: {e}", file=sys.stderr)
        server.stop()
        return 1
    finally:
        gcpause.end_start_up()  # begun by congress-server before the imports (launch.py)
    where = f" on {server.api_server.url}" if server.api_server is not None else ""
    sdnotify.notify(f"READY=1\nSTATUS=node {conf.node_id} serving{where}")
    serve_forever(server, reload)
    sdnotify.notify(f"STOPPING=1\nSTATUS=node {conf.node_id} stopping")
    if trimmer is not None:
        trimmer.stop()
    server.stopped.clear()
    server.stop()
    if conf.status_file:
        try:
            os.unlink(conf.status_file)
        except OSError:
            pass
    return 0


def run() -> None:
    """The ``congress-server`` command: :func:`main`, then exit at once.

    When :func:`main` returns, the node has stopped: the API is closed, the bus left, the
    database connections released and the logs flushed below. What would still hold the
    interpreter up to a second are idle worker threads of oslo.messaging's executor, which
    notice the end only on their next one-second poll; nothing of Congress is left to finish,
    so the process ends without waiting for them (a stop takes milliseconds, not a second).
    """
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
