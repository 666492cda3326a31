"""The database handle (congress.db.api): transactions, retries, errors, SQLite setup."""

from __future__ import annotations

import os
import stat
import threading

import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from congress import config, exceptions
from congress.db import api, crypto, migration, policies, schema


def _dbapi_error(orig, invalidated=False):
    return sa_exc.OperationalError("SELECT 1", {"password": "hunter22"}, orig,
                                   connection_invalidated=invalidated)


def test_transaction_commits_and_rolls_back(db):
    with db.transaction() as conn:
        policies.create_policy(conn, "kept")
    with pytest.raises(KeyError), db.transaction() as conn:
        policies.create_policy(conn, "lost")
        raise KeyError("x")
    assert [p["name"] for p in policies.list_policies(db)] == ["kept"]


def test_readonly_transaction_reads(db):
    policies.create_policy(db, "p")
    with db.transaction(readonly=True) as conn:
        assert policies.get_policy(conn, "p")["name"] == "p"


def test_sql_errors_are_translated(db):
    with pytest.raises(exceptions.DatabaseError) as err, db.transaction() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert "no_such_table" in str(err.value)
    assert not isinstance(err.value, api.RETRIABLE)


def test_translate_error_classes_and_no_secrets():
    dead = api.translate_error(_dbapi_error(pymysql.err.OperationalError(
        1213, "Deadlock found when trying to get lock")))
    assert isinstance(dead, api.DBDeadlock) and "1213" in str(dead)
    gone = api.translate_error(_dbapi_error(pymysql.err.OperationalError(
        2013, "Lost connection to MySQL server during query")))
    assert isinstance(gone, api.DBConnectionError) and gone.http_status == 503
    invalid = api.translate_error(_dbapi_error(Exception("whatever"), invalidated=True))
    assert isinstance(invalid, api.DBConnectionError)
    busy = api.translate_error(_dbapi_error(Exception("database is locked")))
    assert isinstance(busy, api.DBDeadlock)
    leak = api.translate_error(
        _dbapi_error(Exception("cannot reach mysql+pymysql://root:hunter22@db/congress")),
        secrets=("hunter22",))
    assert "hunter22" not in str(leak)
    assert "root:***@db" in str(leak)
    plain = api.translate_error(sa_exc.ArgumentError("bad"))
    assert type(plain) is exceptions.DatabaseError
    same = exceptions.PolicyExists("x")
    assert api.translate_error(same) is same


def test_retrying_retries_deadlocks_with_backoff():
    sleeps = []
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise _dbapi_error(pymysql.err.OperationalError(1213, "Deadlock"))
        return "done"

    wrapped = api.retrying(flaky, max_retries=10, sleep=sleeps.append)
    assert wrapped() == "done"
    assert sleeps == [0.1, 0.2, 0.4]


def test_retrying_caps_delay_and_gives_up():
    sleeps = []

    def always():
        raise api.DBConnectionError("down")

    with pytest.raises(api.DBConnectionError):
        api.retrying(always, max_retries=7, sleep=sleeps.append)()
    assert sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


def test_retrying_does_not_retry_other_errors():
    sleeps = []
    calls = []

    def conflict():
        calls.append(1)
        raise exceptions.PolicyExists("taken")

    with pytest.raises(exceptions.PolicyExists):
        api.retrying(conflict, sleep=sleeps.append)()

    def broken_sql():
        calls.append(1)
        raise _dbapi_error(Exception("syntax error"))

    with pytest.raises(exceptions.DatabaseError):
        api.retrying(broken_sql, sleep=sleeps.append)()
    assert sleeps == [] and len(calls) == 2


def test_run_retries_whole_transaction(db, monkeypatch):
    attempts = []

    def work(conn, name):
        policies.create_policy(conn, name)
        attempts.append(1)
        if len(attempts) == 1:
            raise api.DBDeadlock("simulated")
        return name

    monkeypatch.setattr(api.time, "sleep", lambda s: None)
    assert db.run(work, "p") == "p"
    assert len(attempts) == 2
    assert [p["name"] for p in policies.list_policies(db)] == ["p"]  # first attempt undone


def test_repository_functions_accept_connection_or_database(db):
    policies.create_policy(db, "a")
    with db.transaction() as conn:
        in_tx = policies.get_policy(conn, "a")
    assert in_tx == policies.get_policy(db, "a")


def test_nested_sqlite_transaction_is_refused(db, tmp_path):
    with db.transaction() as conn:
        with pytest.raises(exceptions.DatabaseError, match="Nested"):
            policies.list_policies(db)
        policies.create_policy(conn, "still-fine")
    assert policies.get_policy(db, "still-fine")
    file_db = api.Database(f"sqlite:///{tmp_path / 'n.sqlite'}")
    migration.ensure_schema(file_db)
    try:
        with file_db.transaction() as conn:
            assert policies.list_policies(file_db) == []  # a nested reader is fine (WAL)
            with pytest.raises(exceptions.DatabaseError, match="Nested"):
                policies.create_policy(file_db, "x")
    finally:
        file_db.dispose()


def test_invalid_url():
    with pytest.raises(exceptions.DatabaseError, match="Invalid database connection URL"):
        api.Database("not a url")
    with pytest.raises(exceptions.DatabaseError) as err:
        api.Database("nosuchdialect://user:topsecret@host/db")
    assert "topsecret" not in str(err.value)


def test_safe_url_and_mysql_charset():
    db = api.Database("mysql+pymysql://congress:pa55word@127.0.0.1:1/congress")
    try:
        assert "pa55word" not in db.safe_url and "***" in db.safe_url
        assert db.url.query["charset"] == "utf8mb4"
        assert "pa55word" not in repr(db)
    finally:
        db.dispose()
    db = api.Database("mysql+pymysql://u@h/c?charset=utf8")
    assert db.url.query["charset"] == "utf8"
    db.dispose()


def test_unreachable_mysql_is_a_connection_error(monkeypatch):
    monkeypatch.setattr(api.time, "sleep", lambda s: None)
    db = api.Database("mysql+pymysql://u:pw1234@127.0.0.1:1/c", max_retries=2)
    try:
        with pytest.raises(api.DBConnectionError) as err:
            policies.list_policies(db)
        assert "pw1234" not in str(err.value)
    finally:
        db.dispose()


def test_sqlite_file_setup(tmp_path):
    path = tmp_path / "deep" / "dir" / "congress.sqlite"
    db = api.Database(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        migration.ensure_schema(db)
        with db.transaction() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        db.dispose()


def test_sqlite_file_concurrent_writers(tmp_path):
    db = api.Database(f"sqlite:///{tmp_path / 'c.sqlite'}")
    migration.ensure_schema(db)
    policies.create_policy(db, "p")
    errors = []

    def writer(i):
        try:
            for j in range(10):
                with db.transaction() as conn:
                    # read then write in one transaction: BEGIN IMMEDIATE makes this safe
                    n = len(policies.list_rules(conn, "p"))
                    policies.insert_rule(conn, "p", f"q({i}, {j}, {n})")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        rules = policies.list_rules(db, "p")
        assert len(rules) == 60
        # each writer saw exactly the rules committed before it: counts 0..59 appear once
        assert sorted(int(r["rule"].split(", ")[2].rstrip(")")) for r in rules) == list(range(60))
        assert [c["revision"] for c in policies.changes_since(db, 0)] == list(range(1, 62))
    finally:
        db.dispose()


def test_memory_database_shared_by_threads(db):
    policies.create_policy(db, "p")

    def writer(i):
        for j in range(5):
            policies.insert_rule(db, "p", f"q({i}, {j})")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(policies.list_rules(db, "p")) == 20
    assert policies.current_revision(db) == 21


def test_from_conf(tmp_path, monkeypatch):
    monkeypatch.setattr(crypto, "_default", None)
    conf = config.new_conf()
    conf([], default_config_files=[])
    conf.set_override("state_path", str(tmp_path / "state"))
    conf.set_override("max_retries", 3, group="database")
    db = api.from_conf(conf)
    try:
        assert db.backend == "sqlite" and not db.is_memory
        assert db.max_retries == 3
        assert (tmp_path / "state").is_dir()
        assert db.url.database == str(tmp_path / "state" / "congress.sqlite")
        assert crypto.get_default().key_dir == str(tmp_path / "state" / "keys")
        assert migration.ensure_schema(db) == migration.current(db)
        assert os.path.exists(tmp_path / "state" / "congress.sqlite")
        assert not os.path.exists(tmp_path / "state" / "keys")  # key made on first use only
    finally:
        db.dispose()


def test_ensure_schema_is_idempotent(db):
    rev = migration.current(db)
    assert rev is not None
    assert migration.ensure_schema(db) == rev
    with db.transaction() as conn:
        assert conn.execute(sa.select(schema.policy_revision.c.value)).scalar() == 0


def test_state_dir_permissions(tmp_path):
    db = api.Database(f"sqlite:///{tmp_path / 'new' / 'x.sqlite'}")
    db.dispose()
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) & 0o007 == 0


def test_sqlite_file_is_created_private(tmp_path):
    """The database holds datasource configs and pushed rows: 0640 whatever the umask, and
    SQLite's WAL and shared-memory files get the database file's mode."""
    import os
    import stat

    path = tmp_path / "state" / "congress.sqlite"
    old = os.umask(0o022)
    try:
        db = api.Database(f"sqlite:///{path}")
        try:
            migration.ensure_schema(db)
            with db.transaction() as conn:
                conn.exec_driver_sql("CREATE TABLE t (x)")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode)
                     for p in path.parent.iterdir() if p.name.startswith("congress.sqlite")}
        finally:
            db.dispose()
    finally:
        os.umask(old)
    assert modes["congress.sqlite"] == 0o640, modes
    assert "congress.sqlite-wal" in modes
    assert all(mode & 0o007 == 0 for mode in modes.values()), modes
