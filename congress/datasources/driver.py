"""The datasource driver framework: one bus service per datasource.

A driver class declares what it is (``DRIVER_ID``, ``DESCRIPTION``), which options it takes
(``CONFIG``), which tables it fills (``TRANSLATORS``, or ``SCHEMA`` for drivers without
translators) and which actions it can execute (``ACTIONS`` wrapper methods and an
``ACTION_CLIENT`` facade whose methods are listed by introspection). An instance is a
:class:`congress.bus.Service` whose id is the datasource name; it keeps the current rows of every
table (``{table: frozenset(rows)}``) and publishes every table after a change; the bus sends
subscribers only the difference.

Two kinds of drivers:

* :class:`PollingDriver`: polls its source every ``poll_time`` seconds (0: only when a refresh is
  requested) on a thread of its own; a failing source leaves the last good rows in place and
  shows the reason in ``last_error`` until a later poll succeeds. ``lazy_tables`` are not polled
  until some service subscribes to them.
* :class:`PushDriver`: rows arrive by ``replace_table`` (``PUT .../rows``) or ``webhook``; with
  ``persist_data`` they are stored in the database (``dstabledata``) in one transaction before
  the call returns, and restored when a driver for the datasource starts again (warm standby).

Actions (:mod:`congress.datasources.execution`) are shared by every driver.

RPC methods (doc/architecture.md, "Service RPC contract"): ``get_status``, ``get_schema``,
``get_table_spec``, ``get_actions``, ``list_tables``, ``get_rows``, ``replace_table``,
``webhook``, ``request_refresh``, ``request_execute``.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from oslo_config import cfg

from congress import bus, exceptions, gcpause
from congress.bus.service import frozen_in_steps
from congress.datasources import execution, json_array
from congress.datasources.translators import TranslatorSet
from congress.datasources.values import normalize_value

LOG = logging.getLogger(__name__)

REQUIRED = "required"
OPTIONAL = "(optional)"

OPTION_TYPES = ("string", "int", "bool", "float", "list")
_TYPE_WORDS = {"string": "a string", "int": "an integer", "bool": "a boolean (true or false)",
               "float": "a number", "list": "a list (or a comma-separated string)"}

Row = tuple[Any, ...]


def opt(*, required: bool = False, secret: bool = False, type: str = "string",  # noqa: A002
        default: Any = None, desc: str | None = None) -> dict[str, Any]:
    """One entry of a driver's ``CONFIG``."""
    if type not in OPTION_TYPES:
        raise ValueError(f"unknown option type {type!r}")
    return {"required": required, "secret": secret, "type": type, "default": default,
            "desc": desc}


def utcnow_text() -> str:
    """Now, in UTC, in the form datasource status has always shown it (``str(datetime)``:
    ``2026-11-25 17:57:26.32``)."""
    return str(datetime.datetime.now(datetime.UTC).replace(tzinfo=None))


def coerce_option(name: str, value: Any, kind: str) -> Any:
    """``value`` as an option of type ``kind``; InvalidDriverOption (400) if it is not one."""
    def bad() -> exceptions.InvalidDriverOption:
        return exceptions.InvalidDriverOption(
            f"Invalid value for driver option {name}: expected {_TYPE_WORDS[kind]}, "
            f"got {value!r}", data={"option": name, "type": kind})

    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad()
    if kind == "int":
        if isinstance(value, bool):
            raise bad()
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise bad() from None
        raise bad()
    if kind == "float":
        if isinstance(value, bool):
            raise bad()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise bad() from None
        raise bad()
    if kind == "bool":
        # Strict, as OpenStack Congress read persist_data: only true/false (any case).
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise bad()
    # list
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise bad()


class DataSourceDriver(bus.Service):
    """Base of every driver. Subclasses set the class attributes below."""

    DRIVER_ID: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    #: option -> ``opt(...)``
    CONFIG: ClassVar[dict[str, dict[str, Any]]] = {}
    #: translator dicts (congress.datasources.translators)
    TRANSLATORS: ClassVar[list[dict[str, Any]]] = []
    #: for drivers without translators: table -> list of column dicts/names
    SCHEMA: ClassVar[dict[str, list[Any]] | None] = None
    #: wrapper actions: ``[{"name", "args": [{"name", "description"}], "description"}]``; the
    #: driver has a method of the same name taking the args dict ``{"positional", "named"}``.
    ACTIONS: ClassVar[list[dict[str, Any]]] = []
    #: facade class (execution.ActionClient) whose methods are the dotted client actions
    ACTION_CLIENT: ClassVar[type | None] = None
    #: the driver accepts PUT rows / webhooks
    PUSH: ClassVar[bool] = False

    rpc_methods = frozenset({
        "get_status", "get_schema", "get_table_spec", "get_actions", "list_tables",
        "get_rows", "replace_table", "replace_table_json", "webhook", "request_refresh",
        "request_execute", "publication_state",
    })

    # ------------------------------------------------------------------ class-level API
    @classmethod
    def translator_set(cls) -> TranslatorSet:
        """The compiled translators of this class (compiled once per class)."""
        ts = cls.__dict__.get("_translator_set_cache")
        if ts is None:
            ts = TranslatorSet(list(cls.TRANSLATORS))
            cls._translator_set_cache = ts
        return ts

    @classmethod
    def schema(cls) -> dict[str, list[dict[str, Any]]]:
        """``{table: [{"name", "desc", ...}, ...]}`` in table order."""
        if cls.SCHEMA is not None:
            out: dict[str, list[dict[str, Any]]] = {}
            for table, cols in cls.SCHEMA.items():
                out[table] = [dict(c) if isinstance(c, dict) else {"name": c, "desc": None}
                              for c in cols]
            return out
        return cls.translator_set().schema()

    @classmethod
    def secret_fields(cls) -> list[str]:
        return sorted(k for k, v in cls.CONFIG.items() if v.get("secret"))

    @classmethod
    def info(cls) -> dict[str, Any]:
        """The API's driver object (``GET /v1/system/drivers/<id>``)."""
        out: dict[str, Any] = {
            "id": cls.DRIVER_ID,
            "description": cls.DESCRIPTION,
            "config": {k: REQUIRED if v.get("required") else OPTIONAL
                       for k, v in cls.CONFIG.items()},
        }
        secrets = cls.secret_fields()
        if secrets:
            out["secret"] = secrets
        out["tables"] = api_tables(cls.schema())
        return out

    @classmethod
    def validate_config(cls, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check ``config`` against ``CONFIG``; returns it typed, with defaults filled in.

        Raises InvalidDriverOption (400): unknown options, missing required ones, ill-typed
        values. ``tenant_name`` stands in for a missing ``project_name`` (with a warning).
        """
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise exceptions.InvalidDriverOption("Driver config must be an object")
        spec = cls.CONFIG
        unknown = sorted(str(k) for k in config if k not in spec)
        if unknown:
            raise exceptions.InvalidDriverOption(
                f"Invalid driver options: {', '.join(unknown)}", data={"options": unknown})
        given = {k: v for k, v in config.items() if v is not None}
        if ("project_name" in spec and "project_name" not in given
                and given.get("tenant_name")):
            LOG.warning("Driver %s: config option tenant_name used as project_name; "
                        "tenant_name is deprecated, use project_name", cls.DRIVER_ID)
            given["project_name"] = given["tenant_name"]
        missing = sorted(k for k, v in spec.items() if v.get("required") and k not in given)
        if missing:
            raise exceptions.InvalidDriverOption(
                f"Missing required config options: {', '.join(missing)}",
                data={"options": missing})
        out: dict[str, Any] = {}
        for name, option in spec.items():
            if name in given:
                out[name] = coerce_option(name, given[name], option.get("type", "string"))
            elif option.get("default") is not None:
                out[name] = option["default"]
        cls.check_config(out)
        return out

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        """Driver-specific checks of a typed config (raise InvalidDriverOption)."""

    # ------------------------------------------------------------------ instance
    def __init__(self, name: str, ds_id: str, config: Mapping[str, Any] | None, *,
                 db: Any = None, conf: cfg.ConfigOpts | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.ds_id = ds_id
        self.config = self.validate_config(config)
        self.db = db
        if conf is None:
            from congress import config as congress_config
            conf = congress_config.new_conf()
        self.conf = conf
        self._lock = threading.RLock()
        self._schema = self.instance_schema()
        self._state: dict[str, frozenset[Row]] = {t: frozenset() for t in self._schema}
        self.last_updated: str | None = None
        self.last_error: str | None = None
        self.number_of_updates = 0
        self.initialized = False
        self._subscribed: set[str] = set()
        self._dirty: set[str] = set()
        #: table -> (rows before, added, removed) of its last change not yet published, when
        #: known (the publication then need not compute it again)
        self._changes: dict[str, tuple[frozenset[Row], frozenset[Row], frozenset[Row]]] = {}
        self._running = False
        self.executor = execution.ActionExecutor(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.DRIVER_ID})>"

    def instance_schema(self) -> dict[str, list[dict[str, Any]]]:
        """The schema of this datasource (the class schema unless it depends on config)."""
        return type(self).schema()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Registered on a node: publish what we have, start threads."""
        self._running = True
        self.executor.start()
        self.publish_all()

    def stop(self) -> None:
        self._running = False
        self.executor.stop()

    # ------------------------------------------------------------------ state
    def active_tables(self) -> list[str]:
        """Tables whose rows are known (all of them, except not yet subscribed lazy ones)."""
        return list(self._schema)

    def table_rows(self, table: str) -> frozenset[Row]:
        with self._lock:
            return self._state.get(table, frozenset())

    def set_tables(self, tables: Mapping[str, Iterable[Row]], *, publish: bool = True) -> None:
        """Replace the rows of ``tables``; publish the ones that changed (now or later)."""
        with self._lock:
            for table, rows in tables.items():
                if table not in self._schema:
                    raise KeyError(table)
                rows = rows if isinstance(rows, frozenset) else frozenset(rows)
                if rows != self._state[table]:
                    self._state[table] = rows
                    self._dirty.add(table)
                    self._changes.pop(table, None)
            if publish:
                self.publish_changes()

    def publish_changes(self) -> None:
        """Publish the tables changed since the last publication."""
        with self._lock:
            active = set(self.active_tables())
            for table in [t for t in self._schema if t in self._dirty and t in active]:
                self._dirty.discard(table)
                self.publish(table, self._state[table], self._changes.pop(table, None))

    def publish_all(self) -> None:
        """Publish every (active) table: subscribers get a snapshot of each."""
        with self._lock:
            for table in self.active_tables():
                self._dirty.discard(table)
                self._changes.pop(table, None)
                self.publish(table, self._state[table])

    def get_snapshot(self, table: str) -> Iterable[Any]:
        with self._lock:
            return self._state.get(table, frozenset())

    def _mark_updated(self) -> None:
        self.last_updated = utcnow_text()
        self.number_of_updates += 1

    def on_first_subscriber(self, table: str) -> None:
        with self._lock:
            self._subscribed.add(table)

    def on_no_subscribers(self, table: str) -> None:
        with self._lock:
            self._subscribed.discard(table)

    # ------------------------------------------------------------------ RPC: reads
    def get_status(self) -> dict[str, Any]:
        with self._lock:
            active = self.active_tables()
            rows = sum(len(self._state[t]) for t in active)
            status = {
                "last_updated": str(self.last_updated),
                "last_error": str(self.last_error),
                "number_of_updates": str(self.number_of_updates),
                "initialized": str(self.initialized),
                "number_of_tables": str(len(self._schema)),
                "number_of_rows": str(rows),
            }
        status["subscriptions"] = sorted([p, t] for p, t in self.subscriptions())
        status["subscribers"] = self._subscribers()
        return status

    def _subscribers(self) -> list[str]:
        """Local services subscribed to our tables, and the other nodes that subscribe."""
        node = self.node
        if node is None:
            return []
        out: set[str] = set()
        for service_id in node.services:
            service = node.get_service(service_id)
            if service is None or service is self:
                continue
            if any(p == self.service_id for p, _t in service.subscriptions()):
                out.add(service_id)
        for node_id, peer in node.peers().items():
            if peer.subscriptions.get(self.service_id):
                out.add(f"node:{node_id}")
        return sorted(out)

    def get_schema(self) -> dict[str, Any]:
        return {"tables": api_tables(self._schema)}

    def get_table_spec(self, table: str) -> dict[str, Any]:
        return table_spec(self.name, self._schema, table)

    def get_actions(self) -> dict[str, Any]:
        return {"results": self.executor.list_actions()}

    def list_tables(self) -> list[str]:
        return list(self._schema)

    def check_readable(self, table: str) -> None:
        if table not in self._schema:
            raise exceptions.NotFound(f"tablename '{table}' does not exist'",
                                      code="table_not_found")

    def get_rows(self, table: str) -> list[list[Any]]:
        self.check_readable(table)
        rows = self.table_rows(table)
        return [list(r) for r in sorted(rows, key=_row_sort_key)]

    def publication_state(self) -> dict[str, Any]:
        """Where this datasource's publications stand: ``{"publisher", "incarnation",
        "seqnums": {table: seqnum}}``. Asked right after a write, it is a fence: an engine that
        has applied these sequence numbers reflects the write (see
        ``PolicyEngineService.wait_applied``)."""
        with self._lock:
            return {"publisher": self.service_id, "incarnation": self.incarnation,
                    "seqnums": self.published_tables()}

    # ------------------------------------------------------------------ RPC: writes
    def replace_table(self, table: str, rows: Any) -> None:
        raise exceptions.BadRequest(
            f"Method replace_entire_table_data not supported for datasource {self.name}",
            code="not_a_push_driver")

    def replace_table_json(self, table: str, body: str) -> None:
        """``replace_table`` with the rows as the text of a JSON array (the body of
        ``PUT .../rows``), decoded here element by element, so that a big body does not hold
        the interpreter for the whole decode (:mod:`congress.datasources.json_array`). Text
        that is not JSON raises BadRequest with code ``invalid_json``."""
        if not self.PUSH:
            self.replace_table(table, None)     # refused, before decoding anything
        with gcpause.paused():
            try:
                rows, _ = json_array.decode(body)
            except json_array.InvalidJson as e:
                raise json_array.invalid_json(e) from None
            self.replace_table(table, rows)

    def webhook(self, payload: Any, table: str | None = None) -> None:
        raise exceptions.BadRequest(
            f"Datasource {self.name} (driver {self.DRIVER_ID}) does not accept webhooks",
            code="no_webhook")

    def request_refresh(self) -> None:
        """Poll now (polling drivers); nothing for push drivers."""

    def request_execute(self, action: str, args: Any = None, requested_by: str | None = None,
                        trigger: Any = None) -> dict[str, Any]:
        return self.executor.request(action, args, requested_by=requested_by, trigger=trigger)

    # ------------------------------------------------------------------ actions
    def action_client(self) -> Any:
        """The object dotted client actions are resolved on (an ACTION_CLIENT instance)."""
        if self.ACTION_CLIENT is None:
            return None
        client = self.__dict__.get("_action_client")
        if client is None:
            client = self.ACTION_CLIENT(self)
            self._action_client = client
        return client

    def execute(self, action: str, args: dict[str, Any]) -> Any:
        """Run ``action``: a wrapper method by name, else a dotted path on the action client.

        ``args`` is ``{"positional": [...], "named": {...}}``. Failures raise ActionError naming
        the driver, the action and the arguments.
        """
        return self.executor.dispatch(action, args)


def _row_sort_key(row: Row) -> tuple:
    return tuple((type(v).__name__ != "str", str(v)) for v in row)


def api_columns(cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in cols:
        if isinstance(c, dict):
            out.append({"name": c.get("name"), "description": c.get("desc")})
        else:
            out.append({"name": c, "description": "None"})
    return out


def api_tables(schema: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"table_id": t, "columns": api_columns(cols)} for t, cols in schema.items()]


def table_spec(datasource: str, schema: Mapping[str, list[dict[str, Any]]],
               table: str) -> dict[str, Any]:
    """The API's description of one table of a datasource's schema (404 if it has none)."""
    cols = schema.get(table)
    if cols is None:
        raise exceptions.NotFound(
            f"Table '{table}' for datasource '{datasource}' has no schema ",
            code="table_not_found")
    return {"table_id": table, "columns": api_columns(cols)}


# =========================================================================== polling
class PollingDriver(DataSourceDriver):
    """A driver that fetches its tables periodically.

    Subclasses implement :meth:`fetchers`: ``{root table: function returning the raw objects}``
    (the translator of that root table turns them into rows of it and its sub-tables).
    """

    DEFAULT_POLL_TIME: ClassVar[int] = 10
    CONFIG = {
        "poll_time": opt(type="int", default=10,
                         desc="Seconds between polls (0: only on refresh requests)"),
        "lazy_tables": opt(type="list", desc="Root tables not polled until subscribed"),
    }

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        super().check_config(config)
        poll = config.get("poll_time")
        if poll is not None and poll < 0:
            raise exceptions.InvalidDriverOption(
                f"Invalid value for driver option poll_time: must be >= 0, got {poll}")
        lazy = config.get("lazy_tables") or []
        if lazy:
            roots = set(cls.root_tables_of_schema())
            bad = sorted(t for t in lazy if t not in roots)
            if bad:
                raise exceptions.InvalidDriverOption(f"Invalid lazy tables: {', '.join(bad)}",
                                                     data={"tables": bad})

    @classmethod
    def root_tables_of_schema(cls) -> list[str]:
        if cls.SCHEMA is not None:
            return list(cls.SCHEMA)
        return cls.translator_set().root_tables()

    def __init__(self, name: str, ds_id: str, config: Mapping[str, Any] | None, *,
                 db: Any = None, conf: cfg.ConfigOpts | None = None) -> None:
        super().__init__(name, ds_id, config, db=db, conf=conf)
        poll_time = self.config.get("poll_time")
        self.poll_time = self.DEFAULT_POLL_TIME if poll_time is None else poll_time
        self.lazy_tables = set(self.config.get("lazy_tables") or ())
        self._activated: set[str] = set()          # lazy roots activated by a subscriber
        self._poll_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_raw: dict[str, Any] = {}
        #: scratch space shared by the fetchers of one poll (emptied at each poll)
        self.poll_cache: dict[str, Any] = {}
        self._table_errors: dict[str, str] = {}

    # ------------------------------------------------------------------ tables
    def root_tables(self) -> list[str]:
        if self.SCHEMA is not None:
            return list(self._schema)
        return self.translator_set().root_tables()

    def root_of(self, table: str) -> str:
        if self.SCHEMA is not None:
            return table
        return self.translator_set().root_of(table)

    def is_active_root(self, root: str) -> bool:
        return root not in self.lazy_tables or root in self._activated

    def active_tables(self) -> list[str]:
        return [t for t in self._schema if self.is_active_root(self.root_of(t))]

    def check_readable(self, table: str) -> None:
        super().check_readable(table)
        if not self.is_active_root(self.root_of(table)):
            raise exceptions.LazyTableError(
                f"table {table} is a lazy table and is not subscribed.")

    def on_first_subscriber(self, table: str) -> None:
        super().on_first_subscriber(table)
        if table not in self._schema:
            return
        root = self.root_of(table)
        if root in self.lazy_tables and root not in self._activated:
            LOG.info("Datasource %s: lazy table %s subscribed; polling it", self.name, root)
            with self._lock:
                self._activated.add(root)
            self.request_refresh()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        super().start()
        self._stopping.clear()
        self._wake.clear()
        self._thread = threading.Thread(target=self._poll_loop, daemon=True,
                                        name=f"poll-{self.name}")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        super().stop()

    def _poll_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll()
            except Exception:   # poll() records errors itself; never let the loop die
                LOG.exception("Datasource %s: poll failed", self.name)
            timeout = self.poll_time if self.poll_time > 0 else None
            self._wake.wait(timeout)
            self._wake.clear()

    def request_refresh(self) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ polling
    def fetchers(self) -> dict[str, Any]:
        """``{root table: callable() -> raw objects}``. Default: ``fetch_<root>`` methods."""
        out = {}
        for root in self.root_tables():
            fn = getattr(self, "fetch_" + root.replace(".", "_"), None)
            if fn is not None:
                out[root] = fn
        return out

    def translate(self, root: str, raw: Any) -> dict[str, set[Row]]:
        """Rows of ``root`` and its sub-tables for the raw objects ``raw``."""
        return self.translator_set().translator_for(root).translate(raw)

    def poll(self) -> bool:
        """Fetch, translate and publish every active root table; True if all went well.

        A root whose fetch or translation fails keeps its previous rows; the failure is
        reported in ``last_error`` (and in the log) until a poll succeeds.
        """
        with self._poll_lock:
            errors: list[str] = []
            self.poll_cache = {}
            for root, fetch in self.fetchers().items():
                if self._stopping.is_set() and self._thread is not None:
                    return False
                if not self.is_active_root(root):
                    continue
                try:
                    raw = fetch()
                    if root in self._last_raw and self._last_raw[root] == raw:
                        continue   # unchanged: nothing to translate
                    tables = self.translate(root, raw)
                except Exception as exc:
                    message = f"{root}: {describe_error(exc)}"
                    if self._table_errors.get(root) != message:
                        LOG.warning("Datasource %s: polling %s failed: %s", self.name, root,
                                    describe_error(exc))
                    self._table_errors[root] = message
                    errors.append(message)
                    continue
                self._last_raw[root] = raw
                if root in self._table_errors:
                    LOG.info("Datasource %s: polling %s works again", self.name, root)
                    del self._table_errors[root]
                self.set_tables({t: frozenset(rows) for t, rows in tables.items()},
                                publish=False)
            with self._lock:
                if errors:
                    self.last_error = "; ".join(errors)
                else:
                    self.last_error = None
                    self.initialized = True
                self._mark_updated()
                self.publish_changes()
            return not errors


def describe_error(exc: BaseException) -> str:
    """A one-line description of a fetch error (no traceback, no credentials)."""
    if isinstance(exc, exceptions.CongressError):
        return exc.message
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


# =========================================================================== push
class PushDriver(DataSourceDriver):
    """A driver whose rows are pushed to it (``replace_table``) or sent by webhooks."""

    PUSH = True
    CONFIG = {
        "persist_data": opt(type="bool", default=False,
                            desc="Store pushed rows in the database and restore them"),
    }

    def __init__(self, name: str, ds_id: str, config: Mapping[str, Any] | None, *,
                 db: Any = None, conf: cfg.ConfigOpts | None = None) -> None:
        super().__init__(name, ds_id, config, db=db, conf=conf)
        self.persist = bool(self.config.get("persist_data"))
        if self.persist and db is None:
            raise exceptions.DatasourceError(
                f"Datasource {name}: persist_data needs a database")
        self.initialized = True
        # per table: the sequence number of the stored table this driver's rows are (what it
        # restored or last stored); a push stores only its change while they agree
        self._stored_seq: dict[str, int] = {}
        if self.persist:
            self._restore()

    def _restore(self) -> None:
        from congress.db import tabledata
        stored, seqs = tabledata.get_tables_seq(self.db, self.ds_id)
        restored = 0
        for table, rows in stored.items():
            if table not in self._state:
                LOG.warning("Datasource %s: ignoring stored rows of unknown table %s",
                            self.name, table)
                continue
            self._state[table] = frozenset(tuple(r) for r in rows)
            if table in seqs:
                self._stored_seq[table] = seqs[table]
            restored += len(rows)
        self.restored_tables(stored)
        if stored:
            LOG.info("Datasource %s: restored %d rows of %d tables from the database",
                     self.name, restored, len(stored))

    def restored_tables(self, stored: dict[str, list[Row]]) -> None:
        """Hook: rows restored from the database (e.g. the push driver learns widths)."""

    def commit(self, tables: Mapping[str, Iterable[Row]],
               hints: Mapping[str, tuple[frozenset[Row], Iterable[Row], Iterable[Row]]]
               | None = None) -> None:
        """Store (if persisting) then apply and publish new contents of ``tables``.

        What is stored is the change against the rows held now (a journal entry), or the whole
        table when the stored table is not the one held or the journal is due for compaction
        (:func:`congress.db.tabledata.store_change`). The database write is one transaction; if
        it fails nothing changes and the error goes back to the caller.

        ``hints``: table -> ``(rows held, rows added, rows removed)`` when the caller knows how
        the new rows differ from the rows it saw held, each held row appearing once among the
        rows it pushed before (so a removed row is gone). While those rows are still the ones
        held, neither the new rows' set nor their difference from the held ones is computed
        (passes over the whole table), only the small change.

        The cyclic collector is paused meanwhile, and after a push that leaves a big table
        what is alive is frozen (:mod:`congress.gcpause`): the new state (sets of the rows,
        what the driver remembers of the body) lives until the next push.
        """
        with gcpause.paused() as pause, self._lock:
            new: dict[str, frozenset[Row]] = {}
            given: dict[str, list[Row]] = {}
            changes = {}
            for table, rows in tables.items():
                old = self._state.get(table, frozenset())
                hint = hints.get(table) if hints else None
                if hint is not None and hint[0] is old:
                    pushed = frozenset(hint[1])
                    added = pushed - old
                    removed = frozenset(r for r in hint[2] if r in old and r not in pushed)
                    new[table] = old.difference(removed).union(added) \
                        if added or removed else old
                else:
                    fresh = frozen_in_steps(rows)
                    added, removed = (fresh - old, old - fresh) if old else (fresh, old)
                    # a small change: the same rows as the pushed ones, but the row objects
                    # held already, so that later comparisons meet identical objects
                    new[table] = old.difference(removed).union(added) \
                        if len(added) + len(removed) <= len(fresh) // 2 else fresh
                changes[table] = (added, removed)
                if type(rows) is list and len(rows) == len(new[table]):
                    # a whole table is stored in the order the rows came (a pushed body's):
                    # the encoder then reads them in memory order, about twice as fast at
                    # 300k rows as in the set's hash order
                    given[table] = rows
            if self.persist:
                from congress.db import tabledata
                seqs = {}
                with self.db.transaction() as conn:
                    for table, rows in new.items():
                        added, removed = changes[table]
                        seqs[table] = tabledata.store_change(
                            conn, self.ds_id, table, rows=given.get(table, rows), added=added,
                            removed=removed, known_seq=self._stored_seq.get(table))
                self._stored_seq.update(seqs)
            for table, rows in new.items():
                if table not in self._schema:
                    raise KeyError(table)
                added, removed = changes[table]
                if added or removed:
                    self._changes[table] = (self._state[table], added, removed)
                    self._state[table] = rows
                    self._dirty.add(table)
            self.publish_changes()
            self._mark_updated()
            # the new state of a big table lives until the next push, even when little of it
            # is new (a one-row change makes a new set of the whole table)
            if sum(map(len, new.values())) >= gcpause.FREEZE_AFTER:
                pause.freeze = True

    def translate_push(self, table: str, rows: Any) -> dict[str, set[Row]]:
        ts = self.translator_set()
        try:
            translator = ts.translator_for(table)
        except KeyError:
            raise exceptions.BadRequest(
                f"translator: {table} is not in the datasource driver",
                code="no_translator") from None
        if not isinstance(rows, list):
            raise exceptions.BadRequest(f"Rows of table {table} must be a JSON array")
        return translator.translate(rows)

    def replace_table(self, table: str, rows: Any) -> None:
        with gcpause.paused():
            tables = self.translate_push(table, rows)
            self.commit(tables)
        LOG.debug("Datasource %s: table %s replaced (%d rows)", self.name, table,
                  len(tables.get(table, ())))


def normalized_row(values: Iterable[Any]) -> Row:
    return tuple(normalize_value(v) for v in values)
