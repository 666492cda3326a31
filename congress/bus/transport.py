"""Transports, topic names, RPC servers and clients of the bus.

The in-process bus (``transport_url`` unset, ``inprocess://`` or ``fake://``) runs on
:mod:`congress.bus.local`; a broker on oslo.messaging, imported only then (:func:`oslo`). This
module (with the rest of ``congress/bus``) is the only place Congress touches oslo.messaging.
Both raise the errors of this module: :class:`MessagingTimeout`, :class:`RemoteError` and
other :class:`MessagingException`.
"""

from __future__ import annotations

import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

from oslo_config import cfg
from oslo_serialization import jsonutils

from congress.bus import local
from congress.bus.local import (  # noqa: F401 - the bus's errors, on either transport
    MessagingException,
    MessagingTimeout,
    RemoteError,
)
from congress.bus.threads import use_threads

LOG = logging.getLogger(__name__)

CALL_RETRY = 2        # connection attempts of a call/cast before giving up (broker down)
FANOUT_RETRY = 1      # same for heartbeats and table updates (losses are repaired later)

EXCHANGE = "congress"
_INPROCESS_SCHEMES = ("inprocess", "fake")
_SAFE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
DEFAULT_POOL_SIZE = 64   # RPC worker threads per server, as executor_thread_pool_size


def oslo() -> Any:
    """oslo.messaging, imported on first use, after oslo.service's threading backend was
    chosen (:mod:`congress.bus.threads`)."""
    use_threads()
    import oslo_messaging
    return oslo_messaging


def is_inprocess(url: str | None) -> bool:
    """None, "" and inprocess:// (or oslo's fake://) select the in-process transport."""
    if not url:
        return True
    return url.split(":", 1)[0].lower() in _INPROCESS_SCHEMES


def topic_part(text: str) -> str:
    """Make ``text`` safe inside an AMQP routing key (no '.', '*', '#'), injectively."""
    out = []
    for ch in text:
        if ch in _SAFE_CHARS:
            out.append(ch)
        else:
            out.extend(f"~{b:02x}" for b in ch.encode("utf-8"))
    return "".join(out)


def control_topic(bus_id: str) -> str:
    return f"congress-control-{topic_part(bus_id)}"


def service_topic(service_id: str, bus_id: str) -> str:
    return f"congress-service-{topic_part(service_id)}-{topic_part(bus_id)}"


def register_messaging_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's options on ``conf`` (transport_url, [oslo_messaging_rabbit] ...)
    for a node on a broker.

    oslo.messaging registers some groups (tracing, metrics) on the global ``cfg.CONF`` only but
    reads them from the transport's conf; a private ConfigOpts needs them too.
    """
    oslo()
    for group, opts in messaging_opts().list_opts():
        try:
            conf.register_opts(opts, group=group)
        except cfg.DuplicateOptError:  # pragma: no cover - defaults changed after registration
            LOG.debug("oslo.messaging options of group %s already registered", group)
    for module_name, attr, group in (
            ("oslo_messaging._tracing.client", "oslo_messaging_tracing", "oslo_messaging_tracing"),
            ("oslo_messaging._metrics.client", "oslo_messaging_metrics", "oslo_messaging_metrics")):
        try:
            module = __import__(module_name, fromlist=[attr])
            conf.register_opts(getattr(module, attr), group=group)
        except (ImportError, AttributeError):
            continue
        except cfg.DuplicateOptError:  # pragma: no cover - differing copies registered elsewhere
            continue


def configured_url(conf: cfg.ConfigOpts) -> str | None:
    """``transport_url`` as the configuration gives it (files, command line, environment,
    overrides); None when it is left at its default, which means the in-process bus.

    Until a node on a broker registers oslo.messaging's options, ``conf`` does not know the
    option: then the configuration files and the environment ``conf`` read are read again with
    that one option (importing oslo.messaging to learn whether it is needed would cost the
    all-in-one start what it saves)."""
    if "transport_url" not in conf:
        conf = _probe_conf(_read(conf, "config_file"), _read(conf, "config_dir"))
    try:
        location = conf.get_location("transport_url")
        if location is not None and location.location == cfg.Locations.opt_default:
            return None
    except (AttributeError, cfg.NoSuchOptError):  # pragma: no cover - old oslo.config
        pass
    return conf.transport_url or None


def _read(conf: cfg.ConfigOpts, name: str) -> list[str]:
    """The configuration files or directories ``conf`` read (none before it was called)."""
    try:
        value = getattr(conf, name)
    except cfg.NoSuchOptError:
        return []
    return [value] if isinstance(value, str) else list(value or [])


def _probe_conf(files: list[str], dirs: list[str]) -> cfg.ConfigOpts:
    probe = cfg.ConfigOpts()
    probe.register_opt(cfg.StrOpt("transport_url", secret=True))
    probe(args=[], default_config_files=files, default_config_dirs=dirs)
    return probe


def messaging_opts() -> Any:
    """oslo.messaging's ``opts`` module (imported on first use: it imports every driver)."""
    from oslo_messaging import opts
    return opts


def make_transport(conf: cfg.ConfigOpts, url: str | None) -> Any:
    if is_inprocess(url):
        return local.LocalTransport()
    register_messaging_opts(conf)
    return oslo().get_rpc_transport(conf, url=url)


def _executor_kwargs() -> dict[str, Any]:
    # Newer oslo.messaging picks the threading executor by itself (unless eventlet patched the
    # interpreter, which Congress never does) and warns when told explicitly; older releases
    # need to be told.
    from oslo_messaging import _utils
    if hasattr(_utils, "get_executor_with_context"):
        return {}
    return {"executor": "threading"}


class ReusingExecutor(ThreadPoolExecutor):
    """The worker pool of Congress's RPC servers, in-process and on a broker: the standard
    library's, which starts a thread only when no worker is idle. oslo.messaging's threading
    executor (futurist's pool) starts one for every message until ``executor_thread_pool_size``
    (64) are running, so every RPC server of a node grew to 64 idle threads over time: an
    all-in-one server went from 50 to 160 threads, ~10 MiB of its RSS, over its first create /
    PUT / delete cycles (benchmarks/RESULTS.md). The limit stays 64 (on a broker
    ``executor_thread_pool_size``)."""

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="bus-rpc")


def make_server(transport: Any, topic: str, server: str, endpoints: list[Any]) -> Any:
    if isinstance(transport, local.LocalTransport):
        return local.LocalServer(topic, server, endpoints, ReusingExecutor, DEFAULT_POOL_SIZE)
    om = oslo()
    target = om.Target(exchange=EXCHANGE, topic=topic, server=server)
    rpc_server = om.get_rpc_server(transport, target, endpoints, **_executor_kwargs())
    if hasattr(rpc_server, "_executor_cls"):  # the pool class start() builds (oslo.messaging
        rpc_server._executor_cls = ReusingExecutor  # >= 5.x, Debian 12's 14.0 included)
    return rpc_server


def make_client(transport: Any, topic: str) -> Any:
    """A client of ``topic``: ``prepare(server=, fanout=, timeout=, retry=)`` aims it,
    ``call(ctxt, method, **kwargs)`` and ``cast(...)`` send; errors are this module's."""
    if isinstance(transport, local.LocalTransport):
        return local.LocalClient(topic)
    om = oslo()
    target = om.Target(exchange=EXCHANGE, topic=topic)
    getter = getattr(om, "get_rpc_client", None)
    if getter is not None:
        return _Client(getter(transport, target))
    return _Client(om.RPCClient(transport, target))  # pragma: no cover - old oslo.messaging


class _Client:
    """oslo.messaging's client, raising this module's errors."""

    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        self._client = client

    def prepare(self, **kwargs: Any) -> _Client:
        return _Client(self._client.prepare(**kwargs))

    def call(self, ctxt: dict[str, Any], method: str, **kwargs: Any) -> Any:
        try:
            return self._client.call(ctxt, method, **kwargs)
        except Exception as exc:
            _raise_translated(exc)

    def cast(self, ctxt: dict[str, Any], method: str, **kwargs: Any) -> None:
        try:
            self._client.cast(ctxt, method, **kwargs)
        except Exception as exc:
            _raise_translated(exc)


def _raise_translated(exc: Exception) -> NoReturn:
    """Raise this module's error for oslo.messaging's ``exc``; anything else as it was."""
    translated = _translated(exc)
    if translated is exc:
        raise exc
    raise translated from exc


def _translated(exc: Exception) -> Exception:
    """This module's error for oslo.messaging's ``exc`` (anything else as it is)."""
    om = sys.modules.get("oslo_messaging")
    if om is None or not isinstance(exc, om.MessagingException):
        return exc
    if isinstance(exc, om.MessagingTimeout):
        return MessagingTimeout(str(exc))
    if type(exc).__name__ == "RemoteError":
        return RemoteError(str(getattr(exc, "exc_type", "")), str(getattr(exc, "value", exc)))
    return MessagingException(str(exc))


def stop_servers(servers: list[Any], *, block: bool = True) -> None:
    """Stop RPC servers.

    With ``block`` this returns once they take no new requests: an idle RabbitMQ listener only
    notices on its next poll, up to 5 s later, so all servers are stopped in parallel. Without
    ``block`` they stop in the background (a node that leaves answers late requests with an
    error instead). oslo's ``wait()`` (release worker threads and connections) always runs in
    the background: idle pool threads poll once a second. Callers that need in-flight requests
    finished track them themselves (``Node`` does).
    """
    stopped = [threading.Event() for _ in servers]

    def stop(server: Any, done: threading.Event) -> None:
        try:
            server.stop()
        except Exception:  # pragma: no cover - best effort at shutdown
            LOG.debug("error stopping RPC server", exc_info=True)
            return
        finally:
            done.set()
        try:
            server.wait()
        except Exception:  # pragma: no cover
            LOG.debug("error waiting for RPC server", exc_info=True)

    for server, done in zip(servers, stopped, strict=True):
        threading.Thread(target=stop, args=(server, done), daemon=True,
                         name="bus-server-stop").start()
    if block:
        for done in stopped:
            done.wait(30)


def server_queue_consumers(conf: cfg.ConfigOpts, url: str | None, topic: str,
                           server: str) -> int | None:
    """How many consumers RabbitMQ's queue of RPC server ``server`` on ``topic`` has (0 when
    the queue does not exist); None when that cannot be told (another driver, TLS, the broker
    not answering at once ...).

    A passive ``queue.declare`` on a short connection of its own: it creates nothing, and the
    broker answers at once, where an RPC call to a node that is not there takes its whole
    timeout to say so. The queue is oslo.messaging's ``<topic>.<server>``.
    """
    if is_inprocess(url) or not url or url.split(":", 1)[0].lower() not in ("rabbit", "amqp"):
        return None
    try:
        if conf.oslo_messaging_rabbit.ssl:
            return None
        import amqp  # oslo.messaging's rabbit driver runs on it (through kombu)

        parsed = oslo().TransportURL.parse(conf, url)
        host = parsed.hosts[0]
        conn = amqp.Connection(
            host=f"{host.hostname or '127.0.0.1'}:{host.port or 5672}",
            userid=host.username or "guest", password=host.password or "guest",
            virtual_host=parsed.virtual_host or "/", connect_timeout=2.0)
    except Exception:  # pragma: no cover - a URL oslo.messaging would read otherwise
        LOG.debug("cannot probe queue %s.%s", topic, server, exc_info=True)
        return None
    try:
        conn.connect()
        channel = conn.channel()
        try:
            return int(channel.queue_declare(f"{topic}.{server}", passive=True).consumer_count)
        except amqp.exceptions.NotFound:
            return 0
    except Exception:
        LOG.debug("cannot probe queue %s.%s", topic, server, exc_info=True)
        return None
    finally:
        try:
            conn.collect() if not conn.connected else conn.close()
        except Exception:  # pragma: no cover - best effort
            LOG.debug("closing the probe connection failed", exc_info=True)


def wire_copy(obj: Any) -> Any:
    """What the receiver of ``obj`` gets after JSON encoding (tuples become lists ...).

    The in-process transport hands objects over as they are; passing them through this keeps the
    single-process mode honest about what a real broker would deliver.
    """
    return jsonutils.loads(jsonutils.dumps(obj))


def purge_inprocess_queues(transport: Any, topics: list[str], server: str) -> None:
    """Forget the in-process queues of a stopped server (:func:`congress.bus.local.purge`)."""
    local.purge(topics, server)
