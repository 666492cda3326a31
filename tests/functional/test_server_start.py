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
