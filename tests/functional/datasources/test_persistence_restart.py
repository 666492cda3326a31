"""Pushed data survives a real restart of the datasource node process (SQLite and MariaDB).

A first process creates two persisting push datasources, pushes rows and is killed with
SIGKILL right after the pushes returned; a second, fresh process starts a datasource manager on
the same database, which starts both datasources, restores their rows and publishes them: a
subscriber receives them as a snapshot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.functional.datasources.conftest import ROOT

pytestmark = pytest.mark.functional


def run(db_url: str, key_dir: str, mode: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "tests.functional.datasources.dsnode",
                           db_url, key_dir, mode], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)


def restart_round_trip(db_url: str, key_dir: str) -> dict[str, Any]:
    first = run(db_url, key_dir, "write")
    assert "WRITTEN" in first.stdout, first.stderr[-3000:]
    assert first.returncode == -9                  # killed, no clean shutdown
    second = run(db_url, key_dir, "read")
    assert second.returncode == 0, second.stderr[-3000:]
    return json.loads(second.stdout.strip().splitlines()[-1])


def check(out: dict[str, Any]) -> None:
    assert out["rows"]["pushed"] == [["db-01", 2, "SHUTOFF"], ["web-01", 1, "ACTIVE"]]
    assert out["rows"]["doc"] == [["2024-03-08T10:00:00", "compute.host.down", "compute-1",
                                   "down", "zabbix", "42"]]
    assert out["snapshots"]["pushed:data"] == out["rows"]["pushed"]
    assert out["snapshots"]["doc:events"] == out["rows"]["doc"]
    assert out["status"]["initialized"] == "True"


def test_restart_on_sqlite(tmp_path: Any) -> None:
    out = restart_round_trip(f"sqlite:///{tmp_path}/congress.sqlite", str(tmp_path / "keys"))
    check(out)


def test_restart_on_mariadb(mariadb_url: str, tmp_path: Any) -> None:
    out = restart_round_trip(mariadb_url, str(tmp_path / "keys"))
    check(out)
