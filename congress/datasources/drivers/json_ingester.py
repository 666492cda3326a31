"""``json_ingester``: poll any HTTP JSON API and map it to tables by configuration.

Offered only when ``[json_ingester] enable`` is true (experimental; OpenStack Congress's
ingester was a separate PostgreSQL-backed service; this one is an ordinary polling driver).

Config (values are strings, as every datasource config):

``url`` (required)
    The document to fetch (GET).
``tables`` (required)
    A JSON object: ``{"<table>": {"path": "<path to a list>", "columns": {"<col>": "<path>",
    ...}, "url"?: "<other url, absolute or relative to url>"}, ...}``. Paths are dot-separated
    keys and list indexes (``data.items``, ``addresses.0.ip``); ``""`` or ``"$"`` is the whole
    document (or item). Columns keep the declared order. A missing value is ``"None"``.
``headers``
    A JSON object of extra request headers.
``auth_type``
    ``none`` (default), ``basic`` (``username``/``password``) or ``bearer`` (``token``).
``poll_time``, ``verify``, ``api_timeout``
    As for the OpenStack drivers.

Everything is validated when the datasource is created. ``webhook(payload, table)`` (the
``/tables/<t>/webhook`` route) replaces table ``t`` with the rows found in ``payload``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from oslo_config import cfg

from congress import exceptions
from congress.datasources.driver import PollingDriver, normalized_row, opt
from congress.datasources.openstack import parse_verify

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_MISSING = object()


def _bad(message: str) -> exceptions.InvalidDriverOption:
    return exceptions.InvalidDriverOption(message)


def parse_tables(text: Any) -> dict[str, dict[str, Any]]:
    """The ``tables`` option, checked: ``{table: {"path", "columns": {col: path}, "url"}}``."""
    if isinstance(text, str):
        try:
            spec = json.loads(text)
        except ValueError as exc:
            raise _bad(f"Invalid value for driver option tables: not JSON ({exc})") from None
    else:
        spec = text
    if not isinstance(spec, dict) or not spec:
        raise _bad("Invalid value for driver option tables: expected a non-empty JSON object "
                   "{table: {path, columns}}")
    out: dict[str, dict[str, Any]] = {}
    for table, t in spec.items():
        if not isinstance(table, str) or not _NAME.match(table):
            raise _bad(f"Invalid value for driver option tables: bad table name {table!r}")
        if not isinstance(t, dict):
            raise _bad(f"Invalid value for driver option tables: table {table} must be an "
                       "object {path, columns}")
        unknown = sorted(set(t) - {"path", "columns", "url"})
        if unknown:
            raise _bad(f"Invalid value for driver option tables: table {table} has unknown "
                       f"keys {', '.join(unknown)}")
        path = t.get("path", "")
        columns = t.get("columns")
        if not isinstance(path, str):
            raise _bad(f"Invalid value for driver option tables: path of table {table} must "
                       "be a string")
        if not isinstance(columns, dict) or not columns:
            raise _bad(f"Invalid value for driver option tables: table {table} needs "
                       "columns {name: path}")
        for col, cpath in columns.items():
            if not isinstance(col, str) or not _NAME.match(col):
                raise _bad(f"Invalid value for driver option tables: bad column name {col!r} "
                           f"in table {table}")
            if not isinstance(cpath, str):
                raise _bad(f"Invalid value for driver option tables: path of column {col} of "
                           f"table {table} must be a string")
        url = t.get("url")
        if url is not None and not isinstance(url, str):
            raise _bad(f"Invalid value for driver option tables: url of table {table} must "
                       "be a string")
        out[table] = {"path": _split(path), "columns": {c: _split(p) for c, p in
                                                         columns.items()},
                      "url": url}
    return out


def _split(path: str) -> tuple[str, ...]:
    path = path.strip()
    if path in ("", "$"):
        return ()
    if path.startswith("$."):
        path = path[2:]
    return tuple(path.split("."))


def resolve(doc: Any, path: tuple[str, ...]) -> Any:
    cur = doc
    for part in path:
        if isinstance(cur, Mapping):
            cur = cur.get(part, _MISSING)
        elif isinstance(cur, list) and part.lstrip("-").isdigit():
            i = int(part)
            cur = cur[i] if -len(cur) <= i < len(cur) else _MISSING
        else:
            return _MISSING
        if cur is _MISSING:
            return _MISSING
    return cur


class JsonIngesterDriver(PollingDriver):
    DRIVER_ID = "json_ingester"
    DESCRIPTION = "Polls an HTTP JSON API and maps its documents to tables by configuration."
    CONFIG = {
        "url": opt(required=True, desc="URL of the JSON document"),
        "tables": opt(required=True, desc="JSON object {table: {path, columns: {col: path}}}"),
        "headers": opt(desc="JSON object of request headers"),
        "auth_type": opt(default="none", desc="none, basic or bearer"),
        "username": opt(desc="basic auth user"),
        "password": opt(secret=True, desc="basic auth password"),
        "token": opt(secret=True, desc="bearer token"),
        "poll_time": opt(type="int", default=10, desc="Seconds between polls"),
        "verify": opt(desc="TLS verification: true (default), false, or a CA bundle path"),
        "api_timeout": opt(type="float", default=30.0, desc="Seconds before a request times "
                                                            "out"),
    }
    SCHEMA: dict[str, list[Any]] = {}

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        super().check_config(config)
        if not re.match(r"^https?://", config["url"]):
            raise _bad(f"Invalid value for driver option url: expected an http(s) URL, got "
                       f"{config['url']!r}")
        parse_tables(config["tables"])
        headers = config.get("headers")
        if headers is not None:
            try:
                parsed = json.loads(headers)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict) or not all(isinstance(v, str)
                                                       for v in parsed.values()):
                raise _bad("Invalid value for driver option headers: expected a JSON object "
                           "of strings")
        auth = config.get("auth_type", "none")
        if auth not in ("none", "basic", "bearer"):
            raise _bad(f"Invalid value for driver option auth_type: expected none, basic or "
                       f"bearer, got {auth!r}")
        if auth == "basic" and not (config.get("username") and config.get("password")):
            raise _bad("Missing required config options: username, password (auth_type basic)")
        if auth == "bearer" and not config.get("token"):
            raise _bad("Missing required config options: token (auth_type bearer)")

    @classmethod
    def schema_for_config(cls, config: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        tables = parse_tables(cls.validate_config(config)["tables"])
        return {t: [{"name": c, "desc": "." .join(p) or "$"} for c, p in spec["columns"].items()]
                for t, spec in tables.items()}

    def __init__(self, name: str, ds_id: str, config: Mapping[str, Any] | None, *,
                 db: Any = None, conf: cfg.ConfigOpts | None = None) -> None:
        self._tables = parse_tables(self.validate_config(config)["tables"])
        super().__init__(name, ds_id, config, db=db, conf=conf)
        self._session: Any = None

    def instance_schema(self) -> dict[str, list[dict[str, Any]]]:
        return {t: [{"name": c, "desc": ".".join(p) or "$"} for c, p in spec["columns"].items()]
                for t, spec in self._tables.items()}

    def root_tables(self) -> list[str]:
        return list(self._tables)

    def root_of(self, table: str) -> str:
        return table

    def fetchers(self) -> dict[str, Any]:
        return {t: (lambda t=t: self._fetch(t)) for t in self._tables}

    def _http(self) -> Any:
        if self._session is None:
            import requests
            s = requests.Session()
            c = self.config
            s.headers["Accept"] = "application/json"
            if c.get("headers"):
                s.headers.update(json.loads(c["headers"]))
            if c.get("auth_type") == "basic":
                s.auth = (c["username"], c["password"])
            elif c.get("auth_type") == "bearer":
                s.headers["Authorization"] = f"Bearer {c['token']}"
            s.verify = parse_verify(c.get("verify"))
            self._session = s
        return self._session

    def _document(self, url: str) -> Any:
        cache = self.poll_cache.setdefault("documents", {})
        if url not in cache:
            response = self._http().get(url, timeout=self.config.get("api_timeout", 30.0))
            if response.status_code >= 400:
                raise exceptions.DatasourceError(
                    f"GET {url} answered HTTP {response.status_code}")
            try:
                cache[url] = response.json()
            except ValueError:
                raise exceptions.DatasourceError(f"GET {url}: malformed JSON") from None
        return cache[url]

    def _fetch(self, table: str) -> Any:
        spec = self._tables[table]
        url = self.config["url"]
        if spec["url"]:
            url = urljoin(url, spec["url"])
        return self._document(url)

    def translate(self, root: str, raw: Any) -> dict[str, set]:
        spec = self._tables[root]
        items = resolve(raw, spec["path"])
        if items is _MISSING or not isinstance(items, list):
            where = ".".join(spec["path"]) or "$"
            raise exceptions.DatasourceError(f"table {root}: path {where} is not a list in the "
                                             "document")
        rows = set()
        for item in items:
            values = []
            for path in spec["columns"].values():
                v = resolve(item, path)
                values.append(None if v is _MISSING else v)
            rows.add(normalized_row(values))
        return {root: rows}

    def webhook(self, payload: Any, table: str | None = None) -> None:
        if table is None or table not in self._tables:
            raise exceptions.BadRequest(
                f"Datasource {self.name}: webhooks need a table of this datasource "
                f"({', '.join(self._tables)})")
        tables = self.translate(table, payload)
        with self._lock:
            self.set_tables(tables)
            self._mark_updated()

    def stop(self) -> None:
        super().stop()
        if self._session is not None:
            self._session.close()
            self._session = None
