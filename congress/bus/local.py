"""The in-process transport: RPC servers and clients of the nodes of one process, no broker.

:mod:`congress.bus.transport` uses it for ``transport_url`` unset, ``inprocess://`` or
``fake://``. It delivers what oslo.messaging's in-memory ("fake") driver delivered, the way the
bus uses it, without importing oslo.messaging (with oslo.service's backend, a tenth of the
all-in-one server's start) and without polling: a server's thread sleeps until a message
arrives, where the fake driver's listeners looked every 50 ms.

* The queues are the process's: one per ``(topic, server)`` and one per topic. A message for a
  server goes to that server's queue, a message for a topic without a server to the topic's
  queue (whichever server of the topic takes it first), a fan-out to the queue of every server
  of the topic. Queues are made on first use, so a message for a server that is not listening
  (yet) waits in its queue, as on a broker, until :func:`purge` forgets the queues of a server
  that left.
* A server takes its messages in order, its own queue first, and hands each to a worker of its
  pool; the worker calls the endpoints' public method of that name with the context and the
  arguments. A call's answer, or the error the method raised, goes back to the caller.
* A call waits ``timeout`` seconds at most (60 when the client says nothing), then raises
  :class:`MessagingTimeout`; a method that raised makes the call raise :class:`RemoteError`
  (the names oslo.messaging gives them; the bus gets the same from either transport). Messages
  are handed over as they are: the bus copies what it sends through JSON itself
  (``transport.wire_copy``), so a single process sees what a broker would deliver.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0    # seconds, as oslo.messaging's rpc_response_timeout

# (context, method, arguments, where a call wants its answer; None for a cast)
Message = tuple[dict[str, Any], str, dict[str, Any], "queue.SimpleQueue[Any] | None"]

_LOCK = threading.Lock()
_SERVER_QUEUES: dict[tuple[str, str], collections.deque[Message]] = {}
_TOPIC_QUEUES: dict[str, collections.deque[Message]] = {}
_LISTENERS: dict[str, list[LocalServer]] = {}   # running servers by topic, woken on delivery


class MessagingException(Exception):
    """A message was not delivered or answered (on any transport: congress.bus.transport
    raises these for oslo.messaging's errors too)."""


class MessagingTimeout(MessagingException):
    """No answer in time."""


class RemoteError(MessagingException):
    """The method called raised ``exc_type`` with the message ``value``."""

    def __init__(self, exc_type: str, value: str) -> None:
        super().__init__(f"{exc_type}: {value}")
        self.exc_type = exc_type
        self.value = value


def _server_queue(topic: str, server: str) -> collections.deque[Message]:
    q = _SERVER_QUEUES.get((topic, server))
    if q is None:
        q = _SERVER_QUEUES[(topic, server)] = collections.deque()
    return q


def _topic_queue(topic: str) -> collections.deque[Message]:
    q = _TOPIC_QUEUES.get(topic)
    if q is None:
        q = _TOPIC_QUEUES[topic] = collections.deque()
    return q


def deliver(topic: str, message: Message, *, server: str | None, fanout: bool) -> None:
    """Queue ``message`` for ``server`` on ``topic`` (any server of the topic if None, every
    one with ``fanout``) and wake the servers listening on the topic."""
    with _LOCK:
        if fanout:
            for (t, _server), q in _SERVER_QUEUES.items():
                if t == topic:
                    q.append(message)
        elif server is not None:
            _server_queue(topic, server).append(message)
        else:
            _topic_queue(topic).append(message)
        for listener in _LISTENERS.get(topic, ()):
            listener.wake.notify()


def purge(topics: list[str], server: str) -> None:
    """Forget the queues of ``server`` on ``topics``: messages for a node that left would pile
    up, and a node started again with its id would read them."""
    with _LOCK:
        for topic in topics:
            _SERVER_QUEUES.pop((topic, server), None)


class LocalTransport:
    """What the in-process bus's servers and clients are made for (the queues are the
    process's, so it holds nothing)."""

    def cleanup(self) -> None:
        """Nothing to close."""


class LocalClient:
    """A client of ``topic``; :meth:`prepare` aims it (a server, a fan-out, a timeout)."""

    def __init__(self, topic: str, server: str | None = None, fanout: bool = False,
                 timeout: float | None = None) -> None:
        self.topic = topic
        self.server = server
        self.fanout = fanout
        self.timeout = timeout

    def prepare(self, *, server: str | None = None, fanout: bool = False,
                timeout: float | None = None, retry: int | None = None) -> LocalClient:
        """A client like this one aimed as given (``retry`` is for brokers: nothing to retry
        here)."""
        return LocalClient(self.topic, server, fanout, timeout)

    def cast(self, ctxt: dict[str, Any], method: str, **kwargs: Any) -> None:
        deliver(self.topic, (ctxt, method, kwargs, None), server=self.server, fanout=self.fanout)

    def call(self, ctxt: dict[str, Any], method: str, **kwargs: Any) -> Any:
        answer: queue.SimpleQueue[Any] = queue.SimpleQueue()
        deliver(self.topic, (ctxt, method, kwargs, answer), server=self.server, fanout=False)
        try:
            ok, value = answer.get(timeout=DEFAULT_TIMEOUT if self.timeout is None
                                   else self.timeout)
        except queue.Empty:
            raise MessagingTimeout(f"No reply on topic {self.topic}") from None
        if not ok:
            raise RemoteError(*value)
        return value


class LocalServer:
    """The RPC server of ``endpoints`` on ``topic`` as ``server``: :meth:`start`, :meth:`stop`
    (it takes no more messages), :meth:`wait` (the messages it took are done). ``pool`` makes
    its worker pool from a number of workers."""

    def __init__(self, topic: str, server: str, endpoints: list[Any],
                 pool: Callable[[int], Any], max_workers: int) -> None:
        self.topic = topic
        self.server = server
        self.endpoints = endpoints
        self.wake = threading.Condition(_LOCK)
        self._pool_factory = pool
        self._max_workers = max_workers
        self._pool: Any = None
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with _LOCK:
            if self._thread is not None or self._stopped:
                return
            _server_queue(self.topic, self.server)     # fan-outs reach it from now on
            _LISTENERS.setdefault(self.topic, []).append(self)
            self._pool = self._pool_factory(self._max_workers)
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"bus-local-{self.server}")
        self._thread.start()

    def stop(self) -> None:
        with _LOCK:
            self._stopped = True
            listeners = _LISTENERS.get(self.topic, [])
            if self in listeners:
                listeners.remove(self)
                if not listeners:
                    del _LISTENERS[self.topic]
            self.wake.notify()

    def wait(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _next(self) -> Message | None:
        """The next message for this server, or None once it is stopped."""
        with _LOCK:
            while not self._stopped:
                for q in (_SERVER_QUEUES.get((self.topic, self.server)),
                          _TOPIC_QUEUES.get(self.topic)):
                    if q:
                        return q.popleft()
                self.wake.wait()
        return None

    def _run(self) -> None:
        while (message := self._next()) is not None:
            self._pool.submit(self._dispatch, message)

    def _dispatch(self, message: Message) -> None:
        ctxt, method, kwargs, answer = message
        try:
            result = (True, self._handler(method)(ctxt, **kwargs))
        except Exception as exc:
            if answer is None:
                LOG.exception("%s on topic %s failed", method, self.topic)
            result = (False, (type(exc).__name__, str(exc)))
        if answer is not None:
            answer.put(result)

    def _handler(self, method: str) -> Callable[..., Any]:
        if not method.startswith("_"):
            for endpoint in self.endpoints:
                handler = getattr(endpoint, method, None)
                if callable(handler):
                    return handler
        raise AttributeError(f"no RPC method {method!r} on topic {self.topic}")
