"""The driver framework: config validation, schema/info, status, reads, polling (errors,
recovery, lazy tables, deltas on the bus), action listing and execution errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from congress import exceptions
from congress.datasources import driver as drv
from congress.datasources.drivers.benchmark import BenchmarkDriver
from congress.datasources.drivers.fake_datasource import FakeDataSource
from congress.datasources.drivers.nova import NovaDriver
from tests.unit.datasources.conftest import Recorder, wait_until

SERVER_1 = "4bd3ac7a-6a63-4c1e-a3f1-0c7b1a3e9d52"


def nova(cloud: Any, conf: Any = None, **extra: Any) -> NovaDriver:
    return NovaDriver("nova", "ds-nova", cloud.driver_config(**extra), conf=conf)


# --------------------------------------------------------------------------- config
OS_CFG = {"auth_url": "http://k/v3", "username": "u", "password": "p", "project_name": "p"}


def test_unknown_options_are_named_sorted() -> None:
    with pytest.raises(exceptions.InvalidDriverOption) as e:
        NovaDriver.validate_config({**OS_CFG, "zeta": 1, "alpha": 2})
    assert e.value.message == "Invalid driver options: alpha, zeta"
    assert e.value.http_status == 400


def test_missing_required_options_are_named_sorted() -> None:
    with pytest.raises(exceptions.InvalidDriverOption) as e:
        NovaDriver.validate_config({"auth_url": "x", "project_name": "p"})
    assert e.value.message == "Missing required config options: password, username"


def test_tenant_name_stands_in_for_project_name(caplog: pytest.LogCaptureFixture) -> None:
    cfg = {k: v for k, v in OS_CFG.items() if k != "project_name"}
    with caplog.at_level(logging.WARNING):
        out = NovaDriver.validate_config({**cfg, "tenant_name": "demo"})
    assert out["project_name"] == "demo"
    assert "tenant_name" in caplog.text


def test_options_are_typed_and_defaulted() -> None:
    out = NovaDriver.validate_config({**OS_CFG, "poll_time": "25", "lazy_tables": "flavors,"
                                      " services", "api_timeout": "2.5"})
    assert out["poll_time"] == 25
    assert out["lazy_tables"] == ["flavors", "services"]
    assert out["api_timeout"] == 2.5
    assert out["api_version"] == "2.26"
    assert out["user_domain_name"] == "Default"


@pytest.mark.parametrize("option,value,word", [
    ("poll_time", "soon", "an integer"),
    ("poll_time", True, "an integer"),
    ("api_timeout", "x", "a number"),
    ("username", {"a": 1}, "a string"),
])
def test_ill_typed_values_name_option_and_type(option: str, value: Any, word: str) -> None:
    with pytest.raises(exceptions.InvalidDriverOption) as e:
        NovaDriver.validate_config({**OS_CFG, option: value})
    assert e.value.http_status == 400
    assert option in e.value.message and word in e.value.message


def test_persist_data_is_a_strict_boolean() -> None:
    from congress.datasources.drivers.doctor import DoctorDriver
    assert DoctorDriver.validate_config({"persist_data": "TRUE"})["persist_data"] is True
    assert DoctorDriver.validate_config({})["persist_data"] is False
    with pytest.raises(exceptions.InvalidDriverOption, match="persist_data.*boolean"):
        DoctorDriver.validate_config({"persist_data": "yes"})


def test_invalid_lazy_tables() -> None:
    with pytest.raises(exceptions.InvalidDriverOption) as e:
        NovaDriver.validate_config({**OS_CFG, "lazy_tables": "servers,bogus,tags"})
    # tags is a sub-table, not a root table: only root tables may be lazy
    assert e.value.message == "Invalid lazy tables: bogus, tags"


def test_negative_poll_time_rejected() -> None:
    with pytest.raises(exceptions.InvalidDriverOption, match="poll_time"):
        NovaDriver.validate_config({**OS_CFG, "poll_time": -1})


# --------------------------------------------------------------------------- info / schema
def test_info_is_the_api_driver_object() -> None:
    info = NovaDriver.info()
    assert info["id"] == "nova"
    assert info["secret"] == ["password"]
    assert info["config"]["auth_url"] == "required"
    assert info["config"]["poll_time"] == "(optional)"
    assert info["config"]["api_version"] == "(optional)"
    servers = next(t for t in info["tables"] if t["table_id"] == "servers")
    assert servers["columns"][0] == {"name": "id", "description": "The UUID for the server"}
    assert set(info) == {"id", "description", "config", "secret", "tables"}


def test_schema_and_table_spec(cloud: Any) -> None:
    d = nova(cloud)
    schema = d.get_schema()
    assert [t["table_id"] for t in schema["tables"]] == [
        "servers", "servers.addresses", "tags", "flavors", "services", "hypervisors",
        "availability_zones"]
    spec = d.get_table_spec("tags")
    assert spec == {"table_id": "tags", "columns": [
        {"name": "server_id", "description": "UUID of server"},
        {"name": "tag", "description": "server tag string"}]}
    with pytest.raises(exceptions.NotFound) as e:
        d.get_table_spec("nope")
    assert e.value.message == "Table 'nope' for datasource 'nova' has no schema "


# --------------------------------------------------------------------------- status / rows
def test_status_before_and_after_a_poll(cloud: Any) -> None:
    d = nova(cloud)
    status = d.get_status()
    assert status["initialized"] == "False"
    assert status["last_updated"] == "None"
    assert status["last_error"] == "None"
    assert status["number_of_updates"] == "0"
    assert status["subscriptions"] == [] and status["subscribers"] == []
    assert d.poll() is True
    status = d.get_status()
    assert status["initialized"] == "True"
    assert status["number_of_updates"] == "1"
    assert status["last_error"] == "None"
    assert status["last_updated"] != "None"
    assert status["number_of_tables"] == "7"
    assert int(status["number_of_rows"]) > 10
    assert all(isinstance(v, str) for k, v in status.items()
               if k not in ("subscriptions", "subscribers"))


def test_get_rows_and_unknown_table(cloud: Any) -> None:
    d = nova(cloud)
    d.poll()
    rows = d.get_rows("flavors")
    assert ["1", "m1.tiny", 1, 512, 1, 0, 1.0] in rows
    assert d.list_tables()[0] == "servers"
    with pytest.raises(exceptions.NotFound) as e:
        d.get_rows("nope")
    assert e.value.message == "tablename 'nope' does not exist'"
    assert e.value.http_status == 404


# --------------------------------------------------------------------------- poll errors
def test_failing_service_keeps_last_good_data_and_recovers(cloud: Any) -> None:
    d = nova(cloud)
    assert d.poll()
    before = d.table_rows("servers")
    cloud.data["servers"][0]["status"] = "ERROR"
    cloud.inject(r"/servers/detail$", status=500)
    assert d.poll() is False
    status = d.get_status()
    assert "servers" in status["last_error"] and "500" in status["last_error"]
    assert d.table_rows("servers") == before          # last good data kept
    assert d.table_rows("flavors")                     # other tables still polled
    cloud.clear_injections()
    assert d.poll() is True                            # recovers by itself
    assert d.get_status()["last_error"] == "None"
    assert (SERVER_1, "ERROR") in {(r[0], r[3]) for r in d.table_rows("servers")}


def test_bad_credentials_are_reported(cloud: Any) -> None:
    d = nova(cloud, password="wrong")
    assert d.poll() is False
    err = d.get_status()["last_error"]
    assert "401" in err or "Unauthorized" in err or "authentication" in err.lower()
    assert "wrong" not in err


def test_malformed_json_is_reported(cloud: Any) -> None:
    d = nova(cloud)
    cloud.inject(r"/flavors/detail$", malformed=True)
    assert d.poll() is False
    assert "Malformed JSON" in d.get_status()["last_error"]


def test_timeout_is_reported(cloud: Any) -> None:
    d = nova(cloud, api_timeout=0.3)
    # several slow answers: some openstacksdk releases retry a timed-out request once
    cloud.inject(r"/os-services$", delay=1.0, times=5)
    assert d.poll() is False
    assert "services" in d.get_status()["last_error"]


# --------------------------------------------------------------------------- on the bus
def test_poll_loop_publishes_only_deltas(cloud: Any, conf: Any, make_node: Any) -> None:
    node = make_node("dsnode")
    d = nova(cloud, conf)
    rec = Recorder("watcher")
    node.register_service(rec)
    rec.subscribe("nova", "servers")
    node.register_service(d)                 # start(): first poll at once
    wait_until(lambda: rec.table("nova", "servers") and len(rec.table("nova", "servers")) == 3)
    n = len(rec.updates)
    cloud.data["servers"][1]["status"] = "ACTIVE"
    d.request_refresh()
    wait_until(lambda: len(rec.updates) > n)
    _, _, update = rec.updates[-1]
    assert not update.is_snapshot
    assert len(update.added) == 1 and len(update.removed) == 1
    assert next(iter(update.added))[3] == "ACTIVE"
    status = d.get_status()
    assert status["subscribers"] == ["watcher"]


def test_lazy_tables_wait_for_a_subscriber(cloud: Any, conf: Any, make_node: Any) -> None:
    node = make_node("dsnode")
    d = nova(cloud, conf, lazy_tables="flavors")
    node.register_service(d)
    wait_until(lambda: d.get_status()["initialized"] == "True")
    assert not any("/flavors" in p for p in cloud.paths())
    with pytest.raises(exceptions.LazyTableError) as e:
        d.get_rows("flavors")
    assert e.value.message == "table flavors is a lazy table and is not subscribed."
    assert e.value.http_status == 400
    rec = Recorder("watcher")
    node.register_service(rec)
    rec.subscribe("nova", "flavors")
    wait_until(lambda: any("/flavors" in p for p in cloud.paths()))
    wait_until(lambda: rec.table("nova", "flavors") and len(rec.table("nova", "flavors")) == 3)
    assert len(d.get_rows("flavors")) == 3


def test_poll_time_zero_polls_only_on_refresh(conf: Any, make_node: Any) -> None:
    node = make_node("dsnode")
    d = BenchmarkDriver("bench", "id", {"poll_time": 0, "datarows": 3}, conf=conf)
    node.register_service(d)
    wait_until(lambda: d.number_of_updates == 1)
    assert len(d.get_rows("benchtable")) == 3
    d.config["datarows"] = 5
    d.request_refresh()
    wait_until(lambda: d.number_of_updates == 2)
    assert ["val1_4", "val2_4"] in d.get_rows("benchtable")


def test_poll_loop_polls_periodically(conf: Any, make_node: Any) -> None:
    node = make_node("dsnode")
    d = FakeDataSource("fake", "id", {**OS_CFG, "poll_time": 1}, conf=conf)
    d.poll_time = 0.05           # (seconds in config are integers; tests go faster)
    node.register_service(d)
    wait_until(lambda: d.polls >= 3)
    node.unregister_service("fake")
    polls = d.polls
    import time
    time.sleep(0.2)
    assert d.polls == polls      # stopped with its service


# --------------------------------------------------------------------------- actions
def test_actions_are_listed_sorted_with_args(cloud: Any) -> None:
    actions = nova(cloud).get_actions()["results"]
    names = [a["name"] for a in actions]
    assert names == sorted(names)
    assert {"servers.pause", "servers.stop", "servers.delete", "servers_set_meta"} <= set(names)
    pause = next(a for a in actions if a["name"] == "servers.pause")
    assert pause == {"name": "servers.pause", "description": "Pause a server.",
                     "args": [{"name": "server", "description": "ID of the server"}]}


def test_execute_unknown_action(cloud: Any) -> None:
    with pytest.raises(exceptions.ActionError) as e:
        nova(cloud).execute("servers.explode", {"positional": ["x"]})
    assert "has no action servers.explode" in e.value.message


def test_execute_failure_names_driver_action_and_args(cloud: Any) -> None:
    with pytest.raises(exceptions.ActionError) as e:
        nova(cloud).execute("servers.pause", {"positional": ["no-such-server"]})
    msg = e.value.message
    assert msg.startswith("driver nova tries to execute servers.pause on arguments")
    assert "no-such-server" in msg


def test_execute_bad_arguments() -> None:
    with pytest.raises(exceptions.BadRequest):
        drv.DataSourceDriver.execute(FakeDataSource("f", "i", OS_CFG), "x", {"bogus": 1})


def test_pairs_helper() -> None:
    from congress.datasources.execution import pairs_to_dict
    assert pairs_to_dict(["a", 1, "b", 2]) == {"a": 1, "b": 2}
    with pytest.raises(exceptions.ActionError):
        pairs_to_dict(["a"])
