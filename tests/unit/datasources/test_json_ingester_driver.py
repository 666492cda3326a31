"""The generic JSON ingester against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from congress import exceptions
from congress.datasources.drivers.json_ingester import JsonIngesterDriver

DOC = {"data": {"items": [
    {"id": 1, "name": "alpha", "meta": {"owner": "ops", "tags": ["a", "b"]}},
    {"id": 2, "name": "beta", "meta": {}},
]}, "hosts": [{"host": "h1", "up": True}, {"host": "h2", "up": False}]}


class Server:
    def __init__(self) -> None:
        self.doc: Any = DOC
        self.seen: list[dict[str, str]] = []
        self.status = 200
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.seen.append({"path": self.path, **dict(self.headers.items())})
                body = json.dumps(server.doc if self.path != "/other.json"
                                  else {"list": [{"k": "v"}]}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


TABLES = {
    "items": {"path": "data.items", "columns": {"id": "id", "name": "name",
                                                "owner": "meta.owner", "tag0": "meta.tags.0"}},
    "hosts": {"path": "hosts", "columns": {"host": "host", "up": "up"}},
    "other": {"path": "list", "url": "/other.json", "columns": {"k": "k"}},
}


def make(server: Server, **extra: Any) -> JsonIngesterDriver:
    cfg = {"url": f"{server.url}/doc.json", "tables": json.dumps(TABLES), "poll_time": "0",
           **extra}
    return JsonIngesterDriver("ing", "id-ing", cfg)


def test_tables_follow_the_mapping(server: Server) -> None:
    d = make(server, auth_type="basic", username="u", password="pw",
             headers='{"X-Custom": "yes"}')
    assert d.poll(), d.last_error
    assert d.get_rows("items") == [[1, "alpha", "ops", "a"], [2, "beta", "None", "None"]]
    assert d.get_rows("hosts") == [["h1", "True"], ["h2", "False"]]
    assert d.get_rows("other") == [["v"]]
    assert d.get_table_spec("items")["columns"][2] == {"name": "owner",
                                                       "description": "meta.owner"}
    first = server.seen[0]
    assert first["Authorization"] == "Basic " + base64.b64encode(b"u:pw").decode()
    assert first["X-Custom"] == "yes"
    # the document is fetched once per poll for the two tables that share it
    assert [s["path"] for s in server.seen] == ["/doc.json", "/other.json"]


def test_bearer_token_and_errors(server: Server) -> None:
    d = make(server, auth_type="bearer", token="t0k")
    assert d.poll()
    assert server.seen[0]["Authorization"] == "Bearer t0k"
    server.status = 500
    assert not d.poll()
    assert "HTTP 500" in d.get_status()["last_error"]
    assert len(d.get_rows("items")) == 2          # last good data kept
    server.status = 200
    server.doc = {"data": {"items": "nope"}, "hosts": []}
    assert not d.poll()
    assert "path data.items is not a list" in d.get_status()["last_error"]


def test_webhook_replaces_one_table(server: Server) -> None:
    d = make(server)
    d.webhook({"hosts": [{"host": "h9", "up": True}]}, table="hosts")
    assert d.get_rows("hosts") == [["h9", "True"]]
    with pytest.raises(exceptions.BadRequest):
        d.webhook({}, table="nope")


@pytest.mark.parametrize("extra,fragment", [
    ({"tables": "not json"}, "not JSON"),
    ({"tables": "{}"}, "non-empty JSON object"),
    ({"tables": '{"bad name": {"path": "", "columns": {"a": "a"}}}'}, "bad table name"),
    ({"tables": '{"t": {"path": "", "columns": {}}}'}, "needs columns"),
    ({"tables": '{"t": {"path": "", "columns": {"a": "a"}, "extra": 1}}'}, "unknown keys"),
    ({"url": "ftp://x"}, "http(s) URL"),
    ({"headers": "[1]"}, "headers"),
    ({"auth_type": "kerberos"}, "auth_type"),
    ({"auth_type": "basic"}, "username, password"),
    ({"auth_type": "bearer"}, "token"),
])
def test_config_is_validated_at_create(extra: dict, fragment: str) -> None:
    cfg = {"url": "http://127.0.0.1:9/x", "tables": json.dumps(TABLES), **extra}
    with pytest.raises(exceptions.InvalidDriverOption) as e:
        JsonIngesterDriver.validate_config(cfg)
    assert fragment in e.value.message
    assert e.value.http_status == 400


def test_secret_fields() -> None:
    assert JsonIngesterDriver.info()["secret"] == ["password", "token"]
