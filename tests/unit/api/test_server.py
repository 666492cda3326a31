"""serve(): waitress really serves the app on an ephemeral port."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest

from congress.api.app import create_app
from congress.api.server import serve
from tests.unit.api.conftest import make_conf


@pytest.fixture
def server(tmp_path, backend, caplog):
    conf = make_conf(tmp_path, bind_host="127.0.0.1", bind_port=0, api_threads=4,
                     max_request_body_size=1024, tcp_keepalive=True, tcp_keepidle=30)
    with caplog.at_level(logging.INFO, logger="congress.api"):
        srv = serve(conf, create_app(conf, backend))
    try:
        yield srv
    finally:
        srv.stop()


def test_serves_real_http(server, caplog) -> None:
    assert server.port > 0
    setup_log = [r.getMessage() for r in caplog.get_records("setup")]
    assert f"Congress API listening on http://127.0.0.1:{server.port}" in setup_log
    with urllib.request.urlopen(f"{server.url}/v1/policies", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
        assert response.headers["X-Congress-Node"] == "node-1"
        assert response.headers["X-OpenStack-Request-ID"].startswith("req-")
        body = json.loads(response.read())
    assert [p["name"] for p in body["results"]] == ["classification", "action"]

    request = urllib.request.Request(f"{server.url}/v1/policies", method="POST",
                                     data=b'{"name": "served"}',
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201
        created = json.loads(response.read())
        assert response.headers["Location"] == f"/v1/policies/{created['id']}"

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{server.url}/v1/policies/nope", timeout=5)
    assert info.value.code == 404
    assert json.loads(info.value.read())["error"]["error_code"] == 404

    with urllib.request.urlopen(f"{server.url}/healthcheck", timeout=5) as response:
        assert response.read() == b"OK"


def _chunked_post(server, path: str, payload: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.putheader("Content-Type", "application/json")
        conn.endheaders()
        for i in range(0, len(payload), 100):
            chunk = payload[i:i + 100]
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_chunked_bodies(server) -> None:
    status, data = _chunked_post(server, "/v1/policies", b'{"name": "chunky"}')
    assert status == 201, data
    assert json.loads(data)["name"] == "chunky"
    status, data = _chunked_post(server, "/v1/policies",
                                 json.dumps({"name": "p", "description": "x" * 1500}).encode())
    assert status == 413
    assert json.loads(data)["error"]["error_code"] == 413


def test_declared_oversize_body_gets_the_envelope(server) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request("POST", "/v1/policies", body=b"{" + b" " * 1500 + b"}",
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["error_code"] == 413
    finally:
        conn.close()


def test_stop_releases_the_port(tmp_path, backend) -> None:
    conf = make_conf(tmp_path, bind_host="127.0.0.1", bind_port=0)
    srv = serve(conf, create_app(conf, backend))
    port = srv.port
    with urllib.request.urlopen(f"{srv.url}/", timeout=5) as response:
        assert response.status == 200
    srv.stop()
    srv.stop()                                    # idempotent
    assert not srv._thread.is_alive()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))               # the port is free again


def test_stop_while_a_request_is_served_lets_it_finish(tmp_path) -> None:
    """The race behind a flaky EBADF: a worker that finishes a request wakes the event loop
    through waitress's trigger pipe; stop() closed that pipe while workers could still write
    to it. Now stop() waits for the request being served, then closes; the worker neither
    fails nor writes to a closed descriptor."""
    import threading
    import time

    from congress.api.server import Server

    entered = threading.Event()

    def slow_app(environ, start_response):
        entered.set()
        time.sleep(0.5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"finished"]

    errors: list[BaseException] = []
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        conf = make_conf(tmp_path, bind_host="127.0.0.1", bind_port=0, api_threads=2)
        srv = Server(conf, slow_app)
        srv.start()
        answers: list[bytes] = []

        def client() -> None:
            with urllib.request.urlopen(f"{srv.url}/", timeout=10) as response:
                answers.append(response.read())

        t = threading.Thread(target=client)
        t.start()
        assert entered.wait(5)
        srv.stop()                       # while the request is in the app
        t.join(10)
        assert answers == [b"finished"]
        assert not srv._thread.is_alive()
        assert not srv._server.task_dispatcher.threads
    finally:
        threading.excepthook = previous_hook
    assert errors == []


def _recording_server(tmp_path, threads: int, served_by: list) -> Any:
    """A started Server whose app notes the thread serving each request; ``/slow`` takes
    longer than the recycling threshold."""
    import threading
    import time

    from congress.api.server import RECYCLE_AFTER, Server

    def app(environ, start_response):
        served_by.append(threading.current_thread())
        if environ["PATH_INFO"] == "/slow":
            time.sleep(RECYCLE_AFTER + 0.05)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    conf = make_conf(tmp_path, bind_host="127.0.0.1", bind_port=0, api_threads=threads)
    srv = Server(conf, app)
    srv.start()
    return srv


def _get_ok(url: str) -> None:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"ok"


def test_a_worker_that_served_a_long_request_hands_over_to_a_fresh_thread(tmp_path) -> None:
    """Memory (issue 15): a worker thread's malloc cache is given back only when the thread
    ends, so one that served a long request ends and a new thread takes its place; short
    requests keep their thread; the pool keeps its size and still shuts down."""
    import threading
    import time

    served_by: list[threading.Thread] = []
    srv = _recording_server(tmp_path, 2, served_by)
    dispatcher = srv.dispatcher

    def get(path: str) -> None:
        _get_ok(f"{srv.url}{path}")

    try:
        for _ in range(5):
            get("/fast")
        assert dispatcher.recycled == 0
        assert all(t.is_alive() for t in served_by)

        get("/slow")
        slow_thread = served_by[-1]
        slow_thread.join(5)
        assert not slow_thread.is_alive()               # it ended ...
        assert dispatcher.recycled == 1
        assert dispatcher.threads == {0, 1}             # ... and its number lives on
        deadline = time.monotonic() + 5
        while dispatcher.active_count != 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert dispatcher.active_count == 0             # both workers idle, none lost
        alive = [t for t in threading.enumerate() if t.name == slow_thread.name]
        assert len(alive) == 1 and alive[0] is not slow_thread

        for path in ("/fast", "/slow", "/fast", "/fast"):
            get(path)
        assert dispatcher.recycled == 2
        assert all(served_by[i].is_alive() for i in (-1, -2))
    finally:
        srv.stop()
    assert not dispatcher.threads
    for t in served_by:
        t.join(5)
        assert not t.is_alive()


def test_retire_idle_replaces_every_worker_and_the_pool_serves_on(tmp_path) -> None:
    """Before a trim (after big frees) every worker thread makes way for a fresh one, so the
    blocks cached in the old threads go back to malloc's heap and can be trimmed; not
    while a request is being served."""
    import threading
    import time

    served_by: list[threading.Thread] = []
    srv = _recording_server(tmp_path, 3, served_by)
    dispatcher = srv.dispatcher
    try:
        old = [t for t, _ in dispatcher._workers.values()]
        assert len(old) == 3
        deadline = time.monotonic() + 5
        while dispatcher.active_count and time.monotonic() < deadline:
            time.sleep(0.01)                       # the threads just started, not yet idle
        assert dispatcher.retire_idle(timeout=5) == 3
        assert not any(t.is_alive() for t in old)
        assert dispatcher.threads == {0, 1, 2}
        new = [t for t, _ in dispatcher._workers.values()]
        assert len(new) == 3 and not set(new) & set(old)
        for _ in range(6):
            _get_ok(f"{srv.url}/")
        assert set(served_by) <= set(new)          # the fresh ones serve, and stay
        assert all(t.is_alive() for t in new)

        entered, release = threading.Event(), threading.Event()
        busy_app_calls: list[bytes] = []

        def hold(environ, start_response):
            entered.set()
            release.wait(10)
            busy_app_calls.append(b"held")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        srv._server.application = hold
        client = threading.Thread(target=lambda: urllib.request.urlopen(srv.url, timeout=10)
                                  .read())
        client.start()
        assert entered.wait(5)
        assert dispatcher.retire_idle(timeout=5) == 0   # a request is being served: not now
        assert all(t.is_alive() for t in new)
        release.set()
        client.join(10)
        assert busy_app_calls == [b"held"]
    finally:
        srv.stop()
    assert not dispatcher.threads
    assert not any(t.is_alive() for t in new)


def test_stop_when_the_event_loop_cannot_be_woken(tmp_path, backend) -> None:
    """If the trigger's pipe is gone (a rare EBADF at stop), stop() does the loop's work from
    its own thread: no exception, the port and the threads released."""
    import os

    from waitress import trigger as waitress_trigger

    conf = make_conf(tmp_path, bind_host="127.0.0.1", bind_port=0)
    srv = serve(conf, create_app(conf, backend))
    port = srv.port
    with urllib.request.urlopen(f"{srv.url}/", timeout=5) as response:
        assert response.status == 200
    pipe = next(d for d in srv._map.values() if isinstance(d, waitress_trigger.trigger))
    os.close(pipe.trigger)                        # its write end, as if closed under it
    pipe.trigger = os.open(os.devnull, os.O_RDONLY)   # a descriptor that cannot be written
    srv.stop()                                    # raised OSError (EBADF) before
    assert not pipe.thunks                        # nothing left for a loop to run
    srv._thread.join(5)
    assert not srv._thread.is_alive()
    assert not srv.dispatcher.threads
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_a_big_body_is_read_in_big_pieces_and_arrives_whole(tmp_path) -> None:
    import hashlib
    import os

    from congress.api.server import RECV_BYTES, Server

    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [hashlib.sha256(body).hexdigest().encode()]

    conf = make_conf(tmp_path, bind_host="127.0.0.1", bind_port=0, api_threads=2)
    srv = Server(conf, app)
    srv.start()
    try:
        assert srv._server.adj.recv_bytes == RECV_BYTES > 8192     # waitress's default: 8 KiB
        body = os.urandom(5 * 2**20 + 12345)
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        conn.request("PUT", "/", body=body)
        assert conn.getresponse().read() == hashlib.sha256(body).hexdigest().encode()
        conn.close()
    finally:
        srv.stop()
