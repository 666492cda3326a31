"""Reads of policy tables while a datasource update is being absorbed: a reader sees the state
before the update or the one after it, never a half-applied one, and does not wait for the
update when the answer at the current revision is already known."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from congress import config
from congress.bus import ResyncWanted, TableUpdate
from congress.bus.service import EMPTY
from congress.db import api, migration
from congress.policy import kinds
from congress.services.policy_engine import PolicyEngineService
from tests.unit.bus.conftest import FAST, bus_id, make_node  # noqa: F401

N = 60_000


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
    eng.rt.create_policy("ds", kind=kinds.DATASOURCE, schema={"t": ["x", "y"]})
    eng.create_policy(name="p")
    # "hit" is small whatever the size of ds:t; "n" counts the rows of ds:t that join
    eng.insert_rule("p", 'hit(x) :- ds:t(x, y), equal(y, "seven")')
    eng.insert_rule("p", "pair(x) :- ds:t(x, y), ds:t(y, x)")
    yield eng
    db.dispose()


def snapshot(rows: set[tuple[Any, ...]], seq: int) -> TableUpdate:
    return TableUpdate(True, frozenset(rows), EMPTY, EMPTY, seq, "inc")


def data(engine: PolicyEngineService, table: str) -> list[list[Any]]:
    return sorted(r["data"] for r in engine.get_rows("p", table)["results"])


def test_a_cached_read_does_not_wait_for_an_update_in_progress(
        engine: PolicyEngineService, monkeypatch: pytest.MonkeyPatch) -> None:
    engine.receive_data("ds", "t", snapshot({(1, "seven")}, 0))
    assert data(engine, "hit") == [[1]]           # answered (and kept) at this revision
    inside, release = threading.Event(), threading.Event()
    program = engine.rt.program
    real = program.update_facts

    def slow_update(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)            # the engine has applied the change ...
        inside.set()
        assert release.wait(10)                   # ... but the update is not complete yet
        return result

    monkeypatch.setattr(program, "update_facts", slow_update)
    delta = TableUpdate(False, None, frozenset({(2, "seven")}), frozenset({(1, "seven")}),
                        1, "inc")
    writer = threading.Thread(target=engine.receive_data, args=("ds", "t", delta))
    writer.start()
    try:
        assert inside.wait(10)
        answers: list[Any] = []
        reader = threading.Thread(target=lambda: answers.append(data(engine, "hit")))
        reader.start()
        reader.join(5)
        # the reader did not wait for the engine lock, and saw the state before the update
        assert not reader.is_alive() and answers == [[[1]]]
    finally:
        release.set()
        writer.join(10)
    assert data(engine, "hit") == [[2]]           # once applied, the new state


def test_readers_see_the_old_or_the_new_state_of_big_updates(
        engine: PolicyEngineService) -> None:
    states = [
        {(i, "seven" if i % 1000 == 0 else f"v{i}") for i in range(N)},
        {(i, "seven" if i % 999 == 0 else f"v{i}") for i in range(N)} | {("a", "b"), ("b", "a")},
        set(),
        {(i, "seven" if i % 1000 == 0 else f"v{i}") for i in range(N)},
    ]
    expected = [sorted([i] for i, y in s if y == "seven") for s in states]
    expected_pairs = [sorted([x] for x, y in s if (y, x) in s) for s in states]
    engine.receive_data("ds", "t", snapshot(states[0], 0))
    seen: list[tuple[list[Any], list[Any]]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append((data(engine, "hit"), data(engine, "pair")))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for seq, state in enumerate(states[1:], start=1):
            engine.receive_data("ds", "t", snapshot(state, seq))
    finally:
        done.set()
        reader.join(30)
    assert len(seen) > 3
    for hit, pair in seen:
        assert hit in expected, "a read saw a state that no update produced"
        assert pair in expected_pairs
    assert (data(engine, "hit"), data(engine, "pair")) == (expected[-1], expected_pairs[-1])


def test_rows_of_another_width_leave_the_table_empty_until_rows_fit(
        engine: PolicyEngineService) -> None:
    """Refused rows count as applied (a writer waiting for them goes on) and empty the table;
    a delta after them asks the bus for the whole table, which replaces it once it fits."""
    engine.subscribed.add(("ds", "t"))
    engine.receive_data("ds", "t", snapshot({(1, "seven")}, 0))
    assert data(engine, "hit") == [[1]]
    engine.receive_data("ds", "t", TableUpdate(False, None, frozenset({(2, "seven", 3)}),
                                               EMPTY, 1, "inc"))
    assert data(engine, "hit") == []
    fence = {"publisher": "ds", "incarnation": "inc", "seqnums": {"t": 1}}
    assert engine.wait_applied(fence, 0)
    with pytest.raises(ResyncWanted):
        engine.receive_data("ds", "t", TableUpdate(False, None, frozenset({(3, "seven")}),
                                                   EMPTY, 2, "inc"))
    engine.receive_data("ds", "t", snapshot({(2, "seven", 3)}, 2))     # still too wide
    assert data(engine, "hit") == []
    engine.receive_data("ds", "t", snapshot({(3, "seven")}, 3))
    assert data(engine, "hit") == [[3]]
    engine.receive_data("ds", "t", TableUpdate(False, None, frozenset({(4, "seven")}),
                                               EMPTY, 4, "inc"))
    assert data(engine, "hit") == [[3], [4]]
