"""Fixtures for the persistence tests: an upgraded in-memory SQLite database per test.

The functional tier (tests/functional/db) re-runs the repository tests against MariaDB by
overriding the ``db`` fixture.
"""

from __future__ import annotations

import pytest

from congress.db import api, crypto, migration


@pytest.fixture
def db():
    database = api.Database("sqlite://")
    migration.ensure_schema(database)
    yield database
    database.dispose()


@pytest.fixture
def crypter(tmp_path, monkeypatch):
    """A key in a fresh directory, also made the default key (for this test only)."""
    monkeypatch.setattr(crypto, "_default", None)
    return crypto.configure(str(tmp_path / "keys"))
