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

The node's concerns are split by module: :mod:`congress.bus.rpc` (calls between services),
:mod:`congress.bus.heartbeats` (membership) and :mod:`congress.bus.routing` (table updates);
this module has construction, lifecycle and the service table.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from oslo_config import cfg

from congress import exceptions
from congress.bus import availability as av
from congress.bus import errors, inprocess
from congress.bus import transport as tp
from congress.bus.heartbeats import Heartbeats, PeerListener
from congress.bus.membership import Peer
from congress.bus.pubsub import Subscriptions
from congress.bus.routing import TableRouting
from congress.bus.rpc import Rpc, ServiceEndpoint
from congress.bus.service import Service

LOG = logging.getLogger("congress.bus")

_DUPLICATE_PROBE_MAX = 2.0


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


class Node(Rpc, Heartbeats, TableRouting):
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
        url = tp.configured_url(conf)
        if not tp.is_inprocess(url):
            tp.register_messaging_opts(conf)
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

    def serves(self, service_id: str) -> bool:
        """Whether ``service_id`` is registered here and serving (advertised to peers)."""
        return service_id in self._ready

    def get_service(self, service_id: str) -> Service | None:
        return self._services.get(service_id)

    def renew_dispatcher(self, wait: float = 0.0) -> None:
        """The thread that hands table updates to this node's subscribers (the policy
        engine's big absorbing work) makes way for a fresh one between two updates (waiting
        up to ``wait`` seconds for it to end)."""
        self._subs.renew_thread(wait)

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
        with inprocess.LOCK:
            if inprocess.NODES.get((self.bus_id, self.node_id)) is self:
                del inprocess.NODES[(self.bus_id, self.node_id)]

    def _release_transport(self, transport: Any, topics: list[str] | None = None) -> None:
        if self.inprocess:
            # the in-process queues are the process's: forget only ours
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
            with inprocess.LOCK:
                other = inprocess.NODES.get((self.bus_id, self.node_id))
                if other is not None and other is not self and other._running:
                    raise exceptions.DuplicateNodeError(
                        f"Node id '{self.node_id}' is already in use on bus '{self.bus_id}'")
                inprocess.NODES[(self.bus_id, self.node_id)] = self
            return
        # No consumer on our server queue: no live node has our id (the broker says so at
        # once). Otherwise, or when the broker cannot be asked, a live node with our id
        # answers on that queue within milliseconds; a consumer left by a node that died
        # without closing its connection does not.
        if tp.server_queue_consumers(self._conf, self.transport_url, self._control_topic,
                                     self.node_id) == 0:
            return
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
                raise errors.service_not_found(service_id)
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
                                self.node_id, [ServiceEndpoint(self, service.service_id)])
        server.start()
        self._servers[service.service_id] = server

    def local_service(self, service_id: str) -> Service | None:
        return self._services.get(service_id)
