"""``congress-db-manage`` as a subprocess, against SQLite and MariaDB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from congress.db import migration

pytestmark = pytest.mark.functional


def _command() -> list[str]:
    script = Path(sys.executable).parent / "congress-db-manage"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "congress.cmd.db_manage"]


def _run(conf: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("OS_CONFIG", None)
    return subprocess.run([*_command(), "--config-file", str(conf), *args],
                          capture_output=True, text=True, timeout=120, env=env)


def _check_upgrade_and_current(conf: Path) -> None:
    up = _run(conf, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert "INFO" in up.stderr
    assert f"Upgraded database from <empty> to {migration.head()}" in up.stderr
    cur = _run(conf, "current")
    assert cur.returncode == 0, cur.stderr
    assert cur.stdout.strip() == f"{migration.head()} (head)"
    again = _run(conf, "upgrade")
    assert again.returncode == 0 and "nothing to do" in again.stderr


def test_sqlite(tmp_path):
    conf = tmp_path / "congress.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {tmp_path / 'state'}\n")
    _check_upgrade_and_current(conf)
    assert (tmp_path / "state" / "congress.sqlite").exists()


def test_mariadb(tmp_path, fresh_mysql_url):
    conf = tmp_path / "congress.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {tmp_path / 'state'}\n"
                    f"[database]\nconnection = {fresh_mysql_url}\n")
    _check_upgrade_and_current(conf)
    assert migration.schema_differences(fresh_mysql_url) == []
    hist = _run(conf, "history")
    assert hist.returncode == 0 and hist.stdout.splitlines() == migration.history()


def test_help():
    out = subprocess.run([*_command(), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "upgrade" in out.stdout and "revision" in out.stdout
