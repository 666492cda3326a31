"""Fixtures for the DB functional tests: a real MariaDB (``CONGRESS_TEST_MYSQL_URL``, see
:mod:`tests.functional.harness`), started if it is not running.

Each test session gets its own uniquely named database, dropped at the end; repository tests get
it emptied before each test.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from congress.db import api, migration, schema
from tests.functional.harness import MYSQL_URL, create_database, drop_database, ensure_mariadb
from tests.unit.db.conftest import crypter  # noqa: F401  (shared fixture)


@pytest.fixture(scope="session")
def mariadb():
    ensure_mariadb()
    return MYSQL_URL


@pytest.fixture
def fresh_mysql_url(mariadb):
    """URL of an empty database of its own, dropped after the test."""
    name, url = create_database("congress_fresh")
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def mysql_session_db(mariadb):
    """The session's database, upgraded to head."""
    name, url = create_database()
    database = api.Database(url, max_pool_size=12)
    migration.ensure_schema(database)
    yield database
    database.dispose()
    drop_database(name)


def empty_tables(database: api.Database) -> None:
    with database.transaction() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(schema.policy_revision.insert().values(id=schema.REVISION_ROW_ID, value=0))
        conn.execute(sa.text("ALTER TABLE action_log AUTO_INCREMENT = 1"))


@pytest.fixture
def db(mysql_session_db):
    """Overrides the unit tests' SQLite ``db``: the MariaDB database, emptied."""
    empty_tables(mysql_session_db)
    return mysql_session_db
