"""Edge hardening on a real ``congress-server``: lone surrogates, the SQLite file's mode, the
auth_strategy a deployment must choose."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest

from tests.functional.conftest import assert_error
from tests.functional.harness import CongressProcess, http

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def aio(servers):
    return servers("hardened")


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/v1/policies", {"name": "p1", "description": "\ud800"}),
    ("POST", "/v1/policies/classification/rules", {"rule": "p(x) :- q(x)", "comment": "\udfff"}),
    ("POST", "/v1/data-sources", {"name": "d1", "driver": "doctor", "description": "\ud800"}),
])
def test_lone_surrogates_are_400_not_500(aio, method, path, body) -> None:
    raw = json.dumps(body).encode()
    resp = http(method, aio.url + path, raw=raw,
                headers={"Content-Type": "application/json"})
    assert_error(resp, 400, contains="lone surrogate")


def test_oversized_rule_answers_fast(aio) -> None:
    rule = "p(x) :- " + ", ".join(f"q{i}(x)" for i in range(200_000))   # ~2.6 MB
    started = time.monotonic()
    resp = aio.post("/v1/policies/classification/rules", {"rule": rule})
    elapsed = time.monotonic() - started
    assert_error(resp, 400, message="Bad Request::Rule must be at most 65535 bytes long")
    print(f"2.6 MB rule refused in {elapsed * 1000:.0f} ms")


def test_sqlite_database_is_not_world_readable(aio) -> None:
    files = [f for f in os.listdir(aio.state) if f.startswith("congress.sqlite")]
    assert "congress.sqlite" in files
    for name in files:
        mode = stat.S_IMODE(os.stat(os.path.join(aio.state, name)).st_mode)
        assert mode & 0o007 == 0, (name, oct(mode))
    assert stat.S_IMODE(os.stat(os.path.join(aio.state, "congress.sqlite")).st_mode) == 0o640


def test_api_node_without_auth_strategy_refuses_to_start(tmp_path) -> None:
    proc = CongressProcess(str(tmp_path / "open"), node_id="open",
                           roles=("api", "policy-engine"),
                           extra={"DEFAULT": {"auth_strategy": None}})
    proc.start(wait=False)
    assert proc.proc is not None
    code = proc.proc.wait(60)
    log = proc.log_tail()
    assert code == 1, log
    assert "auth_strategy is not set" in log and "roles --api, --policy-engine" in log, log
    assert not http_ok(proc.url)


def http_ok(url: str) -> bool:
    try:
        return http("GET", url + "/healthcheck", timeout=1).status == 200
    except OSError:
        return False
