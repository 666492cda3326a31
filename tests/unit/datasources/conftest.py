"""Fixtures for the datasource tests: a fake OpenStack cloud (real HTTP on 127.0.0.1), config,
SQLite databases, encryption keys, and bus nodes on the in-process transport."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from congress import config
from congress.db import api, crypto, migration
from tests.fakes.openstack import PASSWORD, FakeOpenStack
from tests.fakes.openstack_data import default_data
from tests.unit.bus.conftest import FAST, Recorder, bus_id, make_node, wait_until  # noqa: F401


@pytest.fixture(scope="session")
def _cloud() -> Iterator[FakeOpenStack]:
    fake = FakeOpenStack().start()
    yield fake
    fake.stop()


@pytest.fixture
def cloud(_cloud: FakeOpenStack) -> FakeOpenStack:
    """The fake cloud, reset to its recorded data with no injected errors."""
    _cloud.data = default_data()
    _cloud.clear_injections()
    _cloud.requests.clear()
    _cloud.actions.clear()
    _cloud.page_size = None
    _cloud.password = PASSWORD
    return _cloud


@pytest.fixture
def conf(tmp_path: Any) -> config.cfg.ConfigOpts:
    c = config.new_conf()
    c([], project="congress-test")
    c.set_override("state_path", str(tmp_path))
    c.set_override("datasource_sync_period", 0)
    for name, value in FAST.items():
        if name in ("heartbeat_interval", "heartbeat_timeout", "rpc_timeout"):
            c.set_override(name, value, group="dse")
    return c


@pytest.fixture
def db() -> Iterator[api.Database]:
    database = api.Database("sqlite://")
    migration.ensure_schema(database)
    yield database
    database.dispose()


@pytest.fixture
def file_db(tmp_path: Any) -> Iterator[api.Database]:
    database = api.Database(f"sqlite:///{tmp_path}/congress.sqlite")
    migration.ensure_schema(database)
    yield database
    database.dispose()


@pytest.fixture
def crypter(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> crypto.Crypter:
    monkeypatch.setattr(crypto, "_default", None)
    return crypto.configure(str(tmp_path / "keys"))
