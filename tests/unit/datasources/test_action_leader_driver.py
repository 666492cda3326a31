"""Actions: the local-leader rule and de-duplication (real in-process bus nodes, SQLite action
log), API-initiated executes and their log, enable_execute_action."""

from __future__ import annotations

from typing import Any

import pytest

from congress import bus, exceptions
from congress.datasources.drivers.fake_datasource import FakeDataSource
from congress.db import actions as action_log
from tests.unit.datasources.conftest import wait_until

OS_CFG = {"auth_url": "http://k/v3", "username": "u", "password": "p", "project_name": "p",
          "poll_time": 0}


class FakePE(bus.Service):
    """Stands in for ``__engine``: sends action requests, answers ``action_rows``."""

    rpc_methods = frozenset({"action_rows", "datasource_changed"})

    def __init__(self) -> None:
        super().__init__("__engine")
        self.rows: list[dict[str, Any]] = []
        self.row_calls = 0

    def action_rows(self, service: str | None = None) -> list[dict[str, Any]]:
        self.row_calls += 1
        return [r for r in self.rows if service is None or r.get("service", service) == service]

    def datasource_changed(self, name: str | None = None, op: str | None = None) -> None:
        pass

    def holds(self, *rows: list[Any], policy: str = "p", action: str = "fake_act") -> None:
        self.rows = [{"policy": policy, "service": "fake", "action": action, "row": list(r)}
                     for r in rows]

    def send(self, event: str, row: list[Any], *, policy: str = "p",
             action: str = "fake_act") -> dict[str, Any]:
        assert self.node is not None
        return self.node.call("fake", "request_execute", prefer_local=False, action=action,
                              args={"positional": row, "named": {}},
                              requested_by=self.node.node_id,
                              trigger={"policy": policy, "event": event, "row": row})


@pytest.fixture
def setup(make_node: Any, db: Any, conf: Any) -> Any:
    class Setup:
        def __init__(self) -> None:
            self.ds_node = make_node("ds")
            self.driver = self.new_driver()
            self.ds_node.register_service(self.driver)
            self.pes: dict[str, FakePE] = {}

        def new_driver(self) -> FakeDataSource:
            return FakeDataSource("fake", "ds-fake-id", OS_CFG, db=db, conf=conf)

        def pe(self, node_id: str) -> FakePE:
            node = make_node(node_id)
            pe = FakePE()
            node.register_service(pe)
            self.pes[node_id] = pe
            assert self.ds_node.wait_for_service("__engine", node_id=node_id)
            return pe

        def executed(self) -> list[list[Any]]:
            self.driver.executor.wait_idle()
            return [args["positional"] for _a, args in self.driver.exec_history]

    return Setup()


def log_keys(db: Any) -> list[str]:
    return [e["trigger_key"].split(":", 1)[1] for e in
            action_log.list_actions(db, datasource="fake", limit=None) if e["trigger_key"]]


def test_first_pe_heard_from_becomes_leader(setup: Any) -> None:
    pe1, pe2 = setup.pe("pe1"), setup.pe("pe2")
    pe1.holds(["s1"])
    assert pe1.send("added", ["s1"])["accepted"] is True
    pe2.holds(["s1"], ["s2"])
    assert pe2.send("added", ["s2"])["accepted"] is False     # not the leader: ignored
    assert setup.executed() == [["s1"]]                         # once (reconcile + request)
    assert setup.driver.executor.leader[0] == "pe1"
    assert pe1.row_calls == 1 and pe2.row_calls == 0


def test_each_change_executes_once(setup: Any, db: Any) -> None:
    pe1 = setup.pe("pe1")
    pe1.send("added", ["s1"])
    pe1.send("added", ["s1"])                 # same row again (e.g. a retry): no new execution
    assert setup.executed() == [["s1"]]
    pe1.send("removed", ["s1"])
    pe1.send("removed", ["s1"])
    pe1.send("added", ["s1"])                 # became true again: executes again
    assert setup.executed() == [["s1"], ["s1"]]
    assert log_keys(db) == ["0", "0:off", "1"]
    entries = action_log.list_actions(db, datasource="fake")
    assert entries[0]["status"] == "succeeded" and entries[0]["requested_by"] == "pe1"
    assert entries[1]["result"] == {"event": "removed"}


def test_rows_of_other_policies_and_actions_are_distinct(setup: Any) -> None:
    pe1 = setup.pe("pe1")
    pe1.send("added", ["s1"])
    pe1.send("added", ["s1"], policy="other")
    pe1.send("added", ["s1"], action="other_act")
    assert len(setup.executed()) == 3


def test_leader_lost_next_pe_takes_over_and_reconciles(setup: Any, db: Any) -> None:
    pe1, pe2 = setup.pe("pe1"), setup.pe("pe2")
    pe1.holds(["s1"], ["s3"])
    pe1.send("added", ["s1"])
    pe1.send("added", ["s3"])
    assert setup.executed() == [["s1"], ["s3"]]
    # pe2 derived s1 and s2 (s3 is no longer true there)
    pe2.holds(["s1"], ["s2"])
    pe1.node.stop()                                            # its heartbeats stop
    # the datasource picks the live engine at once and reconciles with it
    wait_until(lambda: (setup.driver.executor.leader or ("",))[0] == "pe2", timeout=5)
    wait_until(lambda: setup.executed() == [["s1"], ["s3"], ["s2"]], timeout=5)
    assert pe2.send("added", ["s2"])["accepted"] is True       # already done: not again
    assert setup.executed() == [["s1"], ["s3"], ["s2"]]       # s1 not executed again
    assert setup.driver.executor.leader[0] == "pe2"
    assert pe2.row_calls == 1
    ended = [e for e in action_log.list_actions(db, datasource="fake", limit=None)
             if (e["trigger_key"] or "").endswith(":off")]
    assert len(ended) == 1 and ended[0]["args"]["positional"] == ["s3"]
    assert ended[0]["requested_by"] == "pe2"


def test_a_pe_on_the_same_node_is_preferred(setup: Any) -> None:
    local = FakePE()
    setup.ds_node.register_service(local)
    pe1 = setup.pe("pe1")
    assert pe1.send("added", ["s1"])["accepted"] is False
    assert setup.driver.executor.leader[0] == "ds"
    assert local.send("added", ["s1"])["accepted"] is True
    assert setup.executed() == [["s1"]]


def test_pe_restart_is_a_leader_change(setup: Any, make_node: Any) -> None:
    pe1 = setup.pe("pe1")
    pe1.holds(["s1"], ["s2"])
    pe1.send("added", ["s1"])
    pe1.send("added", ["s2"])
    assert setup.executed() == [["s1"], ["s2"]]
    old_instance = pe1.node.instance
    pe1.node.stop()
    pe1b = setup.pe("pe1")                     # same node id, new instance
    assert pe1b.node.instance != old_instance
    # while it was down s2 stopped being true; it restarted without knowing
    pe1b.holds(["s1"])
    wait_until(lambda: setup.driver.executor.leader is None
               or setup.driver.executor.leader[1] != old_instance, timeout=5)
    pe1b.send("added", ["s1"])                 # a restarted PE re-derives every row
    assert setup.executed() == [["s1"], ["s2"]]
    assert pe1b.row_calls == 1
    pe1b.send("added", ["s2"])                 # s2 true again: it was ended, so it executes
    assert setup.executed() == [["s1"], ["s2"], ["s2"]]


def test_dedup_survives_a_datasource_restart(setup: Any) -> None:
    pe1 = setup.pe("pe1")
    pe1.holds(["s1"])
    pe1.send("added", ["s1"])
    assert setup.executed() == [["s1"]]
    setup.ds_node.unregister_service("fake")
    setup.driver = setup.new_driver()          # a new node taking over, same database
    setup.ds_node.register_service(setup.driver)
    pe1.send("added", ["s1"])
    assert setup.executed() == []
    pe1.send("removed", ["s1"])
    pe1.send("added", ["s1"])
    assert setup.executed() == [["s1"]]


def test_reconcile_failure_is_tolerated(setup: Any) -> None:
    class NoRowsPE(FakePE):
        rpc_methods = frozenset({"datasource_changed"})     # no action_rows (older engine)
    node = setup.ds_node
    pe = NoRowsPE()
    other = type(setup.ds_node)("pe9", bus_id=node.bus_id, heartbeat_interval=0.1,
                                heartbeat_timeout=0.6, rpc_timeout=5.0, ping_timeout=0.5)
    other.start()
    try:
        other.register_service(pe)
        assert node.wait_for_service("__engine", node_id="pe9")
        assert pe.send("added", ["s1"])["accepted"] is True
        assert setup.executed() == [["s1"]]
    finally:
        other.stop()


def test_execution_disabled(setup: Any, conf: Any, db: Any) -> None:
    conf.set_override("enable_execute_action", False)
    pe1 = setup.pe("pe1")
    pe1.send("added", ["s1"])
    assert setup.executed() == []
    result = setup.driver.request_execute("fake_act", {"positional": ["s9"]},
                                          requested_by="api-node")
    assert result == {"status": "skipped"}
    assert setup.executed() == []
    entry = action_log.list_actions(db, datasource="fake")[-1]
    assert entry["status"] == "skipped" and entry["requested_by"] == "api-node"


def test_api_execute_runs_and_is_logged(setup: Any, db: Any) -> None:
    pe1 = setup.pe("pe1")
    out = pe1.node.call("fake", "request_execute", action="fake_act",
                        args={"positional": ["s7"]}, requested_by="api-1")
    assert out["status"] == "succeeded"
    assert setup.executed() == [["s7"]]
    entry = action_log.get_action(db, out["log_id"])
    assert entry["action"] == "fake_act" and entry["requested_by"] == "api-1"
    assert entry["args"] == {"positional": ["s7"], "named": {}}
    with pytest.raises(exceptions.ActionError) as e:
        pe1.node.call("fake", "request_execute", action="servers.pause",
                      args={"positional": ["x"]}, requested_by="api-1")
    assert "has no action servers.pause" in e.value.message
    failed = action_log.list_actions(db, datasource="fake")[-1]
    assert failed["status"] == "failed" and "servers.pause" in failed["error"]


def test_bad_requests(setup: Any) -> None:
    pe1 = setup.pe("pe1")
    with pytest.raises(exceptions.BadRequest):
        pe1.node.call("fake", "request_execute", action="", args={})
    with pytest.raises(exceptions.BadRequest, match="trigger.event"):
        pe1.node.call("fake", "request_execute", action="fake_act", args={},
                      trigger={"policy": "p", "event": "maybe", "row": []})
    with pytest.raises(exceptions.BadRequest):
        pe1.node.call("fake", "request_execute", action="fake_act", args={"bad": 1})
