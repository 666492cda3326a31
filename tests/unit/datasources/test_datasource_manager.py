"""The datasource manager on a real in-process bus with a SQLite database: validation, masking,
create/delete with broadcasts, drivers that fail to start, periodic sync, takeover."""

from __future__ import annotations

from typing import Any

import pytest

from congress import bus, exceptions
from congress.datasources.driver import PushDriver
from congress.db import crypto, tabledata
from congress.db import datasources as ds_db
from congress.services.datasource_manager import DatasourceManager, FailedDatasource
from tests.unit.datasources.conftest import Recorder, wait_until

OS_CFG = {"auth_url": "http://127.0.0.1:9/v3", "username": "admin", "password": "s3cret",
          "project_name": "admin", "poll_time": "0"}

FLAKY = {"fail": True}


class FlakyDriver(PushDriver):
    """A driver whose constructor fails while FLAKY["fail"] is set."""

    DRIVER_ID = "flaky"
    DESCRIPTION = "fails to start on demand"
    SCHEMA = {"t": ["a"]}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if FLAKY["fail"]:
            raise RuntimeError("cannot reach the flaky service")
        super().__init__(*args, **kwargs)


class Engine(bus.Service):
    rpc_methods = frozenset({"datasource_changed"})

    def __init__(self) -> None:
        super().__init__("__engine")
        self.changes: list[tuple[str, str]] = []

    def datasource_changed(self, name: str | None = None, op: str | None = None) -> None:
        self.changes.append((name, op))


@pytest.fixture
def env(make_node: Any, db: Any, conf: Any, crypter: Any) -> Any:
    conf.set_override("custom_driver_endpoints",
                      [f"flaky={__name__}:FlakyDriver"])
    FLAKY["fail"] = True

    class Env:
        def __init__(self) -> None:
            self.node = make_node("dsnode")
            self.engine = Engine()
            pe_node = make_node("penode")
            pe_node.register_service(self.engine)
            self.pe_node = pe_node
            self.manager = DatasourceManager(self.node, db, conf)
            self.node.register_service(self.manager)

        def call(self, method: str, **kwargs: Any) -> Any:
            return self.pe_node.call("_ds_manager", method, **kwargs)

    return Env()


def create(env: Any, name: str = "nova1", driver: str = "fake_datasource",
           config: dict | None = None, **extra: Any) -> dict[str, Any]:
    return env.call("create_datasource", body={"name": name, "driver": driver,
                                               "config": OS_CFG if config is None else config,
                                               **extra})


# --------------------------------------------------------------------------- create
def test_create_masks_secrets_starts_service_and_broadcasts(env: Any, db: Any) -> None:
    ds = create(env, description="fake cloud")
    assert ds["name"] == "nova1" and ds["driver"] == "fake_datasource"
    assert ds["type"] is None and ds["enabled"] is True
    assert ds["description"] == "fake cloud"
    assert ds["config"]["password"] == "<hidden>"
    assert ds["config"]["username"] == "admin"
    assert env.node.get_service("nova1") is not None
    wait_until(lambda: ("nova1", "create") in env.engine.changes)
    # stored encrypted
    stored = ds_db.get_datasource(db, "nova1", decrypt=False)
    assert stored["config"]["password"] != "s3cret"
    assert crypto.encrypted_fields(stored["config"]) == ["password"]
    assert env.call("get_datasource", ds=ds["id"])["config"]["password"] == "<hidden>"
    listed = env.call("list_datasources")
    assert [d["name"] for d in listed] == ["nova1"]
    assert listed[0]["config"]["password"] == "<hidden>"
    assert "__encrypted_fields" not in listed[0]["config"]
    assert env.call("resolve", ds=ds["id"]) == "nova1"
    assert env.call("resolve", ds="nova1") == "nova1"
    # the datasource's own service answers over the bus
    assert env.pe_node.call("nova1", "list_tables") == ["fake_table"]


@pytest.mark.parametrize("name,fragment", [
    ("", "non-empty"), ("_hidden", "reserved"), ("9lives", "must start"),
    ("a b", "must start"), ("a:b", "must start"), (None, "non-empty"),
])
def test_bad_names(env: Any, name: Any, fragment: str) -> None:
    with pytest.raises(exceptions.BadRequest) as e:
        create(env, name=name)
    assert e.value.http_status == 400 and fragment in e.value.message


def test_unknown_driver_and_bad_config(env: Any) -> None:
    with pytest.raises(exceptions.InvalidDriver) as e:
        create(env, driver="nope")
    assert e.value.message == "Invalid driver: nope" and e.value.http_status == 400
    with pytest.raises(exceptions.InvalidDriverOption) as e:
        create(env, config={**OS_CFG, "bogus": "1"})
    assert e.value.message == "Invalid driver options: bogus"
    with pytest.raises(exceptions.InvalidDriverOption) as e:
        create(env, config={"auth_url": "x"})
    assert e.value.message == "Missing required config options: password, project_name, " \
                              "username"
    with pytest.raises(exceptions.InvalidDriverOption, match="poll_time"):
        create(env, config={**OS_CFG, "poll_time": "often"})
    assert env.call("list_datasources") == []


def test_duplicate_name(env: Any) -> None:
    create(env)
    with pytest.raises(exceptions.DatasourceExists) as e:
        create(env)
    assert e.value.message == "Datasource already in use with name nova1"
    assert e.value.http_status == 409


def test_disabled_datasource_is_stored_not_started(env: Any) -> None:
    ds = create(env, enabled=False)
    assert ds["enabled"] is False
    assert env.node.get_service("nova1") is None


# --------------------------------------------------------------------------- delete / lookups
def test_delete_stops_service_and_drops_table_data(env: Any, db: Any) -> None:
    ds = create(env, name="doc", driver="doctor", config={"persist_data": "true"})
    env.pe_node.call("doc", "replace_table", table="events",
                     rows=[{"time": "t", "type": "x", "details": {"hostname": "h"}}])
    assert tabledata.get_tables(db, ds["id"])
    assert env.call("delete_datasource", ds="doc") is None
    assert env.node.get_service("doc") is None
    assert tabledata.get_tables(db, ds["id"]) == {}
    wait_until(lambda: ("doc", "delete") in env.engine.changes)
    with pytest.raises(exceptions.DatasourceNotFound) as e:
        env.call("delete_datasource", ds="doc")
    assert e.value.message == "Datasource not found doc" and e.value.http_status == 404
    with pytest.raises(exceptions.DatasourceNotFound):
        env.call("resolve", ds="doc")
    with pytest.raises(exceptions.DatasourceNotFound):
        env.call("get_datasource", ds="doc")


def test_drivers(env: Any, conf: Any) -> None:
    ids = [d["id"] for d in env.call("list_drivers")]
    assert {"nova", "neutronv2", "push", "doctor", "vitrage", "monasca_webhook",
            "fake_datasource", "flaky"} <= set(ids)
    assert "json_ingester" not in ids            # [json_ingester] enable is False
    info = env.call("get_driver", driver_id="nova")
    assert info["secret"] == ["password"]
    with pytest.raises(exceptions.DriverNotFound) as e:
        env.call("get_driver", driver_id="nope")
    assert e.value.message == ("Driver not found nope. Either not supported or disabled by "
                               "deployer in Congress config")
    conf.set_override("disabled_drivers", ["nova"])
    assert "nova" not in [d["id"] for d in env.call("list_drivers")]
    with pytest.raises(exceptions.DriverNotFound):
        env.call("get_driver", driver_id="nova")


# --------------------------------------------------------------------------- failures / sync
def test_driver_that_cannot_start_reports_it_and_is_retried(env: Any) -> None:
    create(env, name="fl", driver="flaky", config={})
    service = env.node.get_service("fl")
    assert isinstance(service, FailedDatasource)
    status = env.pe_node.call("fl", "get_status")
    assert status["initialized"] == "False"
    assert "cannot reach the flaky service" in status["last_error"]
    with pytest.raises(exceptions.ServiceUnavailable):
        env.pe_node.call("fl", "get_rows", table="t")
    assert env.pe_node.call("fl", "list_tables") == ["t"]
    FLAKY["fail"] = False
    assert env.manager.sync()["running"] == ["fl"]
    assert env.pe_node.call("fl", "get_status")["initialized"] == "True"


def test_sync_follows_the_database(env: Any, db: Any) -> None:
    # created by another node's manager: only in the DB
    ds_db.create_datasource(db, "other", "doctor", {}, secret_fields=[])
    create(env, name="mine", driver="doctor", config={})
    assert env.manager.sync()["running"] == ["mine", "other"]
    ds_db.set_enabled(db, "mine", False)
    ds_db.delete_datasource(db, "other")
    assert env.manager.sync()["running"] == []
    assert env.node.get_service("other") is None and env.node.get_service("mine") is None


def test_webhook_errors_leave_other_datasources_alone(env: Any) -> None:
    create(env, name="vit", driver="vitrage", config={})
    create(env, name="mon", driver="monasca_webhook", config={})
    with pytest.raises(exceptions.BadRequest, match="missing: payload.vitrage_id"):
        env.pe_node.call("vit", "webhook", payload={"payload": {"resource": {}}})
    env.pe_node.call("mon", "webhook", payload={"alarm_id": "a1", "metrics": []})
    assert env.pe_node.call("mon", "get_rows", table="alarm_notification")[0][0] == "a1"
    env.pe_node.call("vit", "webhook", payload={"payload": {"vitrage_id": "v", "resource": {}}})
    assert len(env.pe_node.call("vit", "get_rows", table="alarms")) == 1


def test_missing_driver_at_start(make_node: Any, db: Any, conf: Any, crypter: Any) -> None:
    ds_db.create_datasource(db, "gone", "retired_driver", {}, secret_fields=[])
    node = make_node("ds2")
    with pytest.raises(exceptions.DatasourceError, match="delete-missing-driver-datasources"):
        node.register_service(DatasourceManager(node, db, conf))
    manager = DatasourceManager(node, db, conf, delete_missing_driver_datasources=True)
    node.register_service(manager)
    assert ds_db.find_datasource(db, "gone") is None


def test_takeover_by_a_fresh_node(make_node: Any, db: Any, conf: Any, crypter: Any) -> None:
    """The old datasource node dies; a new one starts everything from the DB, restores the
    persisted push data and publishes fresh snapshots."""
    old = make_node("ds-old")
    m1 = DatasourceManager(old, db, conf)
    old.register_service(m1)
    m1.create_datasource({"name": "push1", "driver": "push",
                          "config": {"description": "d", "persist_data": "true"}})
    old.call("push1", "replace_table", table="data", rows=[["a", 1], ["b", 2]])
    watcher_node = make_node("pe")
    rec = Recorder("watcher")
    watcher_node.register_service(rec)
    rec.subscribe("push1", "data")
    wait_until(lambda: rec.table("push1", "data") == {("a", 1), ("b", 2)})
    old.stop()                                              # the node dies
    new = make_node("ds-new")
    m2 = DatasourceManager(new, db, conf)
    new.register_service(m2)
    assert m2.sync_status()["running"] == ["push1"]
    assert new.call("push1", "get_rows", table="data") == [["a", 1], ["b", 2]]
    n = len(rec.updates)
    new.call("push1", "replace_table", table="data", rows=[["a", 1]])
    wait_until(lambda: rec.table("push1", "data") == {("a", 1)})
    assert any(u.incarnation != rec.updates[0][2].incarnation for _p, _t, u in rec.updates[n:])


def test_start_imports_only_the_drivers_of_existing_datasources(
        make_node: Any, db: Any, conf: Any, crypter: Any, monkeypatch: Any) -> None:
    """The check for missing drivers and the sync at start load the classes of the drivers
    datasources use, not every driver there is (the all-in-one start-up)."""
    from congress.datasources import registry
    ds_db.create_datasource(db, "p1", "push", {"description": "d"}, secret_fields=[])
    ds_db.create_datasource(db, "gone", "retired_driver", {}, secret_fields=[])
    loaded: list[str] = []
    real = registry.load_class
    monkeypatch.setattr(registry, "load_class", lambda spec: loaded.append(spec) or real(spec))
    node = make_node("ds3")
    manager = DatasourceManager(node, db, conf, delete_missing_driver_datasources=True)
    node.register_service(manager)
    assert set(loaded) == {registry.BUILTIN_DRIVERS["push"]}, loaded
    assert manager.sync_status()["running"] == ["p1"]
    assert ds_db.find_datasource(db, "gone") is None
