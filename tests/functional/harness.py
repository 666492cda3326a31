"""Real Congress processes, MariaDB databases and RabbitMQ for functional tests.

Everything here starts or talks to the real thing: ``congress-server`` processes on 127.0.0.1
ports, a uniquely named MariaDB database per test, a unique bus id per test on the local
RabbitMQ.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
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
# The MariaDB server the tests use, as a SQLAlchemy URL without a database. The default is the
# dedicated test user that ``bash scripts/dev.sh test`` creates (idempotently, through the unix
# socket as root); the tests never log in as root.
MYSQL_URL = os.environ.get("CONGRESS_TEST_MYSQL_URL",
                           "mysql+pymysql://congress_test:congress_test@127.0.0.1:3306")
MARIADBD = "/usr/sbin/mariadbd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _mysql_url() -> Any:
    from sqlalchemy.engine import make_url
    return make_url(MYSQL_URL)


def ensure_mariadb(timeout: float = 60.0) -> None:
    """Make sure MariaDB answers on the test URL's host and port; start it if need be (as the
    Debian package's init script would)."""
    url = _mysql_url()
    host, port = url.host or "127.0.0.1", url.port or 3306
    if port_open(port, host):
        return
    if not os.path.exists(MARIADBD):
        raise RuntimeError(f"MariaDB is not running on {host}:{port} and {MARIADBD} is not "
                           "installed (bash scripts/dev.sh test installs it)")
    os.makedirs("/run/mysqld", exist_ok=True)  # socket and pid directory of the package
    shutil.chown("/run/mysqld", "mysql", "mysql")
    subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec",
                    MARIADBD], check=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        time.sleep(0.5)
    raise RuntimeError(f"MariaDB did not start listening on {host}:{port} in {timeout:.0f} s")


def mariadb_admin() -> Any:
    """A PyMySQL connection (autocommit) as the test user, with a clear error when that user
    cannot log in."""
    import pymysql
    url = _mysql_url()
    try:
        return pymysql.connect(host=url.host or "127.0.0.1", port=url.port or 3306,
                               user=url.username or "", password=url.password or "",
                               autocommit=True)
    except pymysql.err.OperationalError as e:
        raise RuntimeError(
            f"cannot log in to MariaDB as {url.username!r} ({e}): run `bash scripts/dev.sh "
            "setup-db` to create the test user, or point CONGRESS_TEST_MYSQL_URL at a user "
            "that may create databases named congress*") from e


def create_database(prefix: str = "congress_test") -> tuple[str, str]:
    """A new empty utf8mb4 database; returns (name, SQLAlchemy URL)."""
    ensure_mariadb()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with mariadb_admin() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    return name, f"{MYSQL_URL.rstrip('/')}/{name}?charset=utf8mb4"


def drop_database(name: str) -> None:
    with mariadb_admin() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


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
        self.name, self.url = create_database(prefix)

    def drop(self) -> None:
        drop_database(self.name)


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
            # multi-node tests run without Keystone: they must say so (there is no default
            # outside the all-in-one developer server)
            "DEFAULT": {"auth_strategy": "noauth",
                        "state_path": self.state, "bind_port": self.port,
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
                    if v is not None:       # None: leave the option out
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
