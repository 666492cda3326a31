"""Real Congress processes, MariaDB databases and RabbitMQ for functional tests.

Everything here starts or talks to the real thing: ``congress-server`` processes on 127.0.0.1
ports, a uniquely named MariaDB database per test, a unique bus id per test on the local
RabbitMQ.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(os.path.dirname(sys.executable), "congress-server")
RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def ensure_mariadb() -> None:
    if port_open(3306):
        return
    subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec",
                    "/usr/sbin/mariadbd"], check=False)
    for _ in range(120):
        if port_open(3306):
            return
        time.sleep(0.5)
    raise RuntimeError("MariaDB is not running on 127.0.0.1:3306 and could not be started")


def ensure_rabbitmq() -> None:
    if port_open(5672):
        return
    subprocess.run(["rabbitmq-server", "-detached"], check=False)
    for _ in range(120):
        if port_open(5672):
            return
        time.sleep(0.5)
    raise RuntimeError("RabbitMQ is not running on 127.0.0.1:5672 and could not be started")


class MariaDBDatabase:
    """A fresh database on the local MariaDB, dropped by :meth:`drop`."""

    def __init__(self, prefix: str = "congress_ft") -> None:
        import pymysql
        ensure_mariadb()
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        conn = pymysql.connect(**MARIADB)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        conn.close()
        self.url = (f"mysql+pymysql://root@127.0.0.1:3306/{self.name}?charset=utf8mb4")

    def drop(self) -> None:
        import pymysql
        conn = pymysql.connect(**MARIADB)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
        conn.close()


class Response:
    def __init__(self, status: int, body: bytes, headers: Any) -> None:
        # headers: an email.message.Message (case-insensitive: HAProxy lowercases names)
        self.status = status
        self.raw = body
        self.headers = headers

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw.strip() else None

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.raw[:300]!r}>"


def http(method: str, url: str, body: Any = None, *, raw: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 60) -> Response:
    data = raw
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, resp.read(), resp.headers)
    except urllib.error.HTTPError as e:
        return Response(e.code, e.read(), e.headers)


class CongressProcess:
    """One ``congress-server`` process with its own config file."""

    def __init__(self, workdir: str, *, node_id: str = "node", roles: tuple[str, ...] = (),
                 db_url: str | None = None, transport_url: str | None = None,
                 bus_id: str | None = None, port: int | None = None,
                 extra: dict[str, dict[str, Any]] | None = None) -> None:
        self.workdir = workdir
        self.node_id = node_id
        self.roles = roles
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        os.makedirs(workdir, exist_ok=True)
        self.state = os.path.join(workdir, "state")
        self.conf_path = os.path.join(workdir, f"{node_id}.conf")
        self.log_path = os.path.join(workdir, f"{node_id}.log")
        sections: dict[str, dict[str, Any]] = {
            "DEFAULT": {"state_path": self.state, "bind_port": self.port,
                        "bind_host": "127.0.0.1", "policy_library_path":
                            os.path.join(workdir, "library"),
                        "datasource_sync_period": 30},
            "dse": {"heartbeat_interval": 0.5, "heartbeat_timeout": 3},
        }
        if db_url:
            sections["database"] = {"connection": db_url}
        if transport_url:
            sections["DEFAULT"]["transport_url"] = transport_url
        if bus_id:
            sections["dse"]["bus_id"] = bus_id
        for section, values in (extra or {}).items():
            sections.setdefault(section, {}).update(values)
        with open(self.conf_path, "w") as f:
            for section, values in sections.items():
                f.write(f"[{section}]\n")
                for k, v in values.items():
                    f.write(f"{k} = {v}\n")
                f.write("\n")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True, timeout: float = 60) -> CongressProcess:
        args = [BIN, "--config-file", self.conf_path, "--node-id", self.node_id]
        args += [f"--{r}" for r in self.roles]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir, start_new_session=True)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"congress-server {self.node_id} exited with "
                                   f"{self.proc.returncode}:\n{self.log_tail()}")
            if "api" in self.roles or not self.roles:
                with contextlib.suppress(OSError):
                    r = http("GET", self.url + "/healthcheck", timeout=2)
                    if r.status == 200:
                        return
            elif "node " + self.node_id + " ready" in self.log_tail(200000):
                return
            time.sleep(0.2)
        raise RuntimeError(f"congress-server {self.node_id} not ready:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Response:
        return http(method, self.url + path, body, **kw)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)


def wait_for(predicate: Any, timeout: float = 10, interval: float = 0.05,
             message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")
