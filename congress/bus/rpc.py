"""RPC between services on the bus: the calling side (local, remote, with deadlines) and the
serving side (dispatch to a service's ``rpc_methods``, in-flight tracking for a clean stop).

A call to a service on this node runs directly (no serialization); otherwise it goes to the
service's topic (``congress-service-<service_id>-<bus>``), whose only oslo-level method is
``bus_invoke(op, args)``; the serving node always answers ``{"r": result}`` or ``{"e": error}``
(see :mod:`congress.bus.errors`). :class:`Rpc` is a part of :class:`~congress.bus.node.Node`.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

from congress import exceptions
from congress.bus import availability as av
from congress.bus import errors, inprocess, metrics
from congress.bus import transport as tp
from congress.bus.context import CallerContext, caller_scope
from congress.bus.errors import REMOTE_ERROR_CODE, error_from_wire, error_to_wire
from congress.bus.service import Service

LOG = logging.getLogger("congress.bus")

_handling = threading.local()    # services whose requests this thread is handling


class ServiceEndpoint:
    """The oslo.messaging endpoint of one service."""

    def __init__(self, node: Any, service_id: str) -> None:
        self._node = node
        self._service_id = service_id

    def bus_invoke(self, ctxt: dict[str, Any], op: str,
                   args: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._node._handle_invoke(self._service_id, op, args or {}, ctxt)


class Rpc:
    """Calling services and serving calls (a part of the node)."""

    # provided by Node
    node_id: str
    bus_id: str
    instance: str

    def call(self, service_id: str, method: str, *, timeout: float | None = None,
             node_id: str | None = None, prefer_local: bool = True, **kwargs: Any) -> Any:
        """Call ``method`` of ``service_id`` with keyword arguments and return its result.

        A service on this node is called directly (no serialization, no timeout) when
        ``prefer_local`` or when ``node_id`` names this node. ``node_id`` picks that node's
        instance; otherwise any node hosting the service answers.
        """
        service = self._services.get(service_id)
        if service is not None and (node_id == self.node_id
                                    or (node_id is None and prefer_local)):
            return self._call_local(service, method, kwargs)
        if node_id == self.node_id:
            raise errors.service_not_found(service_id)
        self._require_running(service_id)
        timeout = self.rpc_timeout if timeout is None else timeout
        deadline = av.current_deadline()
        if deadline is not None:
            return self._call_with_deadline(service_id, method, kwargs, timeout=timeout,
                                            node_id=node_id, deadline=deadline)
        if not self._known(service_id, node_id):
            self._ping(service_id, node_id)
        return self._rpc(service_id, method, kwargs, timeout=timeout, node_id=node_id)

    def unavailable_services(self) -> dict[str, str]:
        """Services this node knows it cannot reach (their node went silent or left), with
        the reason; what the detailed healthcheck reports as degraded dependencies."""
        with self._peers_lock:
            peers = dict(self._peers)
        return self._availability.unavailable(peers, self._ready, time.monotonic())

    def service_problem(self, service_id: str) -> str | None:
        """Why ``service_id`` is known to be unavailable (its node went silent or left), or
        None."""
        return self._unavailable(service_id, None)

    def _unavailable(self, service_id: str, node_id: str | None) -> str | None:
        with self._peers_lock:
            peers = dict(self._peers)
        return self._availability.problem(service_id, peers, service_id in self._ready,
                                          time.monotonic(), node_id)

    def _call_with_deadline(self, service_id: str, method: str, kwargs: dict[str, Any], *,
                            timeout: float, node_id: str | None, deadline: float) -> Any:
        """An RPC for a caller that must answer by ``deadline``: refused at once when the
        service is unavailable or already has its share of waiting calls, abandoned as soon
        as the service becomes unavailable or the deadline passes (503 in every case)."""
        problem = self._unavailable(service_id, node_id)
        if problem is not None:
            raise self._refused(service_id, f"Service '{service_id}' is unavailable: {problem}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.timed_out(service_id)
        if not self._known(service_id, node_id):
            self._ping(service_id, node_id, timeout=min(self.ping_timeout, remaining))
        if not av.hold(self._limiter, service_id, deadline,
                       lambda: self._unavailable(service_id, node_id)):
            problem = self._unavailable(service_id, node_id) or (
                f"{self._limiter.limit} requests are already waiting for it")
            raise self._refused(service_id, f"Service '{service_id}' is unavailable: {problem}",
                                retry_after=1.0)
        problem = self._unavailable(service_id, node_id)     # it may have waited for a slot
        if problem is not None:
            raise self._refused(service_id, f"Service '{service_id}' is unavailable: {problem}")
        future = self._deadline_executor().submit(
            self._rpc, service_id, method, kwargs, node_id=node_id,
            timeout=max(0.05, min(timeout, deadline - time.monotonic())))
        while True:
            try:
                return future.result(timeout=av.wait_slice(deadline))
            except FutureTimeout:
                pass
            if future.done():
                return future.result()
            problem = self._unavailable(service_id, node_id)
            if problem is not None:
                LOG.info("gave up waiting for %s.%s: %s", service_id, method, problem)
                raise self._refused(service_id, f"Service '{service_id}' is unavailable: {problem}")
            if time.monotonic() >= deadline:
                raise errors.timed_out(service_id)

    def _deadline_executor(self) -> ThreadPoolExecutor:
        with self._deadline_pool_lock:
            if self._deadline_pool is None:
                self._deadline_pool = ThreadPoolExecutor(
                    256, thread_name_prefix=f"bus-{self.node_id}-call")
            return self._deadline_pool

    def cast(self, service_id: str, method: str, *, node_id: str | None = None,
             **kwargs: Any) -> None:
        """Fire and forget (over the bus, even for a local service)."""
        self._require_running(service_id)
        if node_id == self.node_id and service_id not in self._ready:
            raise errors.service_not_found(service_id)
        if not self._known(service_id, node_id):
            self._ping(service_id, node_id)
        client = self._client(tp.service_topic(service_id, self.bus_id)).prepare(
            server=node_id, retry=tp.CALL_RETRY)
        LOG.debug("cast %s.%s node=%s", service_id, method, node_id or "any")
        self._send_cast(client, service_id, method, kwargs)

    def broadcast(self, service_id: str, method: str, **kwargs: Any) -> None:
        """Cast to every node hosting ``service_id``, this one included (fan-out)."""
        self._require_running(service_id)
        client = self._client(tp.service_topic(service_id, self.bus_id)).prepare(
            fanout=True, retry=tp.CALL_RETRY)
        LOG.debug("broadcast %s.%s", service_id, method)
        self._send_cast(client, service_id, method, kwargs)

    def _send_cast(self, client: Any, service_id: str, method: str,
                   kwargs: dict[str, Any]) -> None:
        payload = tp.wire_copy(kwargs) if self.inprocess else kwargs
        try:
            client.cast(self._ctxt(), "bus_invoke", op=method, args=payload)
        except tp.MessagingException as exc:
            LOG.warning("Could not send %s to service %s: %s", method, service_id, exc)
            raise errors.timed_out(service_id) from None

    def _call_local(self, service: Service, method: str, kwargs: dict[str, Any]) -> Any:
        LOG.debug("local call %s.%s", service.service_id, method)
        with caller_scope(CallerContext(self.node_id, self.instance)):
            return self._invoke(service, method, kwargs)

    def _require_running(self, service_id: str) -> None:
        if not self._running:
            raise exceptions.ServiceUnavailable(
                f"Bus node '{self.node_id}' is not running; cannot reach service "
                f"'{service_id}'")

    def _known(self, service_id: str, node_id: str | None) -> bool:
        if node_id is not None:
            peer = self._peers.get(node_id)
            return peer is not None and peer.hosts(service_id)
        if service_id in self._ready:
            return True
        return any(p.hosts(service_id) for p in list(self._peers.values()))

    def _ping(self, service_id: str, node_id: str | None, timeout: float | None = None) -> None:
        """Is the unknown ``service_id`` alive anyway? ServiceNotFound if not."""
        if self.inprocess and not inprocess.hosts(self.bus_id, service_id, node_id):
            raise errors.service_not_found(service_id)
        timeout = self.ping_timeout if timeout is None else timeout
        LOG.debug("service %s unknown; pinging it (%.1fs)", service_id, timeout)
        try:
            self._rpc(service_id, "bus.ping", {}, timeout=timeout, node_id=node_id)
        except exceptions.RpcTimeout:
            raise errors.service_not_found(service_id) from None

    @staticmethod
    def _refused(service_id: str, message: str, **kwargs: Any) -> av.ServiceDown:
        metrics.RPC_REFUSED.labels(service_id).inc()
        return av.ServiceDown(message, **kwargs)

    def _rpc(self, service_id: str, method: str, kwargs: dict[str, Any], *, timeout: float,
             node_id: str | None) -> Any:
        client = self._client(tp.service_topic(service_id, self.bus_id)).prepare(
            server=node_id, timeout=timeout, retry=tp.CALL_RETRY)
        payload = tp.wire_copy(kwargs) if self.inprocess else kwargs
        LOG.debug("RPC %s.%s node=%s timeout=%s", service_id, method, node_id or "any", timeout)
        started = time.monotonic()
        try:
            envelope = client.call(self._ctxt(), "bus_invoke", op=method, args=payload)
        except tp.MessagingTimeout:
            metrics.RPC_TIMEOUTS.labels(service_id).inc()
            raise errors.timed_out(service_id) from None
        except tp.RemoteError as exc:
            raise exceptions.CongressError(
                f"Error in service '{service_id}': {exc.exc_type}: {exc.value}",
                code=REMOTE_ERROR_CODE, http_status=500) from None
        except tp.MessagingException as exc:
            LOG.warning("Request %s to service %s failed: %s", method, service_id, exc)
            metrics.RPC_TIMEOUTS.labels(service_id).inc()
            raise errors.timed_out(service_id) from None
        finally:
            metrics.RPC_SECONDS.labels(service_id).observe(time.monotonic() - started)
        if self.inprocess:
            envelope = tp.wire_copy(envelope)
        if not isinstance(envelope, dict):
            raise exceptions.CongressError(f"Malformed answer from service '{service_id}'",
                                           code=REMOTE_ERROR_CODE, http_status=500)
        if "e" in envelope:
            raise error_from_wire(envelope["e"], service_id)
        return envelope.get("r")

    def _client(self, topic: str) -> Any:
        client = self._clients.get(topic)
        if client is None:
            transport = self._transport
            if transport is None:
                raise exceptions.ServiceUnavailable(f"Bus node '{self.node_id}' is not running")
            client = self._clients[topic] = tp.make_client(transport, topic)
        return client

    def _ctxt(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "instance": self.instance}

    # ================================================================== RPC: service side
    def _handle_invoke(self, service_id: str, method: str, kwargs: dict[str, Any],
                       ctxt: Any) -> dict[str, Any]:
        ctxt = ctxt if isinstance(ctxt, dict) else {}
        caller = CallerContext(ctxt.get("node_id"), ctxt.get("instance"))
        LOG.debug("RPC in %s.%s from %s", service_id, method, caller.node_id)
        try:
            service = self._services.get(service_id)
            if service is None:
                raise errors.service_not_found(service_id)
            with caller_scope(caller), self._track(service_id):
                return {"r": self._invoke(service, method, kwargs)}
        except exceptions.CongressError as exc:
            LOG.debug("%s.%s raised %s: %s", service_id, method, type(exc).__name__, exc)
            return {"e": error_to_wire(exc)}
        except Exception as exc:
            LOG.exception("Unexpected error in %s.%s (called by %s)", service_id, method,
                          caller.node_id)
            return {"e": error_to_wire(exc)}

    @contextmanager
    def _track(self, service_id: str) -> Iterator[None]:
        mine = _handling.__dict__.setdefault("services", [])
        with self._inflight_cv:
            self._inflight[service_id] = self._inflight.get(service_id, 0) + 1
        mine.append(service_id)
        try:
            yield
        finally:
            mine.pop()
            with self._inflight_cv:
                left = self._inflight[service_id] - 1
                if left:
                    self._inflight[service_id] = left
                else:
                    del self._inflight[service_id]
                self._inflight_cv.notify_all()

    def _wait_idle(self, service_ids: list[str]) -> None:
        """Wait (up to rpc_timeout) for requests being handled by these services to finish."""
        mine = list(getattr(_handling, "services", ()))  # a handler may be stopping us

        def busy() -> list[str]:
            return [s for s in service_ids if self._inflight.get(s, 0) > mine.count(s)]
        with self._inflight_cv:
            if not self._inflight_cv.wait_for(lambda: not busy(), timeout=self.rpc_timeout):
                LOG.warning("Requests to %s still running after %.0fs; stopping anyway",
                            ", ".join(busy()), self.rpc_timeout)

    _signatures: dict[tuple[type, str], inspect.Signature] = {}

    def _invoke(self, service: Service, method: str, kwargs: dict[str, Any]) -> Any:
        if method == "bus.ping":
            return {"node_id": self.node_id, "service": service.service_id}
        if method == "bus.snapshot":
            return self._serve_snapshot(service, kwargs.get("table"))
        if (not isinstance(method, str) or method.startswith("_")
                or method not in service.rpc_methods):
            raise exceptions.BadRequest(
                f"Method {method} not supported for service {service.service_id}")
        fn = getattr(service, method, None)
        if not callable(fn):
            raise exceptions.BadRequest(
                f"Method {method} not supported for service {service.service_id}")
        key = (type(service), method)
        signature = self._signatures.get(key)
        if signature is None:
            signature = self._signatures[key] = inspect.signature(fn)
        try:
            signature.bind(**kwargs)
        except TypeError as exc:
            raise exceptions.BadRequest(
                f"Invalid arguments for method {method} of service {service.service_id}: "
                f"{exc}") from None
        return fn(**kwargs)
