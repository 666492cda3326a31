"""The bus node: one per process; hosts services, talks to the other nodes over oslo.messaging.

Topics (every one suffixed with ``-<bus_id>``, exchange ``congress``):

* ``congress-control-<bus>``: one RPC server per node (server = node_id). Fan-out casts carry
  heartbeats (``bus_heartbeat``), the greeting of a starting node (``bus_hello``: everyone
  answers with a heartbeat at once), the farewell of a stopping one (``bus_goodbye``) and table
  updates (``bus_data``); ``bus_whois`` lets a starting node find a live node using its id.
* ``congress-service-<service_id>-<bus>``: one RPC server per service per node (server =
  node_id). Its only oslo-level method is ``bus_invoke(op, args)``; the node dispatches to
  the service's ``rpc_methods`` and always answers ``{"r": result}`` or ``{"e": error}``.

Threads per node: oslo.messaging's servers (threading executor), one heartbeat thread (also
expires peers, fires subscriber hooks, drives the resubscription check), one sender thread (table
updates, in order), one dispatcher thread (see :mod:`congress.bus.pubsub`), a small pool for
snapshot fetches and one thread for peer-listener callbacks and publisher hooks.
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

from oslo_config import cfg

from congress import exceptions
from congress.bus import availability as av
from congress.bus import transport as tp
from congress.bus.context import CallerContext, caller_scope, current_caller
from congress.bus.errors import REMOTE_ERROR_CODE, error_from_wire, error_to_wire
from congress.bus.membership import Peer, peer_from_heartbeat, same_view
from congress.bus.pubsub import DataMsg, Subscriptions
from congress.bus.service import EMPTY, Service, TableUpdate, freeze_rows

LOG = logging.getLogger("congress.bus")

PeerListener = Callable[[str, Peer], None]

# Nodes on the in-process transport, by (bus_id, node_id). The in-process driver only reaches
# this process, so this registry is the whole truth about who is on an in-process bus.
_INPROCESS: dict[tuple[str, str], Node] = {}
_INPROCESS_LOCK = threading.Lock()
_handling = threading.local()    # services whose requests this thread is handling

_CALL_RETRY = 2        # connection attempts of a call/cast before giving up (broker down)
_FANOUT_RETRY = 1      # same for heartbeats and table updates (losses are repaired later)
_DUPLICATE_PROBE_MAX = 2.0


def _service_not_found(service_id: str) -> exceptions.ServiceNotFound:
    return exceptions.ServiceNotFound(f"service '{service_id}' could not be found")


def _timed_out(service_id: str) -> exceptions.RpcTimeout:
    return exceptions.RpcTimeout(f"Request to service '{service_id}' timed out")


class _ControlEndpoint:
    """Node-level messages on the control topic."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def bus_heartbeat(self, ctxt: dict[str, Any], hb: dict[str, Any]) -> None:
        self._node._on_heartbeat(hb, hello=False)

    def bus_hello(self, ctxt: dict[str, Any], hb: dict[str, Any]) -> None:
        self._node._on_heartbeat(hb, hello=True)

    def bus_goodbye(self, ctxt: dict[str, Any], node_id: str, instance: str) -> None:
        self._node._on_goodbye(node_id, instance)

    def bus_data(self, ctxt: dict[str, Any], msg: dict[str, Any]) -> None:
        self._node._on_data(msg)

    def bus_whois(self, ctxt: dict[str, Any]) -> dict[str, Any]:
        return {"node_id": self._node.node_id, "instance": self._node.instance}


class _ServiceEndpoint:
    """The oslo.messaging endpoint of one service."""

    def __init__(self, node: Node, service_id: str) -> None:
        self._node = node
        self._service_id = service_id

    def bus_invoke(self, ctxt: dict[str, Any], op: str,
                   args: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._node._handle_invoke(self._service_id, op, args or {}, ctxt)


class Node:
    """One member of a bus. Create, register services (before or after start), start, stop."""

    def __init__(self, node_id: str, *, transport_url: str | None = None, bus_id: str = "bus",
                 heartbeat_interval: float = 1.0, heartbeat_timeout: float = 5.0,
                 rpc_timeout: float = 30.0, long_timeout: float = 120.0,
                 ping_timeout: float = 5.0, time_to_resub: float = 10.0,
                 max_calls_per_service: int = 0,
                 conf: cfg.ConfigOpts | None = None) -> None:
        if not isinstance(node_id, str) or not node_id:
            raise ValueError("node_id must be a non-empty string")
        if not isinstance(bus_id, str) or not bus_id:
            raise ValueError("bus_id must be a non-empty string")
        self.node_id = node_id
        self.bus_id = bus_id
        self.transport_url = transport_url or ""
        self.inprocess = tp.is_inprocess(self.transport_url)
        self.heartbeat_interval = float(heartbeat_interval)
        self.heartbeat_timeout = float(heartbeat_timeout)
        self.rpc_timeout = float(rpc_timeout)
        self.long_timeout = float(long_timeout)
        self.ping_timeout = float(ping_timeout)
        self.time_to_resub = float(time_to_resub)
        self._conf = conf if conf is not None else cfg.ConfigOpts()
        self.instance = uuid.uuid4().hex          # a new one at every start
        self._control_topic = tp.control_topic(bus_id)

        self._lock = threading.RLock()            # lifecycle and the service table
        self._running = False
        self._stopping = False
        self._transport: Any = None
        self._clients: dict[str, Any] = {}
        self._control_server: Any = None
        self._servers: dict[str, Any] = {}
        self._services: dict[str, Service] = {}
        self._ready: set[str] = set()             # registered and serving: advertised

        self._peers: dict[str, Peer] = {}
        self._peers_lock = threading.Lock()
        self._listeners: list[PeerListener] = []
        self._duplicates_seen: set[str] = set()

        self._subs = Subscriptions(self)
        self._interest_lock = threading.Lock()
        self._interest: dict[tuple[str, str], dict[str, float]] = {}
        self._remote_interest: frozenset[tuple[str, str]] = frozenset()
        self._hooks_lock = threading.Lock()
        self._subscribed: set[tuple[str, str]] = set()

        self._stop_event = threading.Event()
        self._wake = threading.Event()
        self._hb_thread: threading.Thread | None = None
        self._sender_queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sender_thread: threading.Thread | None = None
        self._events: ThreadPoolExecutor | None = None
        self._send_failing = False
        self._inflight: dict[str, int] = {}       # service_id -> requests being handled
        self._inflight_cv = threading.Condition()
        # calls made with a deadline (API requests): see congress.bus.availability
        self._availability = av.Availability(
            av.suspect_after(self.heartbeat_interval, self.heartbeat_timeout))
        self._limiter = av.CallLimiter(max_calls_per_service)
        self._deadline_pool: ThreadPoolExecutor | None = None
        self._deadline_pool_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Node {self.node_id} bus={self.bus_id} {'up' if self._running else 'down'}>"

    # ================================================================== construction
    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, node_id: str) -> Node:
        """A node configured from ``[dse]`` and ``transport_url``.

        A ``transport_url`` left at oslo.messaging's default (not set in any config file or
        override) means the in-process bus: Congress runs all-in-one without configuration.
        """
        from congress import config
        config.register_opts(conf)
        tp.register_messaging_opts(conf)
        url = conf.transport_url
        try:
            location = conf.get_location("transport_url")
            if location is not None and location.location == cfg.Locations.opt_default:
                url = None
        except (AttributeError, cfg.NoSuchOptError):  # pragma: no cover - old oslo.config
            pass
        dse = conf.dse
        limit = conf.api_max_calls_per_service or max(1, conf.api_threads // 2)
        return cls(node_id, transport_url=url, bus_id=dse.bus_id,
                   heartbeat_interval=dse.heartbeat_interval,
                   heartbeat_timeout=dse.heartbeat_timeout, rpc_timeout=dse.rpc_timeout,
                   long_timeout=dse.long_timeout, ping_timeout=dse.ping_timeout,
                   time_to_resub=dse.time_to_resub, max_calls_per_service=limit, conf=conf)

    @property
    def running(self) -> bool:
        return self._running

    @property
    def sending(self) -> bool:
        """False while messages this node sends on the bus fail (its heartbeats), e.g. with
        the message broker unreachable; True again once one goes out."""
        return not self._send_failing

    @property
    def services(self) -> list[str]:
        """Ids of the services registered on this node."""
        return sorted(self._services)

    def get_service(self, service_id: str) -> Service | None:
        return self._services.get(service_id)

    # ================================================================== lifecycle
    def start(self) -> None:
        """Join the bus. Refuses with DuplicateNodeError if a live node already uses our id."""
        with self._lock:
            if self._running:
                return
            self.instance = uuid.uuid4().hex
            transport = tp.make_transport(self._conf, self.transport_url)
            try:
                self._check_duplicate(transport)
            except BaseException:
                self._release_transport(transport)
                raise
            self._transport = transport
            self._clients = {}
            self._peers = {}
            self._stop_event.clear()
            self._events = ThreadPoolExecutor(1, thread_name_prefix=f"bus-{self.node_id}-events")
            self._sender_queue = queue.SimpleQueue()
            self._sender_thread = threading.Thread(target=self._sender_loop, daemon=True,
                                                   name=f"bus-{self.node_id}-sender")
            self._sender_thread.start()
            self._subs.start()
            try:
                self._control_server = tp.make_server(transport, self._control_topic,
                                                      self.node_id, [_ControlEndpoint(self)])
                self._control_server.start()
                self._running = True
                for service_id, service in list(self._services.items()):
                    self._start_server(service)
                    self._ready.add(service_id)
            except BaseException:
                self._running = False
                self._teardown([self._control_topic])
                raise
            self._hb_thread = threading.Thread(target=self._heartbeat_loop, daemon=True,
                                               name=f"bus-{self.node_id}-heartbeat")
            self._hb_thread.start()
        LOG.info("Bus node %s started on bus %s (%s transport, instance %s)", self.node_id,
                 self.bus_id, "in-process" if self.inprocess else "oslo.messaging",
                 self.instance[:8])

    def stop(self) -> None:
        """Leave the bus: unregister (and stop) every service, stop heartbeats and servers."""
        with self._lock:
            if not self._running or self._stopping:
                return
            self._stopping = True
        try:
            self._stop()
        finally:
            self._stopping = False

    def _stop(self) -> None:
        LOG.info("Bus node %s stopping", self.node_id)
        self._stop_event.set()
        self._wake.set()
        if self._hb_thread is not None and self._hb_thread is not threading.current_thread():
            self._hb_thread.join(timeout=30)
        self._hb_thread = None
        self._cast_control("bus_goodbye", {"node_id": self.node_id, "instance": self.instance},
                           retry=0)
        with self._lock:
            self._ready.clear()
            topics = [self._control_topic] + [tp.service_topic(s, self.bus_id)
                                              for s in self._services]
            servers = list(self._servers.values())
            self._servers.clear()
            if self._control_server is not None:
                servers.append(self._control_server)
                self._control_server = None
        # Leaving for good: do not wait for idle listeners to notice (up to 5 s on RabbitMQ);
        # requests they still take find no service and get an error.
        tp.stop_servers(servers, block=self.inprocess)  # in-process stops are instant
        self._wait_idle(list(self._services))
        for service_id, service in list(self._services.items()):
            self._detach(service_id, service)
        with self._lock:
            self._running = False
            self._teardown(topics)
        LOG.info("Bus node %s stopped", self.node_id)

    def _teardown(self, topics: list[str]) -> None:
        servers = list(self._servers.values())
        if self._control_server is not None:
            servers.append(self._control_server)
        tp.stop_servers(servers, block=self.inprocess)  # in-process stops are instant
        self._servers.clear()
        self._control_server = None
        self._ready.clear()
        if self._sender_thread is not None:
            self._sender_queue.put(None)
            self._sender_thread.join(timeout=30)
            self._sender_thread = None
        self._subs.stop()
        if self._events is not None:
            in_callback = threading.current_thread().name.startswith(f"bus-{self.node_id}-events")
            self._events.shutdown(wait=not in_callback)
            self._events = None
        with self._deadline_pool_lock:
            pool, self._deadline_pool = self._deadline_pool, None
        if pool is not None:
            pool.shutdown(wait=False)      # abandoned calls end by their own RPC timeout
        with self._peers_lock:
            self._peers = {}
        with self._interest_lock:
            self._interest = {}
            self._remote_interest = frozenset()
        with self._hooks_lock:
            self._subscribed = set()
        transport, self._transport = self._transport, None
        self._clients = {}
        if transport is not None:
            self._release_transport(transport, topics)
        with _INPROCESS_LOCK:
            if _INPROCESS.get((self.bus_id, self.node_id)) is self:
                del _INPROCESS[(self.bus_id, self.node_id)]

    def _release_transport(self, transport: Any, topics: list[str] | None = None) -> None:
        if self.inprocess:
            # cleanup() of the in-process driver would wipe the queues of every node of the
            # process; only forget ours.
            tp.purge_inprocess_queues(transport, topics or [], self.node_id)
        else:
            # Closing the connections can take seconds (oslo's reply waiter notices on its next
            # poll); nothing uses this transport any more, so do not wait for it.
            def cleanup() -> None:
                try:
                    transport.cleanup()
                except Exception:  # pragma: no cover
                    LOG.debug("transport cleanup failed", exc_info=True)
            threading.Thread(target=cleanup, daemon=True,
                             name=f"bus-{self.node_id}-cleanup").start()

    def _check_duplicate(self, transport: Any) -> None:
        if self.inprocess:
            with _INPROCESS_LOCK:
                other = _INPROCESS.get((self.bus_id, self.node_id))
                if other is not None and other is not self and other._running:
                    raise exceptions.DuplicateNodeError(
                        f"Node id '{self.node_id}' is already in use on bus '{self.bus_id}'")
                _INPROCESS[(self.bus_id, self.node_id)] = self
            return
        # A live node with our id answers on its own server queue within milliseconds.
        timeout = min(self.ping_timeout, _DUPLICATE_PROBE_MAX)
        client = tp.make_client(transport, self._control_topic).prepare(
            server=self.node_id, timeout=timeout)
        try:
            reply = client.call(self._ctxt(), "bus_whois")
        except tp.MessagingTimeout:
            return
        other = (reply or {}).get("instance", "?")
        raise exceptions.DuplicateNodeError(
            f"Node id '{self.node_id}' is already in use on bus '{self.bus_id}' "
            f"(live instance {str(other)[:8]})")

    # ================================================================== services
    def register_service(self, service: Service) -> None:
        """Host ``service`` here: start its RPC server and call its start()."""
        if not isinstance(service, Service):
            raise TypeError("register_service expects a congress.bus.Service")
        service_id = service.service_id
        with self._lock:
            if service_id in self._services:
                raise exceptions.Conflict(
                    f"Service '{service_id}' is already registered on node '{self.node_id}'")
            if service.node is not None and service.node is not self:
                raise exceptions.Conflict(
                    f"Service '{service_id}' is registered on node '{service.node.node_id}'")
            service.reset_publisher()
            service.node = self
            self._services[service_id] = service
            try:
                if self._running:
                    self._start_server(service)
                service.start()
            except BaseException:
                server = self._servers.pop(service_id, None)
                if server is not None:
                    tp.stop_servers([server])
                del self._services[service_id]
                service.node = None
                raise
            if self._running:
                self._ready.add(service_id)
        early, service.early_subscriptions = service.early_subscriptions, set()
        for publisher_id, table in sorted(early):
            self.subscribe_table(service_id, publisher_id, table)
        LOG.info("Service %s registered on node %s", service_id, self.node_id)
        self._wake.set()
        self._recompute_subscribers()

    def unregister_service(self, service_id: str) -> None:
        """Stop serving ``service_id`` here and call its stop()."""
        with self._lock:
            service = self._services.get(service_id)
            if service is None:
                raise _service_not_found(service_id)
            self._ready.discard(service_id)
            server = self._servers.pop(service_id, None)
        if server is not None:
            tp.stop_servers([server])
            self._wait_idle([service_id])
            if self.inprocess and self._transport is not None:
                tp.purge_inprocess_queues(self._transport,
                                          [tp.service_topic(service_id, self.bus_id)],
                                          self.node_id)
        self._detach(service_id, service)

    def _detach(self, service_id: str, service: Service) -> None:
        # Keep its subscriptions with the service: registering it again resumes them.
        service.early_subscriptions = self._subs.remove_all(service_id)
        with self._lock:
            self._services.pop(service_id, None)
        try:
            service.stop()
        except Exception:
            LOG.exception("Service %s failed to stop", service_id)
        service.node = None
        LOG.info("Service %s unregistered from node %s", service_id, self.node_id)
        self._wake.set()
        self._recompute_subscribers()

    def _start_server(self, service: Service) -> None:
        server = tp.make_server(self._transport, tp.service_topic(service.service_id, self.bus_id),
                                self.node_id, [_ServiceEndpoint(self, service.service_id)])
        server.start()
        self._servers[service.service_id] = server

    def local_service(self, service_id: str) -> Service | None:
        return self._services.get(service_id)

    # ================================================================== RPC: caller side
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
            raise _service_not_found(service_id)
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
            raise av.ServiceDown(f"Service '{service_id}' is unavailable: {problem}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timed_out(service_id)
        if not self._known(service_id, node_id):
            self._ping(service_id, node_id, timeout=min(self.ping_timeout, remaining))
        if not av.hold(self._limiter, service_id):
            raise av.ServiceDown(
                f"Service '{service_id}' is unavailable: {self._limiter.limit} requests "
                "are already waiting for it", retry_after=1.0)
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
                raise av.ServiceDown(f"Service '{service_id}' is unavailable: {problem}")
            if time.monotonic() >= deadline:
                raise _timed_out(service_id)

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
            raise _service_not_found(service_id)
        if not self._known(service_id, node_id):
            self._ping(service_id, node_id)
        client = self._client(tp.service_topic(service_id, self.bus_id)).prepare(
            server=node_id, retry=_CALL_RETRY)
        LOG.debug("cast %s.%s node=%s", service_id, method, node_id or "any")
        self._send_cast(client, service_id, method, kwargs)

    def broadcast(self, service_id: str, method: str, **kwargs: Any) -> None:
        """Cast to every node hosting ``service_id``, this one included (fan-out)."""
        self._require_running(service_id)
        client = self._client(tp.service_topic(service_id, self.bus_id)).prepare(
            fanout=True, retry=_CALL_RETRY)
        LOG.debug("broadcast %s.%s", service_id, method)
        self._send_cast(client, service_id, method, kwargs)

    def _send_cast(self, client: Any, service_id: str, method: str,
                   kwargs: dict[str, Any]) -> None:
        payload = tp.wire_copy(kwargs) if self.inprocess else kwargs
        try:
            client.cast(self._ctxt(), "bus_invoke", op=method, args=payload)
        except tp.MessagingException as exc:
            LOG.warning("Could not send %s to service %s: %s", method, service_id, exc)
            raise _timed_out(service_id) from None

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
        if self.inprocess and not _inprocess_hosts(self.bus_id, service_id, node_id):
            raise _service_not_found(service_id)
        timeout = self.ping_timeout if timeout is None else timeout
        LOG.debug("service %s unknown; pinging it (%.1fs)", service_id, timeout)
        try:
            self._rpc(service_id, "bus.ping", {}, timeout=timeout, node_id=node_id)
        except exceptions.RpcTimeout:
            raise _service_not_found(service_id) from None

    def _rpc(self, service_id: str, method: str, kwargs: dict[str, Any], *, timeout: float,
             node_id: str | None) -> Any:
        client = self._client(tp.service_topic(service_id, self.bus_id)).prepare(
            server=node_id, timeout=timeout, retry=_CALL_RETRY)
        payload = tp.wire_copy(kwargs) if self.inprocess else kwargs
        LOG.debug("RPC %s.%s node=%s timeout=%s", service_id, method, node_id or "any", timeout)
        try:
            envelope = client.call(self._ctxt(), "bus_invoke", op=method, args=payload)
        except tp.MessagingTimeout:
            raise _timed_out(service_id) from None
        except tp.MessagingException as exc:
            if type(exc).__name__ == "RemoteError":
                raise exceptions.CongressError(
                    f"Error in service '{service_id}': {getattr(exc, 'exc_type', '')}: "
                    f"{getattr(exc, 'value', exc)}", code=REMOTE_ERROR_CODE,
                    http_status=500) from None
            LOG.warning("Request %s to service %s failed: %s", method, service_id, exc)
            raise _timed_out(service_id) from None
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
                raise _service_not_found(service_id)
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

    # ================================================================== heartbeats and peers
    def peers(self) -> dict[str, Peer]:
        """Live peers (not this node), by node id."""
        with self._peers_lock:
            return dict(self._peers)

    def nodes_for(self, service_id: str) -> list[str]:
        """Ids of the live nodes hosting ``service_id`` (this one included)."""
        nodes = [p.node_id for p in list(self._peers.values()) if p.hosts(service_id)]
        if service_id in self._ready:
            nodes.append(self.node_id)
        return sorted(nodes)

    def add_peer_listener(self, callback: PeerListener) -> None:
        """``callback(event, peer)`` with event "joined", "lost" or "updated".

        Called on one thread per node, in order; keep it quick.
        """
        self._listeners.append(callback)

    def remove_peer_listener(self, callback: PeerListener) -> None:
        try:
            self._listeners.remove(callback)
        except ValueError:
            pass

    def wait_for_service(self, service_id: str, timeout: float = 10.0,
                         node_id: str | None = None) -> bool:
        """Wait until some node (or ``node_id``) is known to host ``service_id``."""
        deadline = time.monotonic() + timeout
        while True:
            nodes = self.nodes_for(service_id)
            if nodes and (node_id is None or node_id in nodes):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def _heartbeat_payload(self) -> dict[str, Any]:
        services: dict[str, Any] = {}
        published: dict[str, Any] = {}
        for service_id, service in list(self._services.items()):
            if service_id not in self._ready:
                continue
            try:
                info = service.heartbeat_info() or {}
            except Exception:
                LOG.exception("heartbeat_info of %s failed", service_id)
                info = {}
            services[service_id] = info
            # Every service's incarnation, even with nothing published: subscribers notice a
            # restarted publisher although it has not published anything yet.
            published[service_id] = [service.incarnation, service.published_tables()]
        return {"node_id": self.node_id, "instance": self.instance, "services": services,
                "subs": self._subs.summary(), "pubs": published}

    def _heartbeat_loop(self) -> None:
        hello_sent = False
        while not self._stop_event.is_set():
            self._wake.clear()
            try:
                payload = self._heartbeat_payload()
                sent = self._cast_control("bus_heartbeat" if hello_sent else "bus_hello",
                                          {"hb": payload}, retry=_FANOUT_RETRY)
                hello_sent = hello_sent or sent
                self._expire_peers()
                self._recompute_subscribers()
                self._subs.tick()
            except Exception:
                LOG.exception("heartbeat of node %s failed", self.node_id)
            self._wake.wait(self.heartbeat_interval)
            self._stop_event.wait(0.005)  # coalesce bursts of wake-ups

    def _cast_control(self, method: str, kwargs: dict[str, Any], *, retry: int) -> bool:
        """Fan-out cast on the control topic. False (and a log line) if it failed."""
        try:
            client = self._client(self._control_topic).prepare(fanout=True, retry=retry)
            if self.inprocess:
                kwargs = tp.wire_copy(kwargs)
            client.cast(self._ctxt(), method, **kwargs)
        except Exception as exc:
            if not self._send_failing:
                LOG.warning("Node %s cannot send on bus %s: %s", self.node_id, self.bus_id, exc)
                self._send_failing = True
            else:
                LOG.debug("send %s failed: %s", method, exc)
            return False
        if self._send_failing:
            LOG.info("Node %s can send on bus %s again", self.node_id, self.bus_id)
            self._send_failing = False
        return True

    def _on_heartbeat(self, hb: dict[str, Any], *, hello: bool) -> None:
        try:
            node_id, instance = hb["node_id"], hb["instance"]
        except (KeyError, TypeError):
            LOG.warning("malformed heartbeat: %r", hb)
            return
        if node_id == self.node_id:
            if instance != self.instance and instance not in self._duplicates_seen:
                self._duplicates_seen.add(instance)
                LOG.error("Another node uses our id %s on bus %s (instance %s)",
                          self.node_id, self.bus_id, str(instance)[:8])
            return
        peer = peer_from_heartbeat(hb, time.monotonic())
        self._availability.seen(peer.services)
        events: list[tuple[str, Peer]] = []
        with self._peers_lock:
            if not self._running:
                return
            old = self._peers.get(node_id)
            self._peers[node_id] = peer
        if old is None:
            events.append(("joined", peer))
        elif old.instance != peer.instance:
            events += [("lost", old), ("joined", peer)]
        elif not same_view(old, peer):
            events.append(("updated", peer))
        if events:
            self._emit(events)
            self._subs.publishers_seen(peer.services)
        if events or old is None or old.subscriptions != peer.subscriptions:
            self._recompute_subscribers()
        if hello:
            self._wake.set()

    def _on_goodbye(self, node_id: str, instance: str) -> None:
        with self._peers_lock:
            peer = self._peers.get(node_id)
            if peer is None or peer.instance != instance:
                return
            del self._peers[node_id]
        self._availability.lost(peer, time.monotonic())
        self._emit([("lost", peer)])
        self._recompute_subscribers()
        self._subs.tick()

    def _expire_peers(self) -> None:
        now = time.monotonic()
        lost = []
        with self._peers_lock:
            for node_id, peer in list(self._peers.items()):
                if now - peer.last_seen > self.heartbeat_timeout:
                    del self._peers[node_id]
                    lost.append(peer)
                    self._availability.lost(peer, now)
        if lost:
            self._emit([("lost", p) for p in lost])
            self._recompute_subscribers()

    def _emit(self, events: list[tuple[str, Peer]]) -> None:
        for event, peer in events:
            if event == "joined":
                LOG.info("Peer %s joined bus %s (instance %s, services: %s)", peer.node_id,
                         self.bus_id, peer.instance[:8], ", ".join(sorted(peer.services)))
            elif event == "lost":
                LOG.info("Peer %s (instance %s) lost from bus %s", peer.node_id,
                         peer.instance[:8], self.bus_id)
            else:
                LOG.debug("Peer %s updated: services %s", peer.node_id, sorted(peer.services))
            for callback in list(self._listeners):
                self._submit_event(callback, event, peer)

    def _submit_event(self, fn: Callable[..., Any], *args: Any) -> None:
        executor = self._events
        if executor is None:
            return

        def run() -> None:
            try:
                fn(*args)
            except Exception:
                LOG.exception("bus callback %r failed", fn)
        try:
            executor.submit(run)
        except RuntimeError:  # shut down
            pass

    # ================================================================== publishing
    def publish_update(self, service: Service, table: str, update: TableUpdate) -> None:
        """A local publisher changed ``table`` (called under the publisher's lock)."""
        if self._services.get(service.service_id) is not service:
            return
        msg = DataMsg(service.service_id, table, self.node_id, self.instance, update)
        if self._subs.has_local(service.service_id, table):
            self._subs.put_data(msg)
        if self._running and (service.service_id, table) in self._remote_interest:
            self._sender_queue.put(msg)
        LOG.debug("published %s:%s seq %s (%s)", service.service_id, table, update.seqnum,
                  "snapshot" if update.is_snapshot else
                  f"+{len(update.added)} -{len(update.removed)}")

    def _sender_loop(self) -> None:
        q = self._sender_queue
        while True:
            msg = q.get()
            if msg is None:
                return
            try:
                sent = self._cast_control("bus_data", {"msg": msg.to_wire()},
                                          retry=_FANOUT_RETRY)
            except Exception:
                LOG.exception("sending %s:%s failed", msg.publisher, msg.table)
                sent = False
            if not sent:
                # The broker is unreachable: what is queued would go out late or not at all.
                # Drop it; subscribers see the gap (or the seqnums in our heartbeats) and resync.
                dropped = 0
                while True:
                    try:
                        item = q.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        return
                    dropped += 1
                if dropped:
                    LOG.debug("dropped %d queued table updates", dropped)

    def _serve_snapshot(self, service: Service, table: Any) -> dict[str, Any]:
        if not isinstance(table, str) or not table:
            raise exceptions.BadRequest("bus.snapshot needs a table")
        caller = current_caller()
        if caller is not None and caller.node_id:
            self._note_interest(service.service_id, table, caller.node_id)
        incarnation, seqnum, rows = service.bus_snapshot(table)
        LOG.debug("snapshot of %s:%s seq %s (%d rows) for %s", service.service_id, table,
                  seqnum, len(rows), caller.node_id if caller else None)
        return {"inc": incarnation, "seq": seqnum, "rows": [list(r) for r in rows],
                "node": self.node_id, "instance": self.instance}

    def _note_interest(self, publisher_id: str, table: str, node_id: str) -> None:
        """``node_id`` fetched a snapshot: send it deltas from now on."""
        if node_id == self.node_id:
            return
        key = (publisher_id, table)
        with self._interest_lock:
            self._interest.setdefault(key, {})[node_id] = time.monotonic()
            if key not in self._remote_interest:
                self._remote_interest = self._remote_interest | {key}
        self._recompute_subscribers()

    def _recompute_subscribers(self) -> None:
        """Which local publishers' tables have subscribers; fire the hooks on changes.

        Subscribers are: local subscriptions, peers' subscriptions (from heartbeats) and nodes
        that fetched a snapshot less than ``heartbeat_timeout`` ago (their heartbeat may not
        list the subscription yet). The same set gates sending deltas to other nodes.
        """
        with self._hooks_lock:
            now = time.monotonic()
            local = set(self._ready)
            remote: set[tuple[str, str]] = set()
            for peer in list(self._peers.values()):
                for publisher_id, tables in peer.subscriptions.items():
                    remote.update((publisher_id, t) for t in tables)
            with self._interest_lock:
                for key, nodes in list(self._interest.items()):
                    for node_id, since in list(nodes.items()):
                        if now - since > self.heartbeat_timeout:
                            del nodes[node_id]
                    if nodes:
                        remote.add(key)
                    else:
                        del self._interest[key]
                self._remote_interest = frozenset(remote)
            wanted = {k for k in self._subs.pairs() if k[0] in local}
            wanted.update(k for k in remote if k[0] in local)
            added = sorted(wanted - self._subscribed)
            removed = sorted(self._subscribed - wanted)
            self._subscribed = wanted
            for publisher_id, table in added:
                LOG.debug("%s:%s has subscribers", publisher_id, table)
                self._submit_event(self._run_hook, publisher_id, "on_first_subscriber", table)
            for publisher_id, table in removed:
                LOG.debug("%s:%s has no subscribers", publisher_id, table)
                self._submit_event(self._run_hook, publisher_id, "on_no_subscribers", table)

    def _run_hook(self, publisher_id: str, hook: str, table: str) -> None:
        service = self._services.get(publisher_id)
        if service is not None:
            getattr(service, hook)(table)

    # ================================================================== subscribing
    def subscribe_table(self, subscriber_id: str, publisher_id: str, table: str) -> None:
        if self._subs.add(subscriber_id, publisher_id, table):
            LOG.debug("%s subscribes to %s:%s", subscriber_id, publisher_id, table)
            self._wake.set()
            self._recompute_subscribers()

    def unsubscribe_table(self, subscriber_id: str, publisher_id: str, table: str) -> None:
        if self._subs.remove(subscriber_id, publisher_id, table):
            LOG.debug("%s unsubscribes from %s:%s", subscriber_id, publisher_id, table)
            self._wake.set()
            self._recompute_subscribers()

    def subscriptions_of(self, subscriber_id: str) -> set[tuple[str, str]]:
        return self._subs.of(subscriber_id)

    def _on_data(self, wire: dict[str, Any]) -> None:
        try:
            if wire["n"] == self.node_id and wire["i"] == self.instance:
                return        # our own publication: local subscribers already have it
            if not self._subs.has_local(wire["p"], wire["t"]):
                return
            msg = DataMsg.from_wire(wire)
        except (KeyError, TypeError, ValueError):
            LOG.warning("malformed table update: %.200r", wire)
            return
        LOG.debug("received %s:%s seq %s from %s", msg.publisher, msg.table,
                  msg.update.seqnum, msg.node_id)
        self._subs.put_data(msg)

    def fetch_snapshot(self, publisher_id: str, table: str, hint: str | None) -> DataMsg:
        """A snapshot of ``publisher_id``'s table, preferably from node ``hint`` (blocking)."""
        service = self._services.get(publisher_id)
        if service is not None and publisher_id in self._ready and hint in (None, self.node_id):
            incarnation, seqnum, rows = service.bus_snapshot(table)
            update = TableUpdate(True, rows, EMPTY, EMPTY, seqnum, incarnation)
            return DataMsg(publisher_id, table, self.node_id, self.instance, update)
        if hint is not None and (hint == self.node_id or not self._known(publisher_id, hint)):
            hint = None
        if not self._known(publisher_id, hint) or not self._running:
            raise _service_not_found(publisher_id)
        reply = self._rpc(publisher_id, "bus.snapshot", {"table": table},
                          timeout=self.rpc_timeout, node_id=hint)
        update = TableUpdate(True, freeze_rows(reply["rows"]), EMPTY, EMPTY, int(reply["seq"]),
                             str(reply["inc"]))
        return DataMsg(publisher_id, table, str(reply["node"]), str(reply["instance"]), update)

    def source_status(self, publisher_id: str, table: str,
                       source: tuple[str, str] | None) -> tuple[bool, tuple[str, int] | None]:
        """Is the publisher we synced from still there, and what does it announce?"""
        if source is None:
            return False, None
        node_id, instance = source
        if node_id == self.node_id:
            service = self._services.get(publisher_id)
            if instance != self.instance or service is None or publisher_id not in self._ready:
                return False, None
            return True, (service.incarnation, service.published_tables().get(table, -1))
        peer = self._peers.get(node_id)
        if peer is None or peer.instance != instance or not peer.hosts(publisher_id):
            return False, None
        return True, peer.advertised(publisher_id, table)

    # ================================================================== test hooks
    def set_loss_filter(self, predicate: Callable[[DataMsg], bool] | None) -> None:
        """Testing: drop incoming table updates for which ``predicate(msg)`` is true."""
        self._subs.loss_filter = predicate


def _inprocess_hosts(bus_id: str, service_id: str, node_id: str | None) -> bool:
    with _INPROCESS_LOCK:
        nodes = [n for (b, nid), n in _INPROCESS.items()
                 if b == bus_id and (node_id is None or nid == node_id)]
    return any(n._running and service_id in n._ready for n in nodes)
