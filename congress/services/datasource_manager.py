"""The datasource manager (``_ds_manager``): datasources in the database <-> driver services.

Runs on ``--datasources`` nodes. It creates and deletes datasources (validating name, driver and
config, storing the row with its secrets encrypted), starts one driver service per enabled
datasource on its node (service id = datasource name), and keeps the running services in line
with the database: at start (a fresh node taking over from a dead one starts every datasource,
push drivers restore their persisted rows, every table is published anew) and every
``datasource_sync_period`` seconds (datasources created or deleted elsewhere, disabled ones,
drivers that failed to start).

A driver whose constructor (or start) fails is not silently dropped: a placeholder service with
the datasource's name answers ``get_status`` with ``initialized: "False"`` and the reason in
``last_error`` (other requests: 503 naming the reason), and the next sync tries again.

Creations and deletions are broadcast to every policy engine (``__engine.datasource_changed``),
so they create or drop the datasource policy at once instead of at their next periodic sync.

Deviations from OpenStack Congress (doc/api.md §Data sources): secrets are ``"<hidden>"`` in every
answer (OpenStack Congress leaked them on GET one and POST); ``enabled: false`` on create stores a
disabled datasource (OpenStack Congress failed with 400 and deleted the row); a driver that cannot
start is visible in the datasource's status (OpenStack Congress returned 201 and said nothing).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from oslo_config import cfg

from congress import bus, exceptions
from congress.bus import engine_client
from congress.bus.service_ids import DS_MANAGER
from congress.datasources import registry
from congress.datasources.driver import DataSourceDriver, api_tables, table_spec
from congress.datasources.execution import actions_of
from congress.db import crypto
from congress.db import datasources as ds_db
from congress.db import policies as db_policies
from congress.services import memory, metrics

LOG = logging.getLogger(__name__)

HIDDEN = "<hidden>"
_NAME_RE = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def check_name(name: Any) -> str:
    """A valid datasource name (also a bus service id and a policy name prefix), or 400."""
    if not isinstance(name, str) or not name:
        raise exceptions.BadRequest("Datasource name must be a non-empty string",
                                    code="invalid_datasource_name")
    if name.startswith("_"):
        raise exceptions.BadRequest(
            f"Datasource name {name} is invalid: names starting with '_' are reserved",
            code="invalid_datasource_name")
    if not _NAME_RE.match(name):
        raise exceptions.BadRequest(
            f"Datasource name {name} is invalid: it must start with a letter, '_' or '.' and "
            "contain only letters, digits, '_' and '.'", code="invalid_datasource_name")
    if len(name) > 255:
        raise exceptions.BadRequest("Datasource name is longer than 255 characters",
                                    code="invalid_datasource_name")
    return name


class FailedDatasource(bus.Service):
    """Stands in for a datasource whose driver could not be started."""

    rpc_methods = DataSourceDriver.rpc_methods

    def __init__(self, name: str, ds_id: str, driver_cls: type | None, error: str) -> None:
        super().__init__(name)
        self.name = name
        self.ds_id = ds_id
        self.driver_cls = driver_cls
        self.error = error

    def _unavailable(self) -> exceptions.ServiceUnavailable:
        return exceptions.ServiceUnavailable(
            f"Datasource {self.name} is not running: {self.error}",
            code="datasource_not_running")

    def _schema(self) -> dict[str, list[dict[str, Any]]]:
        return self.driver_cls.schema() if self.driver_cls is not None else {}

    def get_status(self) -> dict[str, Any]:
        return {"last_updated": "None",
                "last_error": f"Datasource could not be started: {self.error}",
                "number_of_updates": "0", "initialized": "False",
                "number_of_tables": str(len(self._schema())), "number_of_rows": "0",
                "subscriptions": [], "subscribers": []}

    def get_schema(self) -> dict[str, Any]:
        return {"tables": api_tables(self._schema())}

    def get_table_spec(self, table: str) -> dict[str, Any]:
        return table_spec(self.name, self._schema(), table)

    def get_actions(self) -> dict[str, Any]:
        return {"results": actions_of(self.driver_cls) if self.driver_cls else []}

    def list_tables(self) -> list[str]:
        return list(self._schema())

    def get_rows(self, table: str) -> list[list[Any]]:
        raise self._unavailable()

    def replace_table(self, table: str, rows: Any) -> None:
        raise self._unavailable()

    def replace_table_json(self, table: str, body: str) -> None:
        raise self._unavailable()

    def webhook(self, payload: Any, table: str | None = None) -> None:
        raise self._unavailable()

    def request_refresh(self) -> None:
        raise self._unavailable()

    def request_execute(self, action: str, args: Any = None, requested_by: str | None = None,
                        trigger: Any = None) -> dict[str, Any]:
        raise self._unavailable()


class DatasourceManager(bus.Service):
    """``_ds_manager``: see the module docstring."""

    rpc_methods = frozenset({
        "list_datasources", "get_datasource", "create_datasource", "delete_datasource",
        "resolve", "list_drivers", "get_driver",
    })

    def __init__(self, node: bus.Node | None, db: Any, conf: cfg.ConfigOpts, *,
                 delete_missing_driver_datasources: bool | None = None) -> None:
        super().__init__(DS_MANAGER)
        self._node = node
        self.db = db
        self.conf = conf
        if delete_missing_driver_datasources is None:
            try:
                delete_missing_driver_datasources = bool(
                    conf.delete_missing_driver_datasources)
            except (cfg.NoSuchOptError, AttributeError):
                delete_missing_driver_datasources = False
        self.delete_missing = delete_missing_driver_datasources
        self._lock = threading.RLock()
        self._services: dict[str, tuple[str, bus.Service]] = {}   # name -> (ds id, service)
        self._failures: dict[str, str] = {}
        metrics.track_datasources(self)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def running_services(self) -> dict[str, bus.Service]:
        """The datasource services this manager runs, by name."""
        with self._lock:
            return {name: service for name, (_id, service) in self._services.items()}

    # ------------------------------------------------------------------ helpers
    @property
    def bus_node(self) -> bus.Node:
        node = self.node or self._node
        if node is None:
            raise exceptions.ServiceUnavailable("The datasource manager is not on a bus node")
        return node

    def _drivers(self) -> dict[str, type]:
        return registry.available_drivers(self.conf)

    def _driver(self, driver_id: str) -> type | None:
        """The class of an available driver, None if it is not available. Only that driver's
        module is imported (importing all of them took a twentieth of the server's start)."""
        try:
            return registry.get_driver(driver_id, self.conf)
        except exceptions.DriverNotFound:
            return None

    def _secret_fields(self, driver: str) -> set[str] | None:
        try:
            return set(registry.get_driver(driver, self.conf).secret_fields())
        except exceptions.CongressError:
            try:
                return set(registry.driver_class(driver).secret_fields())
            except Exception:
                return None

    def _public(self, ds: dict[str, Any]) -> dict[str, Any]:
        """A datasource for the API: secrets hidden, ``type`` added."""
        config = dict(ds.get("config") or {})
        encrypted = set(crypto.encrypted_fields(config))
        config.pop(crypto.ENCRYPTED_FIELDS_KEY, None)
        secrets = self._secret_fields(ds["driver"])
        hidden = encrypted | (secrets or set())
        masked = {k: (HIDDEN if (secrets is None or k in hidden) and v is not None else v)
                  for k, v in config.items()}
        return {"id": ds["id"], "name": ds["name"], "driver": ds["driver"],
                "description": ds.get("description"), "type": None,
                "enabled": bool(ds.get("enabled", True)), "config": masked}

    def _broadcast(self, name: str, op: str) -> None:
        node = self.node or self._node
        if node is None or not node.running:
            return
        try:
            engine_client.announce_datasource_change(node, name=name, op=op)
        except exceptions.CongressError as exc:
            LOG.warning("Could not tell policy engines that datasource %s was %sd: %s", name,
                        op, exc)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        try:
            crypto.get_default()
        except exceptions.CongressError:
            crypto.configure_from_conf(self.conf)
        self._check_missing_drivers()
        self.sync()
        period = int(self.conf.datasource_sync_period or 0)
        self._stop.clear()
        if period > 0:
            self._thread = threading.Thread(target=self._sync_loop, args=(period,),
                                            daemon=True, name="ds-manager-sync")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        with self._lock:
            for name in list(self._services):
                self._stop_service(name)

    def _sync_loop(self, period: int) -> None:
        while not self._stop.wait(period):
            try:
                self.sync()
            except Exception:
                LOG.exception("Datasource sync failed")

    def _check_missing_drivers(self) -> None:
        for ds in ds_db.list_datasources(self.db, decrypt=False):
            if self._driver(ds["driver"]) is not None:
                continue
            if self.delete_missing:
                LOG.warning("Deleting datasource %s: its driver %s is not available",
                            ds["name"], ds["driver"])
                try:
                    ds_db.delete_datasource(self.db, ds["id"])
                except exceptions.DatasourceNotFound:
                    continue
                self._broadcast(ds["name"], "delete")
            else:
                raise exceptions.DatasourceError(
                    f"Datasource {ds['name']} uses driver {ds['driver']}, which is not "
                    "available (not installed, or disabled by the disabled_drivers option); "
                    "start with --delete-missing-driver-datasources to delete such "
                    "datasources", code="missing_driver")

    # ------------------------------------------------------------------ sync
    def sync(self) -> dict[str, Any]:
        """Make the running driver services match the enabled datasources of the database."""
        with self._lock:
            try:
                rows = ds_db.list_datasources(self.db, decrypt=False)
            except exceptions.DatabaseError as exc:
                LOG.warning("Datasource sync: cannot read the database: %s", exc)
                return self.sync_status()
            wanted: dict[str, tuple[dict[str, Any], type]] = {}
            for ds in rows:
                if not ds["enabled"]:
                    continue
                cls = self._driver(ds["driver"])
                if cls is None:
                    if self._failures.get(ds["name"]) != "missing driver":
                        LOG.error("Datasource %s: driver %s is not available; not started",
                                  ds["name"], ds["driver"])
                        self._failures[ds["name"]] = "missing driver"
                    continue
                wanted[ds["name"]] = (ds, cls)
            for name, (ds_id, _svc) in list(self._services.items()):
                want = wanted.get(name)
                if want is None or want[0]["id"] != ds_id:
                    LOG.info("Datasource %s is gone or disabled; stopping its service", name)
                    self._stop_service(name)
            for name, (ds, cls) in wanted.items():
                entry = self._services.get(name)
                if entry is None or isinstance(entry[1], FailedDatasource):
                    self._start_service(ds, cls)
            return self.sync_status()

    def sync_status(self) -> dict[str, Any]:
        return {"running": sorted(n for n, (_i, s) in self._services.items()
                                  if not isinstance(s, FailedDatasource)),
                "failed": sorted(n for n, (_i, s) in self._services.items()
                                 if isinstance(s, FailedDatasource))}

    def _start_service(self, ds: dict[str, Any], cls: type) -> None:
        node = self.bus_node
        name, ds_id = ds["name"], ds["id"]
        old = self._services.pop(name, None)
        if old is not None:
            self._unregister(name, old[1])
        other = node.get_service(name)
        if other is not None:
            LOG.error("Datasource %s: a service with that name already runs on node %s; "
                      "not starting it", name, node.node_id)
            return
        service: bus.Service
        try:
            config = crypto.decrypt_config(ds["config"])
            service = cls(name, ds_id, config, db=self.db, conf=self.conf)
            node.register_service(service)
        except Exception as exc:
            reason = exc.message if isinstance(exc, exceptions.CongressError) else \
                f"{type(exc).__name__}: {exc}"
            if self._failures.get(name) != reason:
                LOG.error("Datasource %s (driver %s) could not be started: %s", name,
                          ds["driver"], reason, exc_info=not isinstance(
                              exc, exceptions.CongressError))
            self._failures[name] = reason
            service = FailedDatasource(name, ds_id, cls, reason)
            try:
                node.register_service(service)
            except Exception:
                LOG.exception("Datasource %s: cannot register its placeholder", name)
                return
            self._services[name] = (ds_id, service)
            return
        if name in self._failures:
            LOG.info("Datasource %s started after earlier failures", name)
            del self._failures[name]
        else:
            LOG.info("Datasource %s (driver %s) started on node %s", name, ds["driver"],
                     node.node_id)
        self._services[name] = (ds_id, service)

    def _unregister(self, name: str, service: bus.Service) -> None:
        node = service.node
        if node is None:
            return
        try:
            node.unregister_service(name)
        except exceptions.CongressError:
            LOG.debug("service %s already gone", name)

    def _stop_service(self, name: str) -> None:
        entry = self._services.pop(name, None)
        self._failures.pop(name, None)
        if entry is not None:
            self._unregister(name, entry[1])

    # ------------------------------------------------------------------ RPC
    def list_datasources(self) -> list[dict[str, Any]]:
        return [self._public(ds) for ds in ds_db.list_datasources(self.db, decrypt=False)]

    def get_datasource(self, ds: str) -> dict[str, Any]:
        return self._public(ds_db.get_datasource(self.db, ds, decrypt=False))

    def resolve(self, ds: str) -> str:
        if not isinstance(ds, str) or not ds:
            raise exceptions.DatasourceNotFound(f"Datasource not found {ds}")
        row = ds_db.find_datasource(self.db, ds, decrypt=False)
        if row is None:
            raise exceptions.DatasourceNotFound(f"Datasource not found {ds}")
        return row["name"]

    def list_drivers(self) -> list[dict[str, Any]]:
        return [{"id": d, "description": cls.DESCRIPTION}
                for d, cls in sorted(self._drivers().items())]

    def get_driver(self, driver_id: str) -> dict[str, Any]:
        return registry.get_driver(driver_id, self.conf).info()

    def create_datasource(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise exceptions.BadRequest("A datasource must be an object")
        name = check_name(body.get("name"))
        driver = body.get("driver")
        drivers = self._drivers()
        if not isinstance(driver, str) or driver not in drivers:
            raise exceptions.InvalidDriver(f"Invalid driver: {driver}")
        cls = drivers[driver]
        config = body.get("config")
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise exceptions.InvalidDriverOption("Datasource config must be an object")
        cls.validate_config(config)
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise exceptions.BadRequest("Datasource description must be a string")
        enabled = body.get("enabled", True)
        if enabled is None:
            enabled = True
        if not isinstance(enabled, bool):
            raise exceptions.BadRequest("Datasource enabled must be a boolean")
        with self._lock:
            with self.db.transaction() as conn:
                # policies and datasources share one namespace (a rule's ``name:table``);
                # the revision lock serializes this check with policy creation
                db_policies.lock_revision(conn)
                if db_policies.find_policy(conn, name) is not None:
                    raise exceptions.DatasourceExists(
                        f"Datasource name {name} is already in use by a policy")
                ds = ds_db.create_datasource(conn, name, driver, config,
                                             description=description, enabled=enabled,
                                             secret_fields=cls.secret_fields())
            LOG.info("Datasource %s (driver %s) created", name, driver)
            if enabled:
                self._start_service(ds, cls)
        self._broadcast(name, "create")
        return self._public(ds)

    def delete_datasource(self, ds: str) -> None:
        with self._lock:
            row = ds_db.get_datasource(self.db, ds, decrypt=False)
            self._stop_service(row["name"])
            ds_db.delete_datasource(self.db, row["id"])
            LOG.info("Datasource %s deleted", row["name"])
        self._broadcast(row["name"], "delete")
        memory.collect_garbage(f"deleting datasource {row['name']}")
        return None
