"""Alembic migrations on SQLite (congress.db.migration)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from congress import exceptions
from congress.db import api, migration, policies

MULTINODE = "5b1e2a7c9d30"
HEAD = "9d4f0c2b7e15"
ORIGINAL_HEAD = "c0125080d572"
ALL_TABLES = {"policy_rules", "policies", "policiesdeleted", "datasources", "dstabledata",
              "dstabledeltas",
              "library_policies", "policy_revision", "policy_changes", "action_log",
              "alembic_version"}


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'm.sqlite'}"


def _tables(url):
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_head_and_history():
    assert migration.head() == HEAD
    lines = migration.history()
    assert lines[0].startswith(f"{MULTINODE} -> {HEAD} (head), ")
    assert lines[1].startswith(f"{ORIGINAL_HEAD} -> {MULTINODE}, ")
    assert lines[2].startswith(f"<base> -> {ORIGINAL_HEAD}, ")


def test_script_head_is_alembics_head():
    """The start-up check reads the scripts' head without alembic; it must be alembic's."""
    assert migration.script_head() == migration.head() == HEAD


def test_server_at_head_does_not_import_alembic(url, tmp_path):
    """A server starting on a database at the head imports no alembic (nor mako, pygments)."""
    migration.upgrade(url)
    code = ("import sys; from congress.db import api, migration; "
            f"db = api.Database({url!r}); "
            "assert migration.ensure_schema(db) == migration.current(db) == "
            f"{HEAD!r}; import congress.cmd.server; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('alembic', 'mako', 'pygments')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_upgrade_from_empty(url):
    assert migration.current(url) is None
    assert migration.upgrade(url) == HEAD
    assert migration.current(url) == HEAD
    assert _tables(url) == ALL_TABLES
    assert migration.schema_differences(url) == []
    assert migration.upgrade(url) == HEAD  # idempotent


def schema_facts(url):
    """What a schema is, table by table: columns (type, nullability, default), primary key,
    indexes, unique constraints, and the rows of the seeded tables."""
    db = api.Database(url)
    try:
        with db.transaction(readonly=True) as conn:
            insp = sa.inspect(conn)
            facts = {}
            for table in insp.get_table_names():
                facts[table] = (
                    [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                     for c in insp.get_columns(table)],
                    insp.get_pk_constraint(table)["constrained_columns"],
                    sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                           for i in insp.get_indexes(table)),
                    sorted((u["name"], tuple(u["column_names"]))
                           for u in insp.get_unique_constraints(table)))
            for table in ("policy_revision", "alembic_version"):
                facts[table + " rows"] = sorted(
                    tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table}")))
            return facts
    finally:
        db.dispose()


def test_empty_database_created_at_head_without_alembic(tmp_path):
    """A first start creates the schema from congress.db.schema (no alembic import); it is
    the schema the migrations build, and alembic takes it from there."""
    fast, slow = (f"sqlite:///{tmp_path / name}" for name in ("fast.sqlite", "slow.sqlite"))
    code = ("import sys; from congress.db import api, migration; "
            f"db = api.Database({fast!r}); print(migration.ensure_schema(db)); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('alembic', 'mako', 'pygments')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:2] == [HEAD, "[]"]
    assert migration.upgrade(slow, HEAD) == HEAD       # an explicit revision: alembic
    assert schema_facts(fast) == schema_facts(slow)
    assert schema_facts(fast)["policy_revision rows"] == [(1, 0)]
    assert migration.schema_differences(fast) == []
    assert migration.downgrade(fast, ORIGINAL_HEAD) == ORIGINAL_HEAD
    assert migration.upgrade(fast) == HEAD
    assert schema_facts(fast) == schema_facts(slow)


def test_database_with_tables_is_not_created_at_head(url):
    """Tables without alembic_version (not a database this code made): the fast path keeps
    out and alembic reports the clash instead of stamping over them."""
    db = api.Database(url)
    try:
        with db.transaction() as conn:
            conn.execute(sa.text("CREATE TABLE policies (id VARCHAR(36))"))
        assert migration._create_at_head(db) is False
        with pytest.raises(exceptions.DatabaseError):
            migration.ensure_schema(db)
        assert migration.current(db) is None
    finally:
        db.dispose()


def test_downgrade_to_base_and_back(url):
    migration.upgrade(url)
    assert migration.downgrade(url, "base") is None
    assert _tables(url) == {"alembic_version"}
    migration.upgrade(url)
    assert migration.schema_differences(url) == []


def test_step_by_step(url):
    assert migration.upgrade(url, ORIGINAL_HEAD) == ORIGINAL_HEAD
    assert "policy_changes" not in _tables(url)
    assert migration.upgrade(url, "+1") == MULTINODE
    assert "dstabledeltas" not in _tables(url)
    assert migration.upgrade(url, "+1") == HEAD


def test_database_of_the_original_is_upgraded(url):
    """A database at OpenStack Congress's last revision keeps its data and gains the new tables."""
    migration.upgrade(url, ORIGINAL_HEAD)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO policies (id, created_at, deleted, name, abbreviation, description, "
            "owner, kind) VALUES ('p-1', '2017-01-01 00:00:00', '', 'old', 'old', '', 'user', "
            "'nonrecursive')")
        conn.exec_driver_sql(
            "INSERT INTO policy_rules (id, rule, comment, policy_name, created_at, deleted) "
            "VALUES ('r-1', 'p(1)', '', 'old', '2017-01-01 00:00:00', '')")
    engine.dispose()
    db = api.Database(url)
    try:
        assert migration.ensure_schema(db) == HEAD
        assert policies.get_policy(db, "old")["id"] == "p-1"
        assert [r["rule"] for r in policies.list_rules(db, "old")] == ["p(1)"]
        assert policies.current_revision(db) == 0
        policies.insert_rule(db, "old", "p(2)")
        assert policies.current_revision(db) == 1
    finally:
        db.dispose()


def test_stamp(url):
    migration.upgrade(url, ORIGINAL_HEAD)
    assert migration.stamp(url, HEAD) == HEAD
    assert migration.current(url) == HEAD
    assert "policy_changes" not in _tables(url)


def test_offline_sql_sqlite(url, capsys):
    assert migration.upgrade(url, sql=True) is None
    out = capsys.readouterr().out
    assert "CREATE TABLE policy_rules" in out
    assert "CREATE TABLE action_log" in out
    assert "INSERT INTO policy_revision" in out
    assert migration.current(url) is None  # nothing executed


def test_offline_sql_mysql(capsys):
    migration.upgrade("mysql+pymysql://u:p@127.0.0.1:1/congress", sql=True)
    out = capsys.readouterr().out
    assert "CHARSET=utf8mb4" in out
    assert "COLLATE utf8mb4_bin" in out
    assert "LONGTEXT" in out
    assert "DATETIME(6)" in out
    assert "ENGINE=InnoDB" in out


def test_revision_scripts(url, tmp_path, monkeypatch):
    scripts = tmp_path / "migrations"
    shutil.copytree(migration.MIGRATIONS_DIR, scripts,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migration, "MIGRATIONS_DIR", str(scripts))
    migration.upgrade(url)
    path = migration.revision(url, "nothing changed", autogenerate=True)
    assert path.startswith(str(scripts / "versions"))
    text = Path(path).read_text()
    assert f"down_revision = '{HEAD}'" in text
    assert "op.create_table" not in text and "op.add_column" not in text
    empty = migration.revision(url, "hand written")
    assert "hand written" in Path(empty).read_text()


def test_unknown_revision_in_database(url):
    """A database written by a newer Congress: a clear error, not alembic's traceback."""
    migration.upgrade(url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'fromthefuture'")
    engine.dispose()
    db = api.Database(url)
    try:
        with pytest.raises(exceptions.DatabaseError, match="fromthefuture"):
            migration.ensure_schema(db)
    finally:
        db.dispose()
    with pytest.raises(exceptions.DatabaseError, match="nosuchrev"):
        migration.upgrade(url, "nosuchrev")
