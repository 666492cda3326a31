"""Serving the API with waitress: :func:`serve` starts it in a background thread,
:meth:`Server.stop` shuts it down cleanly.

* listens on ``bind_host:bind_port`` (port 0 picks a free port; see :attr:`Server.port`);
* ``min(api_threads, max_simultaneous_requests)`` worker threads, at most
  ``max_simultaneous_requests`` open connections;
* ``tcp_keepalive`` / ``tcp_keepidle`` set on accepted sockets;
* waitress refuses bodies over twice ``max_request_body_size`` (+1 MiB) itself, before reading
  them; smaller excesses reach the app, which answers 413 with the error envelope.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import waitress
from waitress import trigger as waitress_trigger
from waitress import wasyncore

LOG = logging.getLogger(__name__)


def _socket_options(conf: Any) -> list[tuple[int, int, int]]:
    options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    if conf.tcp_keepalive:
        options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
        if hasattr(socket, "TCP_KEEPIDLE"):
            options.append((socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, conf.tcp_keepidle))
    return options


class Server:
    """A running waitress server."""

    def __init__(self, conf: Any, app: Any) -> None:
        self._map: dict[int, Any] = {}
        threads = max(1, min(conf.api_threads, conf.max_simultaneous_requests))
        self._server = waitress.create_server(
            app,
            map=self._map,
            host=conf.bind_host,
            port=conf.bind_port,
            threads=threads,
            connection_limit=max(conf.max_simultaneous_requests, threads),
            max_request_body_size=2 * conf.max_request_body_size + 1024 * 1024,
            ident="congress",
            asyncore_use_poll=True,          # select() cannot watch descriptors >= 1024
            clear_untrusted_proxy_headers=False,
        )
        # applied by waitress to every accepted connection (not a create_server argument)
        self._server.adj.socket_options = _socket_options(conf)
        listen = getattr(self._server, "effective_listen", None)
        if listen is None:
            listen = [(self._server.effective_host, self._server.effective_port)]
        self.listen: list[tuple[str, int]] = [(str(h), int(p)) for h, p in listen]
        self.host, self.port = self.listen[0]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="congress-api", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def serving(self) -> bool:
        """True while the server's thread runs (started and not stopped)."""
        return self._thread.is_alive() and not self._stopped.is_set()

    def start(self) -> None:
        self._thread.start()
        for host, port in self.listen:
            shown = f"[{host}]" if ":" in host else host
            LOG.info("Congress API listening on http://%s:%s", shown, port)

    def _run(self) -> None:
        try:
            self._server.run()
        except Exception:  # noqa: BLE001
            if not self._stopped.is_set():
                LOG.exception("Congress API server failed")

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listening sockets, let the requests being served finish, then close the
        connections and end the event loop.

        The order matters: a worker thread that finishes a request wakes the event loop by
        writing to waitress's trigger pipe; closing the trigger while a worker can still do
        that makes the worker write to a closed descriptor (EBADF), or to whatever file took
        its number meanwhile. So the workers are stopped before the trigger is closed, and a
        trigger whose workers did not stop in time is left open rather than closed under them.
        """
        if self._stopped.is_set():
            return
        self._stopped.set()
        trigger = next((d for d in list(self._map.values())
                        if isinstance(d, waitress_trigger.trigger)), None)
        loop_alive = self._thread.is_alive() and trigger is not None
        # 1. no new connections
        self._in_loop(trigger if loop_alive else None, self._close_listeners, timeout)
        # 2. the requests being served finish (their threads may still pull the trigger)
        workers_done = self._server.task_dispatcher.shutdown(timeout=timeout)
        workers_done = workers_done and not self._server.task_dispatcher.threads
        # 3. the connections and the trigger close; the loop ends when its map is empty
        self._in_loop(trigger if loop_alive else None,
                      lambda: self._close_all(keep_trigger_open=not workers_done), timeout)
        if loop_alive:
            self._thread.join(timeout)
        LOG.info("Congress API on %s stopped", self.url)

    def _in_loop(self, trigger: Any, fn: Any, timeout: float) -> None:
        """Run ``fn`` in the event loop's thread (through ``trigger``) and wait for it; with no
        trigger (the loop is not running) run it here."""
        if trigger is None:
            fn()
            return
        done = threading.Event()

        def thunk() -> None:
            try:
                fn()
            finally:
                done.set()

        trigger.pull_trigger(thunk)
        if not done.wait(timeout):
            LOG.warning("Congress API event loop did not answer within %.0f s", timeout)

    def _close_listeners(self) -> None:
        for d in list(self._map.values()):
            if getattr(d, "accepting", False):
                # the listening socket only: waitress's server.close() would also close the
                # trigger the workers still use
                wasyncore.dispatcher.close(d)

    def _close_all(self, keep_trigger_open: bool) -> None:
        for d in list(self._map.values()):
            if isinstance(d, waitress_trigger.trigger) and keep_trigger_open:
                LOG.warning("Congress API worker threads still running after stop: the "
                            "event loop's trigger pipe is left open for them")
                d.del_channel()       # out of the map (the loop ends) but not closed
                continue
            try:
                d.close()
            except OSError:
                LOG.debug("closing %r at stop failed", d, exc_info=True)
        self._map.clear()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(conf: Any, app: Any) -> Server:
    """Start serving ``app`` on ``bind_host:bind_port`` in a background thread."""
    server = Server(conf, app)
    server.start()
    return server
