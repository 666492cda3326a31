"""Which drivers exist: the built-in ones, the deployer's custom ones, minus the disabled ones.

* :func:`available_drivers` honours ``drivers`` (empty: every built-in driver),
  ``disabled_drivers`` and ``custom_driver_endpoints`` (``name=module:Class``); the
  ``json_ingester`` driver is offered only with ``[json_ingester] enable``.
* :func:`get_driver` / :func:`driver_class` find one class.
* :func:`schema_for` gives ``{table: [column names]}`` of a driver without a bus, a database or
  a network connection (policy engines call it to create datasource policies); config-dependent
  drivers (``json_ingester``) need the datasource's config.

Driver modules are imported on first use: importing this module is cheap.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from congress import exceptions

LOG = logging.getLogger(__name__)

#: driver id -> "module:Class"
BUILTIN_DRIVERS: dict[str, str] = {
    "aodh": "congress.datasources.drivers.aodh:AodhDriver",
    "benchmark": "congress.datasources.drivers.benchmark:BenchmarkDriver",
    "cinder": "congress.datasources.drivers.cinder:CinderDriver",
    "doctor": "congress.datasources.drivers.doctor:DoctorDriver",
    "fake_datasource": "congress.datasources.drivers.fake_datasource:FakeDataSource",
    "glancev2": "congress.datasources.drivers.glancev2:GlanceV2Driver",
    "heat": "congress.datasources.drivers.heat:HeatV1Driver",
    "ironic": "congress.datasources.drivers.ironic:IronicDriver",
    "json_ingester": "congress.datasources.drivers.json_ingester:JsonIngesterDriver",
    "keystonev3": "congress.datasources.drivers.keystonev3:KeystoneV3Driver",
    "monasca_webhook": "congress.datasources.drivers.monasca_webhook:MonascaWebhookDriver",
    "neutronv2": "congress.datasources.drivers.neutronv2:NeutronV2Driver",
    "nova": "congress.datasources.drivers.nova:NovaDriver",
    "push": "congress.datasources.drivers.push:PushDataDriver",
    "swift": "congress.datasources.drivers.swift:SwiftDriver",
    "vitrage": "congress.datasources.drivers.vitrage:VitrageDriver",
}

#: drivers offered only when an option enables them: id -> (group, option)
_GATED = {"json_ingester": ("json_ingester", "enable")}

_cache: dict[str, type] = {}
_aliases: dict[tuple[str, type], type] = {}
_cache_lock = threading.Lock()


def _named(cls: type, driver_id: str) -> type:
    """``cls`` itself, or (once per name) a subclass registered under another driver id."""
    if driver_id == cls.DRIVER_ID:
        return cls
    with _cache_lock:
        alias = _aliases.get((driver_id, cls))
        if alias is None:
            alias = _aliases[(driver_id, cls)] = type(
                cls.__name__, (cls,), {"DRIVER_ID": driver_id, "__module__": cls.__module__})
        return alias


def load_class(spec: str) -> type:
    """Import ``module:Class`` (ImportError/AttributeError/TypeError if it is not a driver)."""
    from congress.datasources.driver import DataSourceDriver

    with _cache_lock:
        cls = _cache.get(spec)
    if cls is not None:
        return cls
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ImportError(f"driver entry point {spec!r} is not module:Class")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, DataSourceDriver)):
        raise TypeError(f"{spec} is not a DataSourceDriver class")
    with _cache_lock:
        _cache[spec] = obj
    return obj


def _opt(conf: Any, name: str, default: Any, group: str | None = None) -> Any:
    if conf is None:
        return default
    try:
        return getattr(getattr(conf, group), name) if group else getattr(conf, name)
    except Exception:
        return default


def parse_custom_endpoints(entries: Any) -> dict[str, str]:
    """``["name=module:Class", ...]`` -> ``{name: "module:Class"}`` (bad entries logged)."""
    out: dict[str, str] = {}
    for entry in entries or []:
        name, sep, spec = str(entry).partition("=")
        name, spec = name.strip(), spec.strip()
        if not sep or not name or ":" not in spec:
            LOG.error("Ignoring custom driver endpoint %r: expected name=module:Class", entry)
            continue
        out[name] = spec
    return out


def driver_specs(conf: Any = None) -> dict[str, str]:
    """id -> ``module:Class`` of every driver the configuration allows (not imported)."""
    wanted = [d.strip() for d in (_opt(conf, "drivers", []) or []) if d.strip()]
    disabled = {d.strip() for d in (_opt(conf, "disabled_drivers", []) or [])}
    custom = parse_custom_endpoints(_opt(conf, "custom_driver_endpoints", []))
    if wanted:
        specs = {d: BUILTIN_DRIVERS[d] for d in wanted if d in BUILTIN_DRIVERS}
        for d in wanted:
            if d not in BUILTIN_DRIVERS and d not in custom:
                LOG.warning("Unknown driver %r in the drivers option", d)
    else:
        specs = dict(BUILTIN_DRIVERS)
    for driver_id, (group, option) in _GATED.items():
        if driver_id in specs and not _opt(conf, option, False, group):
            del specs[driver_id]
    specs.update(custom)
    for d in disabled:
        specs.pop(d, None)
    return dict(sorted(specs.items()))


def available_drivers(conf: Any = None) -> dict[str, type]:
    """id -> driver class of every driver the configuration allows (failing ones logged)."""
    out: dict[str, type] = {}
    for driver_id, spec in driver_specs(conf).items():
        try:
            cls = load_class(spec)
        except Exception as exc:
            LOG.error("Cannot load driver %s (%s): %s", driver_id, spec, exc)
            continue
        # A custom endpoint may register a class under another name.
        out[driver_id] = _named(cls, driver_id)
    return out


def _not_found(driver_id: str) -> exceptions.DriverNotFound:
    return exceptions.DriverNotFound(
        f"Driver not found {driver_id}. Either not supported or disabled by deployer in "
        "Congress config")


def get_driver(driver_id: str, conf: Any = None) -> type:
    """The class of an available driver; DriverNotFound (404) otherwise."""
    spec = driver_specs(conf).get(driver_id) if isinstance(driver_id, str) else None
    if spec is None:
        raise _not_found(str(driver_id))
    try:
        cls = load_class(spec)
    except Exception as exc:
        LOG.error("Cannot load driver %s (%s): %s", driver_id, spec, exc)
        raise _not_found(driver_id) from None
    return _named(cls, driver_id)


def driver_class(driver_id: str) -> type:
    """The class of any known driver (built-in, whatever the configuration says)."""
    spec = BUILTIN_DRIVERS.get(driver_id)
    if spec is None:
        raise _not_found(driver_id)
    return load_class(spec)


def schema_for(driver_id: str, config: Mapping[str, Any] | None = None,
               conf: Any = None) -> dict[str, list[str]]:
    """``{table: [column names]}`` of a driver (no bus, DB or network needed).

    ``conf`` (optional) lets custom drivers be found; ``config`` is the datasource's config,
    needed by drivers whose tables depend on it (``json_ingester``).
    """
    if conf is not None:
        spec = driver_specs(conf).get(driver_id) or BUILTIN_DRIVERS.get(driver_id)
        if spec is None:
            raise _not_found(driver_id)
        cls = load_class(spec)
    else:
        cls = driver_class(driver_id)
    schema_fn = getattr(cls, "schema_for_config", None)
    if config is not None and schema_fn is not None:
        schema = schema_fn(config)
    else:
        schema = cls.schema()
    return {t: [c["name"] for c in cols] for t, cols in schema.items()}
