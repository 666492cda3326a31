"""Serving the API with waitress: :func:`serve` starts it in a background thread,
:meth:`Server.stop` shuts it down cleanly.

* listens on ``bind_host:bind_port`` (port 0 picks a free port; see :attr:`Server.port`);
* ``min(api_threads, max_simultaneous_requests)`` worker threads, at most
  ``max_simultaneous_requests`` open connections;
* ``tcp_keepalive`` / ``tcp_keepidle`` set on accepted sockets;
* waitress refuses bodies over twice ``max_request_body_size`` (+1 MiB) itself, before reading
  them; smaller excesses reach the app, which answers 413 with the error envelope;
* a worker thread that served a long request (a big push, the delete of a big datasource)
  hands its place to a fresh thread and ends: :class:`RecyclingDispatcher`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import waitress
from waitress import task as waitress_task
from waitress import trigger as waitress_trigger
from waitress import wasyncore

LOG = logging.getLogger(__name__)

RECYCLE_AFTER = 0.1  # seconds: a request this long retires the worker thread that served it
RECV_BYTES = 64 * 1024  # bytes asked of the socket per read


class RecyclingDispatcher(waitress_task.ThreadedTaskDispatcher):
    """waitress's pool of worker threads, in which a worker makes way for a fresh thread after
    a request of ``recycle_after`` seconds or more, and all of them do on :meth:`retire_idle`.

    Why: glibc's malloc keeps, per thread, up to seven freed blocks of each size up to 1032
    bytes for that thread's next allocations (the thread cache). The server runs on malloc
    (PYTHONMALLOC, see :mod:`congress.cmd.allocator`), so every Python object is such a block.
    A worker that decoded a big push, freed a big table or served the first requests after,
    is left with its cache holding blocks from all over the freed heap; they count as in use,
    and the pages they sit on cannot be given back. Each of the 16 workers does so in turn,
    whichever picks up the request: 20 create / PUT 100k / delete cycles grew the server by
    6-7 MiB with 16 workers, by 2 MiB with 2 (benchmarks/RESULTS.md). A thread's cache is
    emptied into the heap when the thread ends, so a worker that did long work retires
    (starting a thread costs some 100 us, nothing beside a request of 100 ms), and the
    trimmer, after big frees, has them all retire before it trims (:meth:`retire_idle`).

    The pool's size and bookkeeping stay waitress's (its ``handler_thread``, unchanged from 2.1
    to 3.0, is followed here): the successor takes the same number, the same place in
    ``threads`` and the active slot; a shutdown in progress ends a thread instead.
    """

    def __init__(self, recycle_after: float = RECYCLE_AFTER) -> None:
        super().__init__()
        self.recycle_after = recycle_after
        self.recycled = 0     # threads retired so far (for tests)
        self.generation = 0   # threads started in an earlier generation retire
        self._workers: dict[int, tuple[threading.Thread, int]] = {}

    def start_new_thread(self, target: Any, thread_no: int) -> None:
        t = threading.Thread(target=target, name=f"waitress-{thread_no}", args=(thread_no,),
                             daemon=True)
        self._workers[thread_no] = (t, self.generation)   # under self.lock, or before serving
        t.start()

    def retire_idle(self, timeout: float = 0.5) -> int:
        """Replace every worker by a fresh thread, if none is serving a request; wait up to
        ``timeout`` seconds for them to have ended (their caches are back in malloc's heap
        then). Called before a trim, after big frees. The number of threads that ended.

        Not while a request is served: starting 16 threads takes 3-4 ms, but 50-70 ms while
        another thread keeps the interpreter busy (a push being absorbed), and a request that
        arrives meanwhile would wait for them."""
        with self.lock:
            if self.active_count > 0 or self.queue:
                return 0
            old = [t for t, _ in self._workers.values()]
            self.generation += 1
            self.queue_cv.notify_all()
        deadline = time.monotonic() + timeout
        for t in old:
            t.join(max(0.0, deadline - time.monotonic()))
        return sum(not t.is_alive() for t in old)

    def handler_thread(self, thread_no: int) -> None:
        with self.lock:
            generation = self._workers[thread_no][1]
        while True:
            with self.lock:
                while (not self.queue and self.stop_count == 0
                       and generation == self.generation):
                    self.active_count -= 1          # idle while waiting
                    self.queue_cv.wait()
                    self.active_count += 1
                if self.stop_count > 0:             # the pool shrinks or shuts down
                    self.active_count -= 1
                    self.stop_count -= 1
                    self.threads.discard(thread_no)
                    self._workers.pop(thread_no, None)
                    self.thread_exit_cv.notify()
                    return
                if generation != self.generation:
                    self._hand_over(thread_no)
                    return
                task = self.queue.popleft()
            started = time.monotonic()
            try:
                task.service()
            except BaseException:  # noqa: BLE001 (as waitress: a task never ends the worker)
                self.logger.exception("Exception when servicing %r", task)
            if time.monotonic() - started >= self.recycle_after:
                with self.lock:
                    if self.stop_count == 0:        # else leave through the shutdown path
                        self._hand_over(thread_no)
                        return

    def _hand_over(self, thread_no: int) -> None:
        """Start this thread's successor (under ``self.lock``): the same number, the same
        place in ``threads`` and in the active count."""
        self.recycled += 1
        self.start_new_thread(self.handler_thread, thread_no)


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
        self.dispatcher = RecyclingDispatcher()
        self.dispatcher.set_thread_count(threads)
        try:
            self._server = waitress.create_server(
                app,
                map=self._map,
                host=conf.bind_host,
                port=conf.bind_port,
                threads=threads,
                _dispatcher=self.dispatcher,
                connection_limit=max(conf.max_simultaneous_requests, threads),
                max_request_body_size=2 * conf.max_request_body_size + 1024 * 1024,
                # a datasource's big push read in 64 KiB pieces, not waitress's 8 KiB: a 45 MB
                # body in ~0.09 s instead of ~0.25 s of the I/O thread's loop (under malloc's
                # mmap threshold: a small request's read costs no more)
                recv_bytes=RECV_BYTES,
                ident="congress",
                asyncore_use_poll=True,          # select() cannot watch descriptors >= 1024
                clear_untrusted_proxy_headers=False,
            )
        except BaseException:
            self.dispatcher.shutdown(timeout=1)  # its threads are started already
            raise
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

        try:
            trigger.pull_trigger(thunk)
        except OSError as e:
            # the trigger's pipe is gone (seen rarely at stop, EBADF): the loop cannot be
            # woken, so the work is done here unless the loop took it meanwhile
            with trigger.lock:
                queued = thunk in trigger.thunks
                if queued:
                    trigger.thunks.remove(thunk)
            if queued:
                LOG.warning("Congress API event loop cannot be woken (%s; trigger closed: %s):"
                            " stopping from this thread", e, getattr(trigger, "_closed", "?"))
                fn()
                return
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
