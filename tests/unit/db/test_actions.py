"""The action execution log (congress.db.actions)."""

from __future__ import annotations

import datetime
import threading

import pytest

from congress import exceptions
from congress.db import actions


def test_log_request_and_result(db):
    entry = actions.log_request(db, "nova", "servers.pause", {"positional": ["vm1"]},
                                requested_by="pe-1")
    assert entry["id"] >= 1
    assert entry["status"] == "requested"
    assert entry["args"] == {"positional": ["vm1"]}
    assert entry["requested_by"] == "pe-1"
    assert entry["trigger_key"] is None
    assert entry["finished_at"] is None and entry["created_at"].endswith("Z")
    assert actions.get_action(db, entry["id"]) == entry

    done = actions.record_result(db, entry["id"], "succeeded", result={"ok": True})
    assert done["status"] == "succeeded"
    assert done["result"] == {"ok": True}
    assert done["error"] is None
    assert done["finished_at"] is not None
    failed = actions.record_result(db, entry["id"], "failed", error="boom " * 10000)
    assert failed["status"] == "failed" and len(failed["error"]) <= 16000


def test_unknown_entry_and_bad_status(db):
    with pytest.raises(exceptions.NotFound):
        actions.get_action(db, 999)
    with pytest.raises(exceptions.NotFound):
        actions.record_result(db, 999, "failed")
    with pytest.raises(ValueError):
        actions.log_request(db, "nova", "a", status="weird")
    entry = actions.log_request(db, "nova", "a")
    with pytest.raises(ValueError):
        actions.record_result(db, entry["id"], "done")


def test_claim_once(db):
    first = actions.claim(db, "policy:execute[nova:pause(vm1)]", "nova", "servers.pause",
                          {"positional": ["vm1"]}, requested_by="pe-1")
    assert isinstance(first, int) and first > 0
    assert actions.claim(db, "policy:execute[nova:pause(vm1)]", "nova", "servers.pause",
                         requested_by="pe-2") is None
    entry = actions.find_by_trigger(db, "policy:execute[nova:pause(vm1)]")
    assert entry["id"] == first and entry["requested_by"] == "pe-1"
    assert actions.find_by_trigger(db, "other") is None
    with pytest.raises(exceptions.Conflict):
        actions.log_request(db, "nova", "servers.pause",
                            trigger_key="policy:execute[nova:pause(vm1)]")


def test_failed_claim_keeps_caller_transaction_usable(db):
    actions.claim(db, "k", "nova", "a")
    with db.transaction() as conn:
        other = actions.log_request(conn, "nova", "b")
        assert actions.claim(conn, "k", "nova", "a") is None
        assert actions.claim(conn, "k2", "nova", "a") is not None
    assert actions.get_action(db, other["id"])["action"] == "b"
    assert actions.find_by_trigger(db, "k2") is not None


def test_claim_from_many_threads(db):
    winners = []
    lock = threading.Lock()

    def worker(i):
        got = actions.claim(db, "same-key", "nova", "a", requested_by=f"pe-{i}")
        if got is not None:
            with lock:
                winners.append(got)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_list_filters_and_prune(db):
    a = actions.log_request(db, "nova", "a")
    b = actions.log_request(db, "neutron", "b")
    c = actions.log_request(db, "nova", "c")
    actions.record_result(db, c["id"], "skipped")
    assert [e["id"] for e in actions.list_actions(db)] == [a["id"], b["id"], c["id"]]
    assert [e["id"] for e in actions.list_actions(db, datasource="nova")] == [a["id"], c["id"]]
    assert [e["id"] for e in actions.list_actions(db, status="skipped")] == [c["id"]]
    assert [e["id"] for e in actions.list_actions(db, since_id=a["id"])] == [b["id"], c["id"]]
    assert len(actions.list_actions(db, limit=1)) == 1
    assert actions.prune_actions(db, datetime.datetime(2000, 1, 1)) == 0
    future = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + \
        datetime.timedelta(minutes=1)
    assert actions.prune_actions(db, future) == 3
    assert actions.list_actions(db) == []


def test_unserializable_args_are_stringified(db):
    entry = actions.log_request(db, "nova", "a", {"when": datetime.date(2020, 1, 2)})
    assert entry["args"] == {"when": "2020-01-02"}
