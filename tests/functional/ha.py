"""A multi-process Congress deployment on 127.0.0.1 for tests and benchmarks.

N policy-engine nodes (``--api --policy-engine``) and one datasource node (``--datasources``)
share a MariaDB database and RabbitMQ (a unique bus id per cluster), behind HAProxy with
cookie-based sticky sessions and health checks on ``/healthcheck``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from http.cookiejar import CookieJar
from typing import Any

from tests.functional.harness import (
    RABBIT_URL,
    CongressProcess,
    MariaDBDatabase,
    Response,
    ensure_rabbitmq,
    free_port,
    http,
    port_open,
)

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


class HAProxy:
    def __init__(self, workdir: str, backends: list[tuple[str, int]], port: int | None = None,
                 check_interval_ms: int = 300) -> None:
        self.port = port or free_port()
        self.cfg = os.path.join(workdir, "haproxy.cfg")
        self.log = os.path.join(workdir, "haproxy.log")
        servers = "\n".join(
            f"    server {name} 127.0.0.1:{p} check cookie {name}" for name, p in backends)
        with open(self.cfg, "w") as f:
            f.write(f"""global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    option http-server-close
    # a GET whose engine died mid-request is retried on another engine (L7 retries);
    # other methods are never replayed
    retry-on conn-failure empty-response response-timeout 502 503

frontend congress
    bind 127.0.0.1:{self.port}
    default_backend policy_engines

backend policy_engines
    balance roundrobin
    http-request disable-l7-retry unless METH_GET || METH_HEAD
    cookie SERVERID insert indirect nocache
    option httpchk GET /healthcheck
    http-check expect status 200
    default-server inter {check_interval_ms}ms fastinter {check_interval_ms}ms fall 2 rise 2
{servers}
""")
        self.proc: subprocess.Popen | None = None

    def start(self) -> HAProxy:
        check = subprocess.run([HAPROXY, "-c", "-f", self.cfg], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy config invalid: {check.stdout}{check.stderr}")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg], stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(100):
            if port_open(self.port):
                return self
            time.sleep(0.1)
        raise RuntimeError("haproxy did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            if self.proc.poll() is None:
                self.proc.kill()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class StickyClient:
    """An HTTP client that keeps HAProxy's SERVERID cookie (a sticky session)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Response:
        import json
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers)
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return Response(resp.status, resp.read(), resp.headers)
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read(), e.headers)


class Cluster:
    def __init__(self, workdir: str, pes: int = 3, dsd: bool = True, db: Any = None,
                 bus_id: str | None = None, extra: dict[str, dict[str, Any]] | None = None,
                 haproxy: bool = True) -> None:
        ensure_rabbitmq()
        self.workdir = workdir
        self.own_db = db is None
        self.db = db or MariaDBDatabase("congress_ha")
        self.bus_id = bus_id or f"ha-{uuid.uuid4().hex[:8]}"
        # every datasource node must decrypt the secrets the others stored: one key for all
        # (operators distribute /etc/congress/keys/aes_key the same way)
        self.extra = {"DEFAULT": {"encryption_key_path": os.path.join(workdir, "keys")}}
        for section, values in (extra or {}).items():
            self.extra.setdefault(section, {}).update(values)
        self.pes = [self._node(f"pe-{i + 1}", ("api", "policy-engine")) for i in range(pes)]
        self.dsds: list[CongressProcess] = [self._node("dsd", ("datasources",))] if dsd else []
        self.haproxy = HAProxy(workdir, [(p.node_id, p.port) for p in self.pes]) \
            if haproxy else None

    def _node(self, node_id: str, roles: tuple[str, ...]) -> CongressProcess:
        return CongressProcess(os.path.join(self.workdir, node_id), node_id=node_id,
                               roles=roles, db_url=self.db.url, transport_url=RABBIT_URL,
                               bus_id=self.bus_id, extra=self.extra)

    def new_dsd(self, node_id: str) -> CongressProcess:
        proc = self._node(node_id, ("datasources",))
        self.dsds.append(proc)
        return proc

    def start(self) -> Cluster:
        try:
            # the first PE creates the schema and system policies; the others start together
            self.pes[0].start()
            for p in self.pes[1:]:
                p.start(wait=False)
            for p in self.dsds:
                p.start(wait=False)
            for p in self.pes[1:] + self.dsds:
                p.wait_ready()
            if self.haproxy is not None:
                self.haproxy.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.haproxy is not None:
            self.haproxy.stop()
        for p in self.pes + self.dsds:
            with contextlib.suppress(Exception):
                p.stop(timeout=10)
        if self.own_db:
            with contextlib.suppress(Exception):
                self.db.drop()

    @property
    def url(self) -> str:
        assert self.haproxy is not None
        return self.haproxy.url

    def lb(self, method: str, path: str, body: Any = None) -> Response:
        return http(method, self.url + path, body)

    def logs(self) -> str:
        out = []
        for p in self.pes + self.dsds:
            out.append(f"===== {p.node_id}\n{p.log_tail(3000)}")
        return "\n".join(out)


def table_rows(node: Any, policy: str, table: str) -> list[tuple] | None:
    """Sorted rows of a policy table on one node (None when the node answers an error)."""
    r = node.get(f"/v1/policies/{policy}/tables/{table}/rows")
    if r.status != 200:
        return None
    return sorted(tuple(x["data"]) for x in r.json["results"])
