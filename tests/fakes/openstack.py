"""A fake OpenStack cloud: a real HTTP server on 127.0.0.1 serving recorded-style responses.

One server plays every service under its own path prefix; the Keystone v3 token endpoint
(``POST /identity/v3/auth/tokens``) answers a catalog pointing at the same server, so a client
configured with ``auth_url = <url>/identity/v3`` discovers everything else through it, as it would
on a real cloud (version discovery documents included).

=============  ==================================  ===============================================
service        catalog URL                          served
=============  ==================================  ===============================================
identity       /identity                            tokens, users, roles, projects, domains
compute        /compute/v2.1                        servers/detail (limit/marker pagination with
                                                    ``servers_links``; microversion header; tags
                                                    only from 2.26), flavors/detail,
                                                    os-hypervisors/detail, os-services,
                                                    os-availability-zone/detail, server actions,
                                                    metadata, delete
network        /network                             v2.0 networks, subnets, ports (GET/PUT one),
                                                    routers, security-groups, floatingips
image          /image                               v2 images (``next`` links), tags, actions
block-storage  /volume/v3/<project>                 volumes/detail, snapshots/detail, os-services
orchestration  /heat-api/v1/<project>               stacks, resources, events, software_deployments
baremetal      /baremetal                           v1 nodes/detail, ports/detail, chassis/detail,
                                                    drivers, maintenance, power state
object-store   /swift/v1/AUTH_<project>             account and container listings (JSON)
alarming       /alarming                            v2 alarms
=============  ==================================  ===============================================

Test hooks: ``data`` (the served objects, mutable), ``page_size`` (servers, images, networks),
``inject(pattern, status=..., delay=..., malformed=..., times=...)`` for errors per path
(401/403/500, slow answers for timeouts, invalid JSON), ``requests`` (every request: method,
path, query, microversion) and ``actions`` (every write request with its JSON body).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.openstack_data import ADMIN_USER, PROJECT_ID, default_data

USERNAME = "admin"
PASSWORD = "s3cr3t-pass"


@dataclass
class Injection:
    pattern: re.Pattern[str]
    method: str | None
    status: int | None
    delay: float
    malformed: bool
    times: int | None          # None: forever
    hits: int = 0


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                 raw: bytes | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.raw = raw


def _error(status: int, message: str) -> _Reply:
    names = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
             409: "conflictingRequest", 500: "computeFault"}
    return _Reply(status, {names.get(status, "error"): {"message": message, "code": status}})


class FakeOpenStack:
    """Start with :meth:`start` (or as a context manager); ``url`` is its base URL."""

    def __init__(self, *, page_size: int | None = None) -> None:
        self.data = default_data()
        self.page_size = page_size
        self.requests: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self._injections: list[Injection] = []
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.password = PASSWORD

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeOpenStack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One send per answer (headers + body), no Nagle: no 40 ms delayed-ACK stalls.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, fmt: str, *args: Any) -> None:  # quiet
                pass

            def _do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = fake._handle(self.command, self.path,
                                                        dict(self.headers.items()), body)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _do

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-openstack")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenStack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ test hooks
    @property
    def auth_url(self) -> str:
        return f"{self.url}/identity/v3"

    def driver_config(self, **extra: Any) -> dict[str, Any]:
        """Config for an OpenStack driver pointed at this cloud."""
        cfg = {"auth_url": self.auth_url, "username": USERNAME, "password": self.password,
               "project_name": "admin", "poll_time": 0, "api_timeout": 5}
        cfg.update(extra)
        return cfg

    def inject(self, pattern: str, *, status: int | None = None, delay: float = 0.0,
               malformed: bool = False, times: int | None = None,
               method: str | None = None) -> None:
        """Make requests whose path matches ``pattern`` (re.search) fail or stall."""
        with self._lock:
            self._injections.append(Injection(re.compile(pattern), method, status, delay,
                                              malformed, times))

    def clear_injections(self) -> None:
        with self._lock:
            self._injections = []

    def paths(self, method: str = "GET") -> list[str]:
        return [r["path"] for r in self.requests if r["method"] == method]

    # ------------------------------------------------------------------ dispatch
    def _handle(self, method: str, raw_path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        lower = {k.lower(): v for k, v in headers.items()}
        microversion = _microversion(lower)
        record = {"method": method, "path": path, "query": query,
                  "microversion": microversion, "time": time.time()}
        with self._lock:
            self.requests.append(record)
            injection = None
            for inj in self._injections:
                if inj.method not in (None, method) or not inj.pattern.search(path):
                    continue
                if inj.times is not None and inj.hits >= inj.times:
                    continue
                inj.hits += 1
                injection = inj
                break
        out_headers = {"Content-Type": "application/json",
                       "X-Openstack-Request-Id": f"req-{uuid.uuid4()}"}
        if injection is not None:
            if injection.delay:
                time.sleep(injection.delay)
            if injection.malformed:
                return 200, out_headers, b'{"servers": [{"id": "truncated'
            if injection.status is not None:
                err = _error(injection.status, f"Injected failure for {path}")
                return err.status, out_headers, json.dumps(err.body).encode()
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if method not in ("GET", "HEAD") and not path.endswith("/auth/tokens"):
            with self._lock:
                self.actions.append({"method": method, "path": path, "body": payload,
                                     "query": query, "microversion": microversion})
        try:
            if not path.endswith("/auth/tokens") and not self._is_discovery(path):
                token = lower.get("x-auth-token")
                if token not in self._tokens:
                    raise _error(401, "The request you have made requires authentication.")
            self._route(method, path, query, payload, microversion)
            raise _Reply(404, {"itemNotFound": {"message": f"No route for {method} {path}",
                                                "code": 404}})
        except _Reply as reply:
            out_headers.update(reply.headers)
            if microversion and path.startswith("/compute"):
                out_headers["OpenStack-API-Version"] = f"compute {microversion}"
                out_headers["X-OpenStack-Nova-API-Version"] = microversion
            if reply.raw is not None:
                return reply.status, out_headers, reply.raw
            data = b"" if reply.body is None else json.dumps(reply.body).encode()
            return reply.status, out_headers, data

    @staticmethod
    def _is_discovery(path: str) -> bool:
        return re.fullmatch(r"/(identity|identity/v3|compute|compute/v2\.1|network|network/"
                            r"v2\.0|image|image/v2|volume|volume/v3|heat-api|baremetal|"
                            r"baremetal/v1|alarming|alarming/v2|swift|/)", path) is not None \
            or path == "/"

    def _route(self, method: str, path: str, query: dict[str, str], body: Any,
               mv: str | None) -> None:
        base = self.url
        m = re.fullmatch(r"/(\w[\w-]*)(/.*)?", path)
        if not m:
            raise _Reply(300, _versions_doc(base, "identity"))
        prefix, rest = m.group(1), m.group(2) or ""
        handler = getattr(self, "_svc_" + prefix.replace("-", "_"), None)
        if handler is None:
            raise _error(404, f"Unknown service {prefix}")
        handler(method, rest, query, body, mv)

    # ------------------------------------------------------------------ identity
    def _catalog(self) -> list[dict[str, Any]]:
        base = self.url

        def svc(stype: str, name: str, url: str) -> dict[str, Any]:
            return {"type": stype, "name": name, "id": uuid.uuid5(uuid.NAMESPACE_URL, stype).hex,
                    "endpoints": [{"id": uuid.uuid5(uuid.NAMESPACE_URL, stype + i).hex,
                                   "interface": i, "region": "RegionOne",
                                   "region_id": "RegionOne", "url": url}
                                  for i in ("public", "internal", "admin")]}
        return [
            svc("identity", "keystone", f"{base}/identity"),
            svc("compute", "nova", f"{base}/compute/v2.1"),
            svc("network", "neutron", f"{base}/network"),
            svc("image", "glance", f"{base}/image"),
            svc("block-storage", "cinder", f"{base}/volume/v3/{PROJECT_ID}"),
            svc("volumev3", "cinderv3", f"{base}/volume/v3/{PROJECT_ID}"),
            svc("orchestration", "heat", f"{base}/heat-api/v1/{PROJECT_ID}"),
            svc("baremetal", "ironic", f"{base}/baremetal"),
            svc("object-store", "swift", f"{base}/swift/v1/AUTH_{PROJECT_ID}"),
            svc("alarming", "aodh", f"{base}/alarming"),
        ]

    def _svc_identity(self, method: str, rest: str, query: dict[str, str], body: Any,
                      mv: str | None) -> None:
        base = self.url
        if rest == "":
            raise _Reply(300, _versions_doc(base, "identity"))
        if rest == "/v3":
            raise _Reply(200, {"version": _versions_doc(base, "identity")["versions"]["values"]
                               [0]})
        if rest == "/v3/auth/tokens" and method == "POST":
            self._issue_token(body)
        coll = {"/v3/users": "users", "/v3/roles": "roles", "/v3/projects": "projects",
                "/v3/domains": "domains"}
        if method == "GET" and rest in coll:
            key = coll[rest]
            raise _Reply(200, {key: self.data[key],
                               "links": {"self": f"{base}/identity{rest}", "next": None,
                                         "previous": None}})
        m = re.fullmatch(r"/v3/(users|projects)/([^/]+)", rest)
        if m and method == "PATCH":
            items = self.data[m.group(1)]
            item = next((i for i in items if i["id"] == m.group(2)), None)
            if item is None:
                raise _error(404, f"Could not find {m.group(1)[:-1]}: {m.group(2)}")
            item.update((body or {}).get(m.group(1)[:-1], {}))
            raise _Reply(200, {m.group(1)[:-1]: item})
        if m and method == "DELETE":
            items = self.data[m.group(1)]
            self.data[m.group(1)] = [i for i in items if i["id"] != m.group(2)]
            raise _Reply(204)

    def _issue_token(self, body: Any) -> None:
        try:
            ident = body["auth"]["identity"]["password"]["user"]
            name, password = ident["name"], ident["password"]
        except (KeyError, TypeError):
            raise _error(400, "Expecting to find identity in auth.") from None
        if name != USERNAME or password != self.password:
            raise _error(401, "The request you have made requires authentication.")
        token = uuid.uuid4().hex
        with self._lock:
            self._tokens.add(token)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        expires = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() + 3600))
        raise _Reply(201, {"token": {
            "methods": ["password"], "expires_at": expires, "issued_at": now,
            "audit_ids": [uuid.uuid4().hex[:22]],
            "user": {"id": ADMIN_USER, "name": USERNAME, "password_expires_at": None,
                     "domain": {"id": "default", "name": "Default"}},
            "project": {"id": PROJECT_ID, "name": "admin",
                        "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "9fe2ff9ee4384b1894a90878d3e92bab", "name": "admin"},
                      {"id": "c8a2d6e4f0b24c6e8a0c2e4f6a8c0e2b", "name": "member"}],
            "is_domain": False,
            "catalog": self._catalog(),
        }}, headers={"X-Subject-Token": token})

    # ------------------------------------------------------------------ compute
    def _svc_compute(self, method: str, rest: str, query: dict[str, str], body: Any,
                     mv: str | None) -> None:
        base = self.url
        if rest == "":
            raise _Reply(200, _versions_doc(base, "compute"))
        if rest == "/v2.1":
            raise _Reply(200, {"version": _versions_doc(base, "compute")["versions"][1]})
        if not rest.startswith("/v2.1/"):
            raise _error(404, "Not found")
        rest = rest[len("/v2.1"):]
        if method == "GET":
            if rest == "/servers/detail":
                servers = self.data["servers"]
                if mv is None or _mv_tuple(mv) < (2, 26):
                    servers = [{k: v for k, v in s.items() if k != "tags"} for s in servers]
                items, links = self._page(servers, query, f"{base}/compute/v2.1/servers/detail",
                                          "id")
                body_out: dict[str, Any] = {"servers": items}
                if links:
                    body_out["servers_links"] = links
                raise _Reply(200, body_out)
            if rest == "/flavors/detail":
                raise _Reply(200, {"flavors": self.data["flavors"]})
            if rest == "/os-hypervisors/detail":
                raise _Reply(200, {"hypervisors": self.data["hypervisors"]})
            if rest == "/os-services":
                raise _Reply(200, {"services": self.data["compute_services"]})
            if rest == "/os-availability-zone/detail":
                raise _Reply(200, {"availabilityZoneInfo": self.data["availability_zones"]})
            m = re.fullmatch(r"/servers/([^/]+)", rest)
            if m:
                raise _Reply(200, {"server": self._server_by_id(m.group(1))})
        m = re.fullmatch(r"/servers/([^/]+)/action", rest)
        if m and method == "POST":
            server = self._server_by_id(m.group(1))
            if not isinstance(body, dict) or len(body) != 1:
                raise _error(400, "Malformed request body")
            action = next(iter(body))
            status = {"pause": "PAUSED", "unpause": "ACTIVE", "suspend": "SUSPENDED",
                      "resume": "ACTIVE", "os-stop": "SHUTOFF", "os-start": "ACTIVE",
                      "reboot": "ACTIVE", "lock": None, "unlock": None}
            if action == "os-resetState":
                state = (body[action] or {}).get("state")
                if state not in ("error", "active"):
                    raise _error(400, f"Invalid state {state!r}")
                server["status"] = state.upper()
                raise _Reply(202)
            if action not in status:
                raise _error(400, f"Unknown action {action}")
            if status[action]:
                server["status"] = status[action]
            raise _Reply(202)
        if rest == "/os-services/force-down" and method == "PUT":
            if mv is None or _mv_tuple(mv) < (2, 11):
                raise _error(400, "forced_down needs microversion 2.11 or later")
            matches = [s for s in self.data["compute_services"]
                       if s["host"] == (body or {}).get("host")
                       and s["binary"] == (body or {}).get("binary")]
            if not matches:
                raise _error(404, "Service not found")
            matches[0]["forced_down"] = bool(body.get("forced_down"))
            raise _Reply(200, {"service": {k: body.get(k) for k in
                                           ("host", "binary", "forced_down")}})
        m = re.fullmatch(r"/servers/([^/]+)/metadata", rest)
        if m and method == "POST":
            server = self._server_by_id(m.group(1))
            server.setdefault("metadata", {}).update((body or {}).get("metadata", {}))
            raise _Reply(200, {"metadata": server["metadata"]})
        m = re.fullmatch(r"/servers/([^/]+)", rest)
        if m and method == "DELETE":
            self._server_by_id(m.group(1))
            self.data["servers"] = [s for s in self.data["servers"] if s["id"] != m.group(1)]
            raise _Reply(204)

    def _server_by_id(self, server_id: str) -> dict[str, Any]:
        for s in self.data["servers"]:
            if s["id"] == server_id:
                return s
        raise _error(404, f"Instance {server_id} could not be found.")

    def _page(self, items: list[dict[str, Any]], query: dict[str, str], url: str,
              id_key: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """limit/marker pagination; a next link when the page is full (like nova)."""
        marker = query.get("marker")
        if marker:
            ids = [i[id_key] for i in items]
            if marker not in ids:
                raise _error(400, f"marker [{marker}] not found")
            items = items[ids.index(marker) + 1:]
        limit = query.get("limit")
        size = int(limit) if limit else self.page_size
        if size is None or len(items) < size:
            return items, []
        page = items[:size]
        if len(items) == size and limit is None:
            return page, []
        params = {k: v for k, v in query.items() if k != "marker"}
        params["marker"] = page[-1][id_key]
        if "limit" not in params:
            params["limit"] = str(size)
        return page, [{"rel": "next", "href": f"{url}?{urlencode(params)}"}]

    # ------------------------------------------------------------------ network
    def _svc_network(self, method: str, rest: str, query: dict[str, str], body: Any,
                     mv: str | None) -> None:
        base = self.url
        if rest == "":
            raise _Reply(200, _versions_doc(base, "network"))
        if rest == "/v2.0":
            raise _Reply(200, {"resources": []})
        colls = {"/v2.0/networks": "networks", "/v2.0/subnets": "subnets",
                 "/v2.0/ports": "ports", "/v2.0/routers": "routers",
                 "/v2.0/security-groups": "security_groups",
                 "/v2.0/floatingips": "floatingips"}
        if method == "GET" and rest in colls:
            key = colls[rest]
            items, links = self._page(self.data[key], query, f"{base}/network{rest}", "id")
            out: dict[str, Any] = {key: items}
            if links:
                out[f"{key}_links"] = links
            raise _Reply(200, out)
        m = re.fullmatch(r"/v2\.0/security-group-rules/([^/]+)", rest)
        if m and method in ("GET", "DELETE"):
            for sg in self.data["security_groups"]:
                rules = sg.get("security_group_rules") or []
                rule = next((r for r in rules if r["id"] == m.group(1)), None)
                if rule is None:
                    continue
                if method == "GET":
                    raise _Reply(200, {"security_group_rule": rule})
                sg["security_group_rules"] = [r for r in rules if r is not rule]
                raise _Reply(204)
            raise _Reply(404, {"NeutronError": {"type": "SecurityGroupRuleNotFound",
                                                "detail": "", "message": f"Security group "
                                                f"rule {m.group(1)} does not exist"}})
        m = re.fullmatch(r"/v2\.0/(networks|subnets|ports|routers|security-groups|floatingips)/"
                         r"([^/]+)", rest)
        if m:
            key = colls["/v2.0/" + m.group(1)]
            single = {"security_groups": "security_group", "floatingips": "floatingip"}.get(
                key, key[:-1])
            item = next((i for i in self.data[key] if i["id"] == m.group(2)), None)
            if item is None:
                raise _Reply(404, {"NeutronError": {"type": "NotFound", "detail": "",
                                                    "message": f"{single} {m.group(2)} could "
                                                               f"not be found."}})
            if method == "GET":
                raise _Reply(200, {single: item})
            if method == "PUT":
                item.update((body or {}).get(single, {}))
                raise _Reply(200, {single: item})
            if method == "DELETE":
                self.data[key] = [i for i in self.data[key] if i["id"] != m.group(2)]
                raise _Reply(204)

    # ------------------------------------------------------------------ image
    def _svc_image(self, method: str, rest: str, query: dict[str, str], body: Any,
                   mv: str | None) -> None:
        base = self.url
        if rest in ("", "/versions"):
            raise _Reply(300 if rest == "" else 200, _versions_doc(base, "image"))
        if method == "GET" and rest == "/v2/images":
            items = self.data["images"]
            marker = query.get("marker")
            if marker:
                ids = [i["id"] for i in items]
                items = items[ids.index(marker) + 1:] if marker in ids else []
            size = int(query["limit"]) if query.get("limit") else (self.page_size or 25)
            page = items[:size]
            out: dict[str, Any] = {"images": page, "first": "/v2/images",
                                   "schema": "/v2/schemas/images"}
            if len(items) > size:
                out["next"] = f"/v2/images?marker={page[-1]['id']}&limit={size}"
            raise _Reply(200, out)
        m = re.fullmatch(r"/v2/images/([^/]+)(/actions/(deactivate|reactivate)|/tags/(.+))?",
                         rest)
        if m:
            image = next((i for i in self.data["images"] if i["id"] == m.group(1)), None)
            if image is None:
                raise _Reply(404, raw=b"404 Not Found\n\nNo image found with ID "
                             + m.group(1).encode())
            if method == "GET" and not m.group(2):
                raise _Reply(200, image)
            if method == "POST" and m.group(3):
                image["status"] = "deactivated" if m.group(3) == "deactivate" else "active"
                raise _Reply(204)
            if m.group(4) and method == "PUT":
                image.setdefault("tags", []).append(m.group(4))
                raise _Reply(204)
            if m.group(4) and method == "DELETE":
                image["tags"] = [t for t in image.get("tags", []) if t != m.group(4)]
                raise _Reply(204)
            if method == "DELETE" and not m.group(2):
                self.data["images"] = [i for i in self.data["images"] if i["id"] != m.group(1)]
                raise _Reply(204)

    # ------------------------------------------------------------------ block storage
    def _svc_volume(self, method: str, rest: str, query: dict[str, str], body: Any,
                    mv: str | None) -> None:
        base = self.url
        if rest == "":
            raise _Reply(300, _versions_doc(base, "volume"))
        if rest == "/v3":
            raise _Reply(200, {"versions": _versions_doc(base, "volume")["versions"]})
        prefix = f"/v3/{PROJECT_ID}"
        if not rest.startswith(prefix):
            raise _error(404, "Not found")
        rest = rest[len(prefix):]
        if method == "GET":
            if rest == "/volumes/detail":
                raise _Reply(200, {"volumes": self.data["volumes"]})
            if rest == "/snapshots/detail":
                raise _Reply(200, {"snapshots": self.data["snapshots"]})
            if rest == "/os-services":
                raise _Reply(200, {"services": self.data["volume_services"]})
        m = re.fullmatch(r"/volumes/([^/]+)(/action)?", rest)
        if m:
            vol = next((v for v in self.data["volumes"] if v["id"] == m.group(1)), None)
            if vol is None:
                raise _error(404, f"Volume {m.group(1)} could not be found.")
            if method == "DELETE" and not m.group(2):
                vol["status"] = "deleting"
                raise _Reply(202)
            if method == "POST" and m.group(2):
                if "os-extend" in (body or {}):
                    vol["size"] = body["os-extend"]["new_size"]
                raise _Reply(202)
        m = re.fullmatch(r"/snapshots/([^/]+)", rest)
        if m and method == "DELETE":
            raise _Reply(202)

    # ------------------------------------------------------------------ orchestration
    def _svc_heat_api(self, method: str, rest: str, query: dict[str, str], body: Any,
                      mv: str | None) -> None:
        base = self.url
        if rest == "":
            raise _Reply(300, _versions_doc(base, "heat-api"))
        prefix = f"/v1/{PROJECT_ID}"
        if not rest.startswith(prefix):
            raise _error(404, "Not found")
        rest = rest[len(prefix):]
        if method == "GET":
            if rest == "/stacks":
                raise _Reply(200, {"stacks": self.data["stacks"]})
            if rest == "/software_deployments":
                raise _Reply(200, {"software_deployments": self.data["software_deployments"]})
            m = re.fullmatch(r"/stacks/([^/]+)/([^/]+)/(resources|events)", rest)
            if m:
                key = m.group(3)
                raise _Reply(200, {key: self.data[key].get(m.group(2), [])})
        m = re.fullmatch(r"/stacks/([^/]+)/([^/]+)", rest)
        if m and method == "DELETE":
            self.data["stacks"] = [s for s in self.data["stacks"] if s["id"] != m.group(2)]
            raise _Reply(204)
        m = re.fullmatch(r"/stacks/([^/]+)", rest)
        if m and method in ("GET", "DELETE"):
            stack = next((s for s in self.data["stacks"]
                          if m.group(1) in (s["id"], s["stack_name"])), None)
            if stack is None:
                raise _error(404, f"The Stack ({m.group(1)}) could not be found.")
            if method == "DELETE":
                self.data["stacks"] = [s for s in self.data["stacks"] if s is not stack]
                raise _Reply(204)
            raise _Reply(302, headers={"Location": f"{base}/heat-api{prefix}/stacks/"
                                                   f"{stack['stack_name']}/{stack['id']}"})

    # ------------------------------------------------------------------ baremetal
    def _svc_baremetal(self, method: str, rest: str, query: dict[str, str], body: Any,
                       mv: str | None) -> None:
        base = self.url
        if rest == "":
            raise _Reply(200, _versions_doc(base, "baremetal"))
        if rest == "/v1":
            raise _Reply(200, {"id": "v1", "media_types": [], "links": [],
                               "version": _versions_doc(base, "baremetal")["versions"][0]})
        if method == "GET":
            simple = {"/v1/nodes/detail": ("nodes", "ironic_nodes"),
                      "/v1/ports/detail": ("ports", "ironic_ports"),
                      "/v1/chassis/detail": ("chassis", "ironic_chassis"),
                      "/v1/drivers": ("drivers", "ironic_drivers")}
            if rest in simple:
                key, data_key = simple[rest]
                raise _Reply(200, {key: self.data[data_key]})
        m = re.fullmatch(r"/v1/nodes/([^/]+)", rest)
        if m and method == "GET":
            node = next((n for n in self.data["ironic_nodes"] if n["uuid"] == m.group(1)), None)
            if node is None:
                raise _error(404, f"Node {m.group(1)} could not be found.")
            raise _Reply(200, node)
        m = re.fullmatch(r"/v1/nodes/([^/]+)/(maintenance|states/power)", rest)
        if m:
            node = next((n for n in self.data["ironic_nodes"] if n["uuid"] == m.group(1)), None)
            if node is None:
                raise _error(404, f"Node {m.group(1)} could not be found.")
            if m.group(2) == "maintenance" and method in ("PUT", "DELETE"):
                node["maintenance"] = method == "PUT"
                raise _Reply(202)
            if m.group(2) == "states/power" and method == "PUT":
                target = (body or {}).get("target")
                node["power_state"] = {"power on": "power on", "power off": "power off",
                                       "rebooting": "power on"}.get(target, target)
                raise _Reply(202)

    # ------------------------------------------------------------------ object store
    def _svc_swift(self, method: str, rest: str, query: dict[str, str], body: Any,
                   mv: str | None) -> None:
        account = f"/v1/AUTH_{PROJECT_ID}"
        if rest == "":
            raise _Reply(200, {"swift": {"version": "2.33.0"}})
        if not rest.startswith(account):
            raise _error(404, "Not found")
        rest = rest[len(account):]
        containers = self.data["swift"]
        if rest == "" and method in ("GET", "HEAD"):
            listing = [{"count": len(objs), "bytes": sum(o["bytes"] for o in objs),
                        "name": name, "last_modified": "2024-03-08T01:00:00.000000"}
                       for name, objs in sorted(containers.items())]
            marker = query.get("marker")
            if marker:
                listing = [c for c in listing if c["name"] > marker]
            raise _Reply(200, listing, headers={
                "X-Account-Container-Count": str(len(containers)),
                "X-Account-Object-Count": str(sum(len(o) for o in containers.values()))})
        m = re.fullmatch(r"/([^/]+)(/(.+))?", rest)
        if m:
            name = m.group(1)
            if name not in containers:
                raise _Reply(404, raw=b"<html><h1>Not Found</h1></html>")
            if m.group(3) is None and method in ("GET", "HEAD"):
                objs = containers[name]
                marker = query.get("marker")
                if marker:
                    objs = [o for o in objs if o["name"] > marker]
                raise _Reply(200, objs, headers={"X-Container-Object-Count": str(len(objs))})
            if m.group(3) is not None:
                obj = next((o for o in containers[name] if o["name"] == m.group(3)), None)
                if obj is None:
                    raise _Reply(404, raw=b"<html><h1>Not Found</h1></html>")
                if method in ("GET", "HEAD"):
                    raise _Reply(200, raw=b"", headers={
                        "Content-Type": obj["content_type"], "Etag": obj["hash"],
                        "X-Object-Meta-Size": str(obj["bytes"])})
                if method == "DELETE":
                    containers[name] = [o for o in containers[name] if o is not obj]
                    raise _Reply(204)
            if m.group(3) is None and method == "DELETE":
                del containers[name]
                raise _Reply(204)

    # ------------------------------------------------------------------ alarming
    def _svc_alarming(self, method: str, rest: str, query: dict[str, str], body: Any,
                      mv: str | None) -> None:
        base = self.url
        if rest == "":
            raise _Reply(200, _versions_doc(base, "alarming"))
        if method == "GET" and rest == "/v2/alarms":
            raise _Reply(200, self.data["aodh_alarms"])
        m = re.fullmatch(r"/v2/alarms/([^/]+)", rest)
        if m and method == "DELETE":
            self.data["aodh_alarms"] = [a for a in self.data["aodh_alarms"]
                                        if a["alarm_id"] != m.group(1)]
            raise _Reply(204)


def _microversion(headers: dict[str, str]) -> str | None:
    value = headers.get("openstack-api-version")
    if value:
        parts = value.split()
        return parts[-1] if parts else None
    return headers.get("x-openstack-nova-api-version")


def _mv_tuple(mv: str) -> tuple[int, int]:
    if mv == "latest":
        return (99, 99)
    major, _, minor = mv.partition(".")
    return int(major), int(minor or 0)


def _versions_doc(base: str, service: str) -> dict[str, Any]:
    def link(url: str) -> list[dict[str, str]]:
        return [{"rel": "self", "href": url}]
    if service == "identity":
        return {"versions": {"values": [{
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": link(f"{base}/identity/v3/"),
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}]}}
    if service == "compute":
        return {"versions": [
            {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
             "updated": "2011-01-21T11:33:21Z", "links": link(f"{base}/compute/v2/")},
            {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
             "updated": "2013-07-23T11:33:21Z", "links": link(f"{base}/compute/v2.1/")}]}
    if service == "network":
        return {"versions": [{"id": "v2.0", "status": "CURRENT",
                              "links": link(f"{base}/network/v2.0/")}]}
    if service == "image":
        return {"versions": [
            {"id": "v2.16", "status": "CURRENT", "links": link(f"{base}/image/v2/")},
            {"id": "v2.9", "status": "SUPPORTED", "links": link(f"{base}/image/v2/")}]}
    if service == "volume":
        return {"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.70",
                              "min_version": "3.0", "updated": "2023-08-31T00:00:00Z",
                              "links": link(f"{base}/volume/v3/")}]}
    if service == "heat-api":
        return {"versions": [{"id": "v1.0", "status": "CURRENT",
                              "links": link(f"{base}/heat-api/v1/")}]}
    if service == "baremetal":
        v = {"id": "v1", "status": "CURRENT", "version": "1.87", "min_version": "1.1",
             "links": link(f"{base}/baremetal/v1/")}
        return {"name": "OpenStack Ironic API", "versions": [v], "default_version": v}
    if service == "alarming":
        return {"versions": {"values": [{"id": "v2", "status": "stable",
                                         "links": link(f"{base}/alarming/v2")}]}}
    raise ValueError(service)
