"""Group commit of policy changes: queued changes are written in one transaction, and a refused
change does not take the others down with it (nor leave anything half-written)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from congress import config
from congress.db import api, migration
from congress.db import policies as db_policies
from congress.exceptions import CongressError
from congress.services.policy_engine import PolicyEngineService
from tests.unit.bus.conftest import FAST, bus_id, make_node  # noqa: F401


@pytest.fixture
def engine(tmp_path: Any, make_node: Any) -> Iterator[PolicyEngineService]:  # noqa: F811
    conf = config.new_conf()
    conf([], project="congress-test")
    conf.set_override("state_path", str(tmp_path))
    conf.set_override("datasource_sync_period", 0)
    db = api.Database(f"sqlite:///{tmp_path}/congress.sqlite")
    migration.ensure_schema(db)
    node = make_node("pe")
    eng = PolicyEngineService(node, db, conf)
    node.register_service(eng)
    eng.create_policy(name="p")
    yield eng
    db.dispose()


def queued_together(eng: PolicyEngineService, calls: list) -> list:
    """Run ``calls`` in threads while the engine lock is held, so they queue into one batch."""
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except CongressError as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    with eng.lock:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(eng._queue) < len(calls) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(eng._queue) == len(calls)
    for t in threads:
        t.join(10)
    return results


def stored_rules(eng: PolicyEngineService) -> set[str]:
    return {r["rule"] for r in db_policies.list_rules(eng.db, "p")}


def test_batch_commits_every_change_once(engine: PolicyEngineService) -> None:
    before = db_policies.current_revision(engine.db)
    rules = [f"q{i}(x) :- r(x)" for i in range(5)]
    results = queued_together(engine, [lambda r=r: engine.insert_rule("p", r) for r in rules])
    assert all(isinstance(r, dict) for r in results)
    assert stored_rules(engine) == set(rules)
    assert db_policies.current_revision(engine.db) == before + 5
    assert engine.policy_revision == before + 5
    assert {r["rule"] for r in engine.list_rules("p")} == set(rules)


def test_refused_change_in_a_batch_leaves_the_others(engine: PolicyEngineService) -> None:
    before = db_policies.current_revision(engine.db)
    calls = [
        lambda: engine.insert_rule("p", "a(x) :- r(x)"),
        lambda: engine.insert_rule("p", "b(x) :- not r(x)"),      # unsafe: refused
        lambda: engine.insert_rule("p", "c(x) :- r(x)"),
    ]
    ok1, refused, ok2 = queued_together(engine, calls)
    assert isinstance(ok1, dict) and isinstance(ok2, dict)
    assert isinstance(refused, CongressError) and "x" in str(refused)
    assert stored_rules(engine) == {"a(x) :- r(x)", "c(x) :- r(x)"}
    assert {r["rule"] for r in engine.list_rules("p")} == stored_rules(engine)
    # two changes committed, each with its own revision; nothing of the refused one
    changes = db_policies.changes_since(engine.db, before)
    assert [c["op"] for c in changes] == ["insert_rule", "insert_rule"]
    assert engine.policy_revision == before + 2


def test_rows_of_an_earlier_revision_are_not_kept(engine: PolicyEngineService) -> None:
    """The rows cache answers the same list while nothing changes and holds nothing read
    before a change (a deleted policy's rows and their encoded bodies go with it)."""
    engine.insert_rule("p", "q(1)")
    first = engine.get_rows("p", "q")["results"]
    assert engine.get_rows("p", "q")["results"] is first
    engine.create_policy(name="other")
    engine.insert_rule("other", "r(2)")
    engine.get_rows("other", "r")
    assert list(engine._rows_cache) == [("other", "r")]
    engine.delete_policy("other")
    assert engine._rows_cache == {}
