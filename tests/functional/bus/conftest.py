"""Fixtures for bus tests on a real RabbitMQ at 127.0.0.1:5672 (guest/guest).

If the broker is not answering it is started (``rabbitmq-server -detached``, or ``rabbitmqctl
start_app`` if only the application is stopped). The session uses its own vhost, deleted at the
end, and every test its own bus id; nodes run in separate processes (``busnode.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from congress.bus import Node

from .busnode import make_conf

HOST, PORT = "127.0.0.1", 5672
REPO = Path(__file__).resolve().parents[3]
FAST = {"heartbeat_interval": 0.2, "heartbeat_timeout": 2.0, "rpc_timeout": 10.0,
        "ping_timeout": 1.0, "time_to_resub": 2.0}

pytestmark = pytest.mark.functional


def port_open(timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=timeout):
            return True
    except OSError:
        return False


def rabbitmqctl(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                          timeout=timeout, check=check)


def wait_for_port(timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open():
            return True
        time.sleep(0.5)
    return False


def ensure_rabbit() -> None:
    if port_open():
        return
    if shutil.which("rabbitmqctl") is None or shutil.which("rabbitmq-server") is None:
        pytest.skip("RabbitMQ is not answering on 127.0.0.1:5672 and is not installed")
    # The Erlang node may be up with the application stopped (e.g. an interrupted test).
    if rabbitmqctl("start_app", check=False).returncode == 0 and wait_for_port(30):
        return
    subprocess.run(["rabbitmq-server", "-detached"], check=False, timeout=60)
    rabbitmqctl("await_startup", timeout=120, check=False)
    if not wait_for_port(90):
        pytest.fail("could not start RabbitMQ")


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0,
               interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def rabbit_url() -> Iterator[str]:
    ensure_rabbit()
    vhost = f"congress-bus-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"rabbit://guest:guest@{HOST}:{PORT}/{vhost}"
    ensure_rabbit()
    rabbitmqctl("delete_vhost", vhost, check=False)


@pytest.fixture
def bus_id() -> str:
    return f"ft-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_node(rabbit_url: str, bus_id: str) -> Iterator[Callable[..., Node]]:
    """A node in the test process itself, on RabbitMQ."""
    nodes: list[Node] = []

    def make(node_id: str, *, start: bool = True, **kwargs: Any) -> Node:
        options = {**FAST, "bus_id": bus_id, **kwargs}
        node = Node(node_id, transport_url=rabbit_url, conf=make_conf(True), **options)
        nodes.append(node)
        if start:
            node.start()
        return node

    yield make
    threads = [threading.Thread(target=n.stop) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class NodeProcess:
    """A bus node running busnode.py in a child process."""

    def __init__(self, spec: dict[str, Any], log_path: Path) -> None:
        self.spec = spec
        self.node_id = spec["node_id"]
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in close()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tests.functional.bus.busnode", json.dumps(spec)],
            cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, text=True)
        self.status: str | None = None
        self.detail = ""

    def wait_ready(self, timeout: float = 30.0) -> NodeProcess:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.popen.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        line = result[0].strip() if result else ""
        self.status, _, self.detail = line.partition(" ")
        if self.status not in ("READY", "DUPLICATE"):
            raise AssertionError(f"node process {self.node_id} did not start: {line!r}\n"
                                 + self.log_path.read_text()[-3000:])
        return self

    @property
    def instance(self) -> str:
        return self.detail if self.status == "READY" else ""

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def close(self) -> None:
        if self.popen.poll() is None:
            try:
                self.popen.stdin.close()        # asks for a clean stop
                self.popen.wait(10)
            except (subprocess.TimeoutExpired, OSError):
                self.popen.kill()
                self.popen.wait(10)
        for pipe in (self.popen.stdin, self.popen.stdout):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:             # a broken pipe to a process that is gone
                    pass
        self.log.close()


@pytest.fixture
def spawn(rabbit_url: str, bus_id: str, tmp_path: Path) -> Iterator[Callable[..., NodeProcess]]:
    """spawn(node_id, services=[...], bus_id=..., subscribe=[...], **node_options)."""
    procs: list[NodeProcess] = []

    def start(node_id: str, services: list[str] = (), *, bus: str | None = None,
              subscribe: list[list[str]] = (), wait: bool = True, **options: Any) -> NodeProcess:
        spec = {"node_id": node_id, "bus_id": bus or bus_id, "url": rabbit_url,
                "services": list(services), "subscribe": [list(s) for s in subscribe],
                "options": {**FAST, **options}}
        proc = NodeProcess(spec, tmp_path / f"{node_id}-{len(procs)}.log")
        procs.append(proc)
        return proc.wait_ready() if wait else proc

    yield start
    threads = [threading.Thread(target=p.close) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
