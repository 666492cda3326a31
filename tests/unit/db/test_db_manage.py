"""congress-db-manage, run in-process on SQLite (the subprocess runs are functional tests)."""

from __future__ import annotations

import pytest

from congress.cmd import db_manage
from congress.db import migration


@pytest.fixture
def conf_file(tmp_path):
    path = tmp_path / "congress.conf"
    path.write_text(f"[DEFAULT]\nstate_path = {tmp_path / 'state'}\n"
                    f"[database]\nconnection = sqlite:///{tmp_path / 'state' / 'c.sqlite'}\n")
    return str(path)


def run(capsys, *args):
    rc = db_manage.main(list(args))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_upgrade_current_history(conf_file, capsys, tmp_path):
    rc, out, err = run(capsys, "--config-file", conf_file, "current")
    assert rc == 0 and out.startswith("None")
    rc, out, err = run(capsys, "--config-file", conf_file, "upgrade")
    assert rc == 0
    assert f"Upgraded database from <empty> to {migration.head()}" in err
    assert (tmp_path / "state" / "c.sqlite").exists()
    rc, out, err = run(capsys, "--config-file", conf_file, "upgrade", "head")
    assert rc == 0 and "nothing to do" in err
    rc, out, _ = run(capsys, "--config-file", conf_file, "current")
    assert out.strip() == f"{migration.head()} (head)"
    rc, out, _ = run(capsys, "--config-file", conf_file, "history")
    assert rc == 0 and out.splitlines() == migration.history()


def test_stamp_and_downgrade(conf_file, capsys):
    run(capsys, "--config-file", conf_file, "upgrade")
    rc, out, err = run(capsys, "--config-file", conf_file, "downgrade", "c0125080d572")
    assert rc == 0 and "c0125080d572" in err
    rc, out, err = run(capsys, "--config-file", conf_file, "stamp", "head")
    assert rc == 0
    rc, out, _ = run(capsys, "--config-file", conf_file, "current")
    assert "(head)" in out


def test_upgrade_sql(conf_file, capsys, tmp_path):
    rc, out, _ = run(capsys, "--config-file", conf_file, "upgrade", "--sql")
    assert rc == 0 and "CREATE TABLE policies" in out
    assert not (tmp_path / "state" / "c.sqlite").exists()


def test_revision_needs_message(conf_file, capsys):
    rc, _, err = run(capsys, "--config-file", conf_file, "revision")
    assert rc == 2 and "-m MESSAGE" in err


def test_bad_revision_is_reported(conf_file, capsys):
    rc, _, err = run(capsys, "--config-file", conf_file, "upgrade", "nosuchrev")
    assert rc == 1 and "nosuchrev" in err


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        db_manage.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("upgrade", "current", "history", "stamp", "revision"):
        assert command in out


def test_missing_config_file(capsys, tmp_path):
    rc, _, err = run(capsys, "--config-file", str(tmp_path / "nope.conf"), "current")
    assert rc == 2 and "nope.conf" in err


def test_database_error_exit_code(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("congress.db.api.time.sleep", lambda s: None)
    path = tmp_path / "c.conf"
    path.write_text("[database]\nconnection = mysql+pymysql://u:secretpw@127.0.0.1:1/c\n"
                    "max_retries = 0\n")
    rc, _, err = run(capsys, "--config-file", str(path), "current")
    assert rc == 1
    assert "secretpw" not in err
