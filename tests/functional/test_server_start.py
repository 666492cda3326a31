"""What a newcomer sees when the server starts: no Python warnings in its output."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.functional


def test_server_start_prints_no_python_warnings(servers):
    srv = servers("quiet")
    assert srv.get("/v1/policies").status == 200
    log = srv.log_tail(1_000_000)
    assert "node quiet ready" in log
    assert not re.search(r"\w+Warning: ", log), log


def test_server_runs_python_objects_on_glibc_malloc(servers):
    """congress-server executes itself again with PYTHONMALLOC=malloc (same process id) unless
    the environment names an allocator (congress/cmd/allocator.py: pymalloc's arenas kept
    ~80 MiB after a big load was deleted)."""
    srv = servers("allocator")
    assert srv.get("/v1/policies").status == 200
    pid = srv.proc.pid
    with open(f"/proc/{pid}/environ", "rb") as f:
        environ = f.read().split(b"\0")
    assert b"PYTHONMALLOC=malloc" in environ
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert b"congress-server" in f.read()
    assert "Python objects on malloc" in srv.log_tail(1_000_000)
    assert "thread caches for blocks up to 1032 bytes" in srv.log_tail(1_000_000)


def _gc_collections(srv) -> dict[str, float]:
    r = srv.get("/metrics")
    assert r.status == 200, r
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^python_gc_collections_total\{generation="(\d)"\} (\S+)$', r.raw.decode(), re.M)}


def test_the_collector_is_paused_over_start_up_and_runs_afterwards(servers):
    """congress-server pauses the cyclic collector from before its imports until the node
    serves (congress.gcpause.begin_start_up): without the pause the all-in-one start set off
    some 300 collections. Once serving, the collector runs again."""
    srv = servers("collector")
    at_start = _gc_collections(srv)
    assert at_start["0"] < 30 and at_start["2"] == 0, at_start
    for _ in range(100):
        assert srv.get("/v1/policies").status == 200
    assert _gc_collections(srv)["0"] > at_start["0"]
