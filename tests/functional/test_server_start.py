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
