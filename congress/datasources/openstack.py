"""What every OpenStack driver shares: config, the openstacksdk connection, JSON fetching.

Drivers read the services' REST APIs through openstacksdk's service proxies (keystoneauth
adapters: the catalog, version discovery, region and interface selection, microversions and
token refresh are theirs) and translate the JSON documents as the APIs return them, so the
columns are the APIs' field names (``hostId``, ``OS-EXT-AZ:availability_zone`` ...), as
OpenStack Congress's drivers named them (``GET /v1/system/drivers/<id>`` lists every table and
column). Actions call openstacksdk's typed proxy methods (``compute.pause_server`` ...).

openstacksdk is imported on first use: listing drivers or their schemas (which policy engines
do) never loads it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from oslo_config import cfg

from congress import exceptions
from congress.datasources.declare import Collection
from congress.datasources.driver import PollingDriver, opt

LOG = logging.getLogger(__name__)

OPENSTACK_CONFIG: dict[str, dict[str, Any]] = {
    "auth_url": opt(required=True, desc="Keystone URL (e.g. http://keystone:5000/v3)"),
    "username": opt(required=True),
    "password": opt(required=True, secret=True),
    "project_name": opt(required=True),
    "tenant_name": opt(desc="Deprecated name of project_name"),
    "user_domain_name": opt(default="Default"),
    "project_domain_name": opt(default="Default"),
    "endpoint": opt(desc="Use this endpoint instead of the catalog's"),
    "region": opt(desc="Region of the endpoints to use"),
    "verify": opt(desc="TLS verification: true (default), false, or a CA bundle path"),
    "api_timeout": opt(type="float", default=30.0, desc="Seconds before an API call times out"),
}

_MAX_PAGES = 100_000


def openstack_config(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Common OpenStack options + polling options + ``extra``."""
    return {**OPENSTACK_CONFIG, **PollingDriver.CONFIG, **extra}


def parse_verify(value: str | None) -> bool | str:
    if value is None:
        return True
    v = value.strip()
    if v.lower() in ("true", "yes", "1", ""):
        return True
    if v.lower() in ("false", "no", "0"):
        return False
    return v


class OpenStackDriver(PollingDriver):
    """A polling driver reading an OpenStack service through openstacksdk."""

    #: the openstacksdk proxy attribute (``compute``, ``network`` ...)
    PROXY: ClassVar[str] = ""
    #: service type, for the ``endpoint`` override
    SERVICE_TYPE: ClassVar[str] = ""
    #: microversion sent with reads (None: none)
    MICROVERSION: ClassVar[str | None] = None
    #: ``{root table: the REST collection it is read from}``; a ``fetch_<root>`` method,
    #: where a table needs more than one listing, takes precedence
    COLLECTIONS: ClassVar[Mapping[str, Collection]] = {}
    CONFIG = openstack_config()

    def __init__(self, name: str, ds_id: str, config: Mapping[str, Any] | None, *,
                 db: Any = None, conf: cfg.ConfigOpts | None = None) -> None:
        super().__init__(name, ds_id, config, db=db, conf=conf)
        self._conn: Any = None
        self._conn_lock = threading.Lock()

    # ------------------------------------------------------------------ connection
    def connection(self) -> Any:
        """The openstacksdk Connection (created on first use; authenticates lazily)."""
        with self._conn_lock:
            if self._conn is None:
                self._conn = self._make_connection()
            return self._conn

    def _make_connection(self) -> Any:
        from openstack import connection

        c = self.config
        auth = {
            "auth_url": c["auth_url"],
            "username": c["username"],
            "password": c["password"],
            "project_name": c["project_name"],
            "user_domain_name": c.get("user_domain_name") or "Default",
            "project_domain_name": c.get("project_domain_name") or "Default",
        }
        kwargs: dict[str, Any] = {
            "auth_type": "password",
            "auth": auth,
            "verify": parse_verify(c.get("verify")),
            "api_timeout": c.get("api_timeout"),
            "app_name": "congress",
        }
        if c.get("region"):
            kwargs["region_name"] = c["region"]
        if c.get("endpoint") and self.SERVICE_TYPE:
            kwargs[self.SERVICE_TYPE.replace("-", "_") + "_endpoint_override"] = c["endpoint"]
        return connection.Connection(**kwargs)

    def proxy(self, name: str | None = None) -> Any:
        return getattr(self.connection(), name or self.PROXY)

    def stop(self) -> None:
        super().stop()
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # pragma: no cover - best effort
                LOG.debug("closing the connection of %s failed", self.name, exc_info=True)

    def http_request(self, method: str, path: str, *, proxy: str | None = None,
                     microversion: str | None = None, **kwargs: Any) -> Any:
        """One raw request to the service (``path`` relative to its endpoint, or absolute);
        an HTTP error is a DatasourceError naming the request and the service's message."""
        kwargs["headers"] = {"Accept": "application/json"}
        if microversion:
            kwargs["microversion"] = microversion
        if self.config.get("api_timeout"):
            # per request too: older openstacksdk releases (Debian 12's 0.101) ignore the
            # connection's api_timeout for raw proxy calls
            kwargs["timeout"] = float(self.config["api_timeout"])
        response = getattr(self.proxy(proxy), method.lower())(path, **kwargs)
        if response.status_code >= 400:
            raise exceptions.DatasourceError(
                f"{method.upper()} {_short_url(response.url)} failed: HTTP "
                f"{response.status_code} {response.reason or ''}: "
                f"{_error_message(response)}".rstrip(": "),
                data={"http_status": response.status_code})
        return response

    def send_json(self, method: str, path: str, body: Any = None, *,
                  proxy: str | None = None, microversion: str | None = None) -> None:
        """A write request with a JSON body (actions openstacksdk has no stable call for)."""
        self.http_request(method, path, proxy=proxy, microversion=microversion, json=body)

    # ------------------------------------------------------------------ reading
    def read_microversion(self) -> str | None:
        """The microversion sent with reads (a driver may take it from its config)."""
        return self.MICROVERSION

    def fetchers(self) -> dict[str, Any]:
        out: dict[str, Any] = {root: functools.partial(self.list_collection, c)
                               for root, c in self.COLLECTIONS.items()}
        out.update(super().fetchers())
        return out

    def list_collection(self, collection: Collection) -> list[Any]:
        """Every item of a declared collection, all pages."""
        return self.list_json(collection.path, collection.key,
                              params=collection.params or None)

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None,
                 proxy: str | None = None, microversion: str | None = None) -> Any:
        """GET ``path`` (relative to the service endpoint, or absolute) and decode JSON."""
        mv = microversion if microversion is not None else self.read_microversion()
        response = self.http_request("GET", path, proxy=proxy, microversion=mv,
                                     params=dict(params) if params else None)
        try:
            return response.json()
        except ValueError:
            snippet = (response.text or "")[:80]
            raise exceptions.DatasourceError(
                f"Malformed JSON from {_short_url(response.url)} "
                f"(HTTP {response.status_code}): {snippet!r}") from None

    def list_json(self, path: str, key: str, *, params: Mapping[str, Any] | None = None,
                  proxy: str | None = None, microversion: str | None = None) -> list[Any]:
        """All items of a paginated collection: ``body[key]`` of every page, following the
        ``<key>_links`` next links (nova, neutron) or ``next`` (glance)."""
        items: list[Any] = []
        url: str | None = path
        seen: set[str] = set()
        query = params
        for _ in range(_MAX_PAGES):
            body = self.get_json(url, params=query, proxy=proxy, microversion=microversion)
            if isinstance(body, list) and key == "":
                return body
            if not isinstance(body, dict) or not isinstance(body.get(key), list):
                raise exceptions.DatasourceError(
                    f"Unexpected answer to GET {path}: expected an object with a list "
                    f"'{key}'")
            items.extend(body[key])
            nxt = _next_link(body, key)
            if not nxt or not body[key]:
                return items
            nxt = self.relative_next(nxt)
            if nxt in seen:
                raise exceptions.DatasourceError(f"Pagination loop at {_short_url(nxt)}")
            seen.add(nxt)
            url, query = nxt, None
        raise exceptions.DatasourceError(f"Too many pages listing {path}")

    def relative_next(self, link: str) -> str:
        """A next link as something the proxy can GET (absolute URLs pass unchanged)."""
        return link


def _next_link(body: dict[str, Any], key: str) -> str | None:
    links = body.get(f"{key}_links")
    if isinstance(links, list):
        for link in links:
            if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
                return str(link["href"])
    nxt = body.get("next")
    if isinstance(nxt, str) and nxt:
        return nxt
    links = body.get("links")          # keystone: {"links": {"next": url | null}}
    if isinstance(links, dict) and isinstance(links.get("next"), str) and links["next"]:
        return links["next"]
    return None


def _error_message(response: Any) -> str:
    """The message of an OpenStack error body (``{"<kind>": {"message": ...}}`` and kin)."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:200]
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"][:200]
        if isinstance(body.get("message"), str):
            return body["message"][:200]
    return str(body)[:200]


def _short_url(url: str | None) -> str:
    if not url:
        return "?"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def safe_id(value: Any) -> Any:
    """``{"id": x, ...}`` -> x; strings (e.g. nova's "" image) and others as they are."""
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, Mapping):
        return value.get("id")
    return str(value)
