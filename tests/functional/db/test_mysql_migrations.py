"""Alembic migrations against MariaDB."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from congress.db import api, migration, policies
from tests.functional.harness import create_database, drop_database
from tests.unit.db.test_migration import ALL_TABLES, HEAD, ORIGINAL_HEAD, schema_facts

pytestmark = pytest.mark.functional


def _inspect(url):
    db = api.Database(url)
    try:
        with db.transaction(readonly=True) as conn:
            names = set(sa.inspect(conn).get_table_names())
            rows = conn.execute(sa.text(
                "SELECT table_name, table_collation, engine, row_format "
                "FROM information_schema.tables WHERE table_schema = DATABASE()")).all()
        return names, {r[0]: tuple(r[1:]) for r in rows}
    finally:
        db.dispose()


def test_upgrade_from_empty(fresh_mysql_url):
    assert migration.current(fresh_mysql_url) is None
    assert migration.upgrade(fresh_mysql_url) == HEAD
    names, details = _inspect(fresh_mysql_url)
    assert names == ALL_TABLES
    for table in ALL_TABLES - {"alembic_version"}:
        assert details[table] == ("utf8mb4_bin", "InnoDB", "Dynamic"), table
    assert migration.schema_differences(fresh_mysql_url) == []
    assert migration.upgrade(fresh_mysql_url) == HEAD


def test_created_at_head_equals_migrated(fresh_mysql_url):
    """A first start creates the schema without alembic; on MariaDB too it is the schema the
    migrations build (columns, keys, indexes, seeded rows, engine, collation, row format)."""
    name, migrated = create_database("congress_migrated")
    try:
        assert migration.upgrade(fresh_mysql_url) == HEAD            # the fast path
        assert migration.upgrade(migrated, HEAD) == HEAD             # alembic, step by step
        assert schema_facts(fresh_mysql_url) == schema_facts(migrated)
        assert _inspect(fresh_mysql_url) == _inspect(migrated)
        assert migration.schema_differences(fresh_mysql_url) == []
        assert migration.downgrade(fresh_mysql_url, ORIGINAL_HEAD) == ORIGINAL_HEAD
        assert migration.upgrade(fresh_mysql_url) == HEAD
        assert schema_facts(fresh_mysql_url) == schema_facts(migrated)
    finally:
        drop_database(name)


def test_downgrade_and_upgrade_again(fresh_mysql_url):
    migration.upgrade(fresh_mysql_url)
    migration.downgrade(fresh_mysql_url, ORIGINAL_HEAD)
    assert "policy_changes" not in _inspect(fresh_mysql_url)[0]
    migration.downgrade(fresh_mysql_url, "base")
    assert _inspect(fresh_mysql_url)[0] == {"alembic_version"}
    migration.upgrade(fresh_mysql_url)
    assert migration.schema_differences(fresh_mysql_url) == []


def test_database_of_the_original_is_upgraded(fresh_mysql_url):
    migration.upgrade(fresh_mysql_url, ORIGINAL_HEAD)
    db = api.Database(fresh_mysql_url)
    try:
        with db.transaction() as conn:
            conn.execute(sa.text(
                "INSERT INTO policies (id, created_at, deleted, name, abbreviation, "
                "description, owner, kind) VALUES ('p-1', '2017-01-01', '', 'old', 'old', '', "
                "'user', 'nonrecursive')"))
        assert migration.ensure_schema(db) == HEAD
        assert policies.get_policy(db, "old")["id"] == "p-1"
        assert policies.insert_rule(db, "old", "p(1)")["policy_name"] == "old"
        assert policies.current_revision(db) == 1
    finally:
        db.dispose()


def test_nodes_starting_together_upgrade_once(fresh_mysql_url):
    results, errors = [], []

    def start_node():
        db = api.Database(fresh_mysql_url)
        try:
            results.append(migration.ensure_schema(db))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=start_node) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [HEAD] * 4
    assert migration.schema_differences(fresh_mysql_url) == []


def test_stamp(fresh_mysql_url):
    migration.upgrade(fresh_mysql_url, ORIGINAL_HEAD)
    assert migration.stamp(fresh_mysql_url, HEAD) == HEAD
    assert migration.current(fresh_mysql_url) == HEAD
