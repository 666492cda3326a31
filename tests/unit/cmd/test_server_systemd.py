"""congress-server as a systemd service: sd_notify datagrams, watchdog, draining on stop,
SIGHUP reload, per-instance defaults of congress-pe@N, the status file."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import threading
import time

import pytest

from congress.cmd import sdnotify, server


@pytest.fixture
def notify_socket():
    d = tempfile.mkdtemp(prefix="cg-notify-")
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield path, sock
    sock.close()
    os.unlink(path)
    os.rmdir(d)


def test_notify_sends_one_datagram(notify_socket):
    path, sock = notify_socket
    assert sdnotify.notify("READY=1\nSTATUS=up", {"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=up"


def test_notify_abstract_socket():
    name = f"congress-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert sdnotify.notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"STOPPING=1"
    finally:
        sock.close()


def test_notify_without_systemd_is_a_no_op():
    assert sdnotify.notify("READY=1", {}) is False
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": "relative"}) is False
    assert sdnotify.notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/sock"}) is False


def test_watchdog_interval():
    assert sdnotify.watchdog_interval({}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    mine = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
    assert sdnotify.watchdog_interval(mine) == 2.0
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "x"}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "0"}) is None


# ----------------------------------------------------------------------------- per instance
def test_instance_defaults(tmp_path):
    conf_file = tmp_path / "congress.conf"
    conf_file.write_text("[DEFAULT]\nbind_host = 127.0.0.1\n")
    conf = server.parse_args(["--config-file", str(conf_file), "--instance", "2"])
    assert conf.bind_port == 1791
    assert conf.node_id == f"{socket.gethostname()}-pe2"
    assert conf.config_file == [str(conf_file)]


def test_instance_file_is_read_after_the_others(tmp_path):
    conf_file = tmp_path / "congress.conf"
    conf_file.write_text("[DEFAULT]\nbind_port = 9000\nnode_id = from-main\n")
    (tmp_path / "congress-pe@3.conf").write_text("[DEFAULT]\nnode_id = pe-three\n")
    conf = server.parse_args(["--config-file", str(conf_file), "--instance", "3"])
    assert conf.node_id == "pe-three"
    assert conf.bind_port == 9000           # the main file's setting beats the instance default
    assert conf.config_file == [str(conf_file), str(tmp_path / "congress-pe@3.conf")]


def test_command_line_beats_instance(tmp_path):
    conf_file = tmp_path / "congress.conf"
    conf_file.write_text("[DEFAULT]\n")
    (tmp_path / "congress-pe@1.conf").write_text("[DEFAULT]\nbind_port = 5000\nnode_id = f\n")
    conf = server.parse_args(["--config-file", str(conf_file), "--instance", "1",
                              "--node-id", "cli"])
    assert (conf.node_id, conf.bind_port) == ("cli", 5000)


def test_instance_must_be_positive(tmp_path):
    with pytest.raises(SystemExit):
        server.parse_args(["--config-file", os.devnull, "--instance", "0"])


# ----------------------------------------------------------------------------- draining
def _app(release: threading.Event):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        if environ.get("PATH_INFO") == "/slow":
            release.wait(5)
        return [b"ok"]
    return app


def _call(app, path="/"):
    status = []
    result = app({"PATH_INFO": path}, lambda s, h: status.append(s))
    body = b"".join(result)
    getattr(result, "close", lambda: None)()
    return status[0], body


def test_inflight_waits_for_requests_then_refuses_new_ones():
    release = threading.Event()
    mw = server.InFlight(_app(release))
    assert _call(mw) == ("200 OK", b"ok")
    assert mw.count == 0
    done = []
    t = threading.Thread(target=lambda: done.append(_call(mw, "/slow")))
    t.start()
    deadline = time.monotonic() + 5
    while mw.count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert mw.count == 1
    mw.drain()
    assert _call(mw)[0] == "503 Service Unavailable"
    assert mw.wait_idle(0.2) is False        # the slow one is still running
    release.set()
    assert mw.wait_idle(5) is True
    t.join(5)
    assert done == [("200 OK", b"ok")]       # the in-flight request was answered in full


def test_inflight_counts_an_app_that_raises():
    def boom(environ, start_response):
        raise RuntimeError("x")
    mw = server.InFlight(boom)
    with pytest.raises(RuntimeError):
        mw({}, lambda s, h: None)
    assert mw.count == 0


# ----------------------------------------------------------------------------- main loop
class _FakeServer:
    def __init__(self, conf, healthy=True):
        self.conf = conf
        self.stopped = threading.Event()
        self.healthy = healthy

    def health(self):
        return {"node_id": self.conf.node_id, "pid": os.getpid(), "running": True,
                "bus": self.healthy, "api": True, "healthy": self.healthy, "time": time.time()}


def test_main_loop_keepalives_and_status_file(notify_socket, tmp_path):
    path, sock = notify_socket
    status = tmp_path / "node.status"
    conf = server.parse_args(["--config-file", os.devnull, "--node-id", "n1",
                              "--status-file", str(status)])
    fake = _FakeServer(conf)
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}
    t = threading.Thread(target=server.serve_forever, args=(fake, threading.Event(), env))
    t.start()
    try:
        assert sock.recv(100) == b"WATCHDOG=1"
        assert sock.recv(100) == b"WATCHDOG=1"
        data = json.loads(status.read_text())
        assert data["node_id"] == "n1" and data["healthy"] is True
        fake.healthy = False                  # no keep-alives while unhealthy
        time.sleep(0.3)
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            while True:
                sock.recv(100)
        assert json.loads(status.read_text())["bus"] is False
    finally:
        fake.stopped.set()
        t.join(5)
    assert not t.is_alive()


def test_sighup_reload_changes_log_level(tmp_path):
    import logging
    conf_file = tmp_path / "congress.conf"
    conf_file.write_text("[DEFAULT]\ndebug = false\n")
    conf = server.parse_args(["--config-file", str(conf_file)])
    root = logging.getLogger()
    before = root.level
    try:
        server.logging_setup.apply_levels(conf)
        assert root.level == logging.INFO
        conf_file.write_text("[DEFAULT]\ndebug = true\n")
        server.reload_config(conf)
        assert conf.debug is True
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(before)


def test_switch_interval_is_set_before_the_node_starts(tmp_path, monkeypatch):
    """``switch_interval`` from the configuration is the interpreter's when the node starts
    (its threads then hand over the interpreter at that pace)."""
    conf_file = tmp_path / "congress.conf"
    conf_file.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\nswitch_interval = 0.0025\n"
                         "malloc_arena_max = 0\nmalloc_trim_threshold = 0\n")
    seen = []

    class Stop(Exception):
        pass

    def node(conf):
        seen.append(sys.getswitchinterval())
        raise Stop

    before = sys.getswitchinterval()
    monkeypatch.setattr(server, "ServerNode", node)
    try:
        with pytest.raises(Stop):
            server.main(["--config-file", str(conf_file)])
    finally:
        sys.setswitchinterval(before)
    assert seen == [pytest.approx(0.0025)]
    assert server.parse_args(["--config-file", str(conf_file)]).switch_interval == 0.0025
