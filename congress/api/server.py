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
        """Close the listening sockets and connections, stop the worker threads."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        triggers = [d for d in list(self._map.values())
                    if isinstance(d, waitress_trigger.trigger)]
        if self._thread.is_alive() and triggers:
            # close everything from the event loop's own thread; the loop ends when its map
            # is empty
            triggers[0].pull_trigger(lambda: wasyncore.close_all(self._map))
            self._thread.join(timeout)
        else:
            wasyncore.close_all(self._map)
        self._server.task_dispatcher.shutdown(timeout=timeout)
        LOG.info("Congress API on %s stopped", self.url)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(conf: Any, app: Any) -> Server:
    """Start serving ``app`` on ``bind_host:bind_port`` in a background thread."""
    server = Server(conf, app)
    server.start()
    return server
