"""Fixtures for the DB functional tests: a real MariaDB on 127.0.0.1:3306.

MariaDB is started if it is not running (``start-stop-daemon``, as the Debian package would).
Each test session gets its own uniquely named database, dropped at the end; repository tests get
it emptied before each test. ``CONGRESS_TEST_MYSQL_URL`` (default
``mysql+pymysql://root@127.0.0.1:3306``) points elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid

import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from congress.db import api, schema
from tests.unit.db.conftest import crypter  # noqa: F401  (shared fixture)

MYSQL_URL = os.environ.get("CONGRESS_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
MARIADBD = "/usr/sbin/mariadbd"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def ensure_mariadb(timeout: float = 60.0) -> None:
    """Make sure MariaDB answers on the test URL's host and port; start it if need be."""
    url = make_url(MYSQL_URL)
    host, port = url.host or "127.0.0.1", url.port or 3306
    if _port_open(host, port):
        return
    if not os.path.exists(MARIADBD) or not shutil.which("start-stop-daemon"):
        pytest.skip(f"MariaDB is not running on {host}:{port} and {MARIADBD} is not installed")
    run_dir = "/run/mysqld"  # socket and pid directory of the Debian package
    os.makedirs(run_dir, exist_ok=True)
    shutil.chown(run_dir, "mysql", "mysql")
    subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background",
                    "--exec", MARIADBD], check=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(host, port):
            return
        time.sleep(0.5)
    pytest.fail(f"MariaDB did not start listening on {host}:{port} within {timeout:.0f} s")


def _admin():
    url = make_url(MYSQL_URL)
    return pymysql.connect(host=url.host or "127.0.0.1", port=url.port or 3306,
                           user=url.username or "root", password=url.password or "",
                           autocommit=True)


def create_database(prefix: str = "congress_test") -> tuple[str, str]:
    """A new empty utf8mb4 database; returns (name, SQLAlchemy URL)."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _admin() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    return name, f"{MYSQL_URL.rstrip('/')}/{name}"


def drop_database(name: str) -> None:
    with _admin() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


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
    database.ensure_schema()
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
