"""Push drivers: push (width inference), doctor, vitrage and monasca_webhook (webhooks, expiry
that publishes), and persistence of pushed rows in the database (SQLite)."""

from __future__ import annotations

import datetime
import gc
import json
from typing import Any

import pytest

from congress import exceptions
from congress.datasources.drivers.doctor import DoctorDriver
from congress.datasources.drivers.monasca_webhook import MonascaWebhookDriver
from congress.datasources.drivers.push import PushDataDriver
from congress.datasources.drivers.vitrage import VitrageDriver
from congress.db import tabledata
from tests.unit.datasources.conftest import Recorder, wait_until

UTC = datetime.UTC


# --------------------------------------------------------------------------- push
def test_push_infers_width_and_replaces() -> None:
    d = PushDataDriver("p", "id-p", {"description": "test data"})
    d.replace_table("data", [["a", 1, True], ["b", 2.5, None]])
    assert d.get_rows("data") == [["a", 1, "True"], ["b", 2.5, "None"]]
    assert d.get_table_spec("data")["columns"] == [
        {"name": f"col{i}", "description": "inferred from the pushed data"} for i in range(3)]
    d.replace_table("data", [["c", 3, "x"]])
    assert d.get_rows("data") == [["c", 3, "x"]]
    assert d.get_status()["number_of_updates"] == "2"


def test_push_rejects_rows_of_the_wrong_width() -> None:
    d = PushDataDriver("p", "id-p", {"description": "d"})
    d.replace_table("data", [["a", 1]])
    with pytest.raises(exceptions.BadRequest) as e:
        d.replace_table("data", [["a", 1, 2]])
    assert e.value.message == "Row 0 of table data has 3 values; table data has 2 columns"
    with pytest.raises(exceptions.BadRequest, match="table data has 2 columns"):
        d.replace_table("data", [["x", 1], ["y"]])
    assert d.get_rows("data") == [["a", 1]]         # unchanged
    d.replace_table("data", [])                      # empty: the next push sets the width
    d.replace_table("data", [["a", 1, 2]])
    assert d.get_rows("data") == [["a", 1, 2]]


def test_push_rejects_other_tables_and_bad_bodies() -> None:
    d = PushDataDriver("p", "id-p", {"description": "d"})
    with pytest.raises(exceptions.BadRequest,
                       match="translator: other is not in the datasource driver"):
        d.replace_table("other", [["a"]])
    with pytest.raises(exceptions.BadRequest, match="array of arrays"):
        d.replace_table("data", [{"a": 1}])
    with pytest.raises(exceptions.BadRequest, match="values must be"):
        d.replace_table("data", [[{"nested": 1}]])


def test_push_driver_needs_description() -> None:
    with pytest.raises(exceptions.InvalidDriverOption,
                       match="Missing required config options: description"):
        PushDataDriver("p", "id", {})


def test_non_push_driver_refuses_rows(cloud: Any) -> None:
    from congress.datasources.drivers.nova import NovaDriver
    d = NovaDriver("nova", "x", cloud.driver_config())
    with pytest.raises(exceptions.BadRequest) as e:
        d.replace_table("servers", [])
    assert e.value.message == "Method replace_entire_table_data not supported for " \
                              "datasource nova"
    with pytest.raises(exceptions.BadRequest, match="replace_entire_table_data not supported"):
        d.replace_table_json("servers", "[not even JSON")
    with pytest.raises(exceptions.BadRequest, match="does not accept webhooks"):
        d.webhook({"x": 1})


# --------------------------------------------------------------------------- persistence
def test_persisted_rows_survive_a_new_driver(file_db: Any) -> None:
    d = PushDataDriver("p", "id-p", {"description": "d", "persist_data": "true"}, db=file_db)
    d.replace_table("data", [["a", 1], ["b", 2]])
    # stored before the call returned
    assert sorted(tabledata.get_table(file_db, "id-p", "data")) == [("a", 1), ("b", 2)]
    again = PushDataDriver("p", "id-p", {"description": "d", "persist_data": True}, db=file_db)
    assert again.get_rows("data") == [["a", 1], ["b", 2]]
    assert again.width == 2
    with pytest.raises(exceptions.BadRequest, match="2 columns"):
        again.replace_table("data", [["c"]])


def _journal_rows(db: Any, ds_id: str, table: str) -> list[int]:
    import sqlalchemy as sa

    from congress.db.schema import dstabledeltas as d
    with db.transaction() as conn:
        return [r.nrows for r in conn.execute(
            sa.select(d.c.nrows).where(d.c.ds_id == ds_id, d.c.tablename == table)
            .order_by(d.c.seq))]


def test_a_small_change_is_stored_as_a_change(file_db: Any) -> None:
    d = PushDataDriver("p", "id-p", {"description": "d", "persist_data": "true"}, db=file_db)
    rows = [[f"r{i}", i] for i in range(2000)]
    d.replace_table("data", rows)
    assert _journal_rows(file_db, "id-p", "data") == [0]          # stored whole
    changed = [["x", -1]] + rows[1:]
    d.replace_table("data", changed)
    assert _journal_rows(file_db, "id-p", "data") == [0, 2]       # one row out, one in
    d.replace_table("data", changed)                              # no change: nothing stored
    assert _journal_rows(file_db, "id-p", "data") == [0, 2]
    again = PushDataDriver("p", "id-p", {"description": "d", "persist_data": True}, db=file_db)
    assert sorted(map(tuple, again.get_rows("data"))) == sorted(map(tuple, changed))
    # the restored driver goes on storing changes
    again.replace_table("data", changed[:-1])
    assert _journal_rows(file_db, "id-p", "data") == [0, 2, 1]
    third = PushDataDriver("p", "id-p", {"description": "d", "persist_data": True}, db=file_db)
    assert sorted(map(tuple, third.get_rows("data"))) == sorted(map(tuple, changed[:-1]))


def test_a_stale_driver_stores_its_whole_table(file_db: Any) -> None:
    """Two drivers of one datasource (a standby that restored, then the other pushed): the
    stale one's push must not be stored as a change against rows it never had."""
    config = {"description": "d", "persist_data": "true"}
    a = PushDataDriver("p", "id-p", config, db=file_db)
    a.replace_table("data", [["a"], ["b"]])
    b = PushDataDriver("p", "id-p", config, db=file_db)       # restores a's rows
    a.replace_table("data", [["a"], ["b"], ["c"]])             # journaled
    b.replace_table("data", [["a"], ["d"]])                    # b still holds a, b
    fresh = PushDataDriver("p", "id-p", config, db=file_db)
    assert fresh.get_rows("data") == [["a"], ["d"]]
    assert _journal_rows(file_db, "id-p", "data") == [0]


def test_persist_failure_changes_nothing(file_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    d = DoctorDriver("doc", "id-doc", {"persist_data": "true"}, db=file_db)
    d.replace_table("events", [{"time": "t1", "type": "compute.host.down",
                                "details": {"hostname": "h1", "status": "down",
                                            "monitor": "zabbix", "monitor_event_id": "1"}}])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise exceptions.DatabaseError("disk full")
    monkeypatch.setattr(tabledata, "store_table", broken)
    monkeypatch.setattr(tabledata, "store_change", broken)
    with pytest.raises(exceptions.DatabaseError):
        d.replace_table("events", [])
    assert len(d.get_rows("events")) == 1
    assert d.get_status()["number_of_updates"] == "1"


def test_persist_without_database_is_refused() -> None:
    with pytest.raises(exceptions.DatasourceError, match="needs a database"):
        DoctorDriver("doc", "id", {"persist_data": "true"}, db=None)


def test_restored_rows_are_published_as_snapshot(file_db: Any, conf: Any,
                                                 make_node: Any) -> None:
    tabledata.store_table(file_db, "id-doc", "events", [["t", "x", "h", "down", "m", "1"]])
    node = make_node("dsnode")
    rec = Recorder("watcher")
    node.register_service(rec)
    rec.subscribe("doc", "events")
    d = DoctorDriver("doc", "id-doc", {"persist_data": "true"}, db=file_db, conf=conf)
    node.register_service(d)
    wait_until(lambda: rec.table("doc", "events"))
    assert rec.table("doc", "events") == {("t", "x", "h", "down", "m", "1")}
    assert rec.updates[0][2].is_snapshot


# --------------------------------------------------------------------------- doctor
def test_doctor_flattens_details() -> None:
    d = DoctorDriver("doc", "id", {})
    d.replace_table("events", [
        {"time": "2016-04-12T08:00:00", "type": "compute.host.down",
         "details": {"hostname": "compute1", "status": "down", "monitor": "zabbix1",
                     "monitor_event_id": "111"}},
        {"time": "2016-04-12T08:00:01", "type": "compute.host.up", "details": {}}])
    assert d.get_rows("events") == [
        ["2016-04-12T08:00:00", "compute.host.down", "compute1", "down", "zabbix1", "111"],
        ["2016-04-12T08:00:01", "compute.host.up", "None", "None", "None", "None"]]
    d.replace_table("events", [])
    assert d.get_rows("events") == []
    with pytest.raises(exceptions.BadRequest, match="event #0 must be an object"):
        d.replace_table("events", ["not an event"])
    with pytest.raises(exceptions.BadRequest, match="translator: bogus is not in"):
        d.replace_table("bogus", [])


def test_doctor_fast_rows_are_the_translators() -> None:
    """The one-pass translation of events gives what the declared translator gives."""
    from congress.datasources.drivers.doctor import EVENTS, event_rows
    from congress.datasources.translators import TranslatorSet
    events = [
        {"time": "t", "type": "x", "details": {"hostname": "h", "status": "down",
                                               "monitor": "m", "monitor_event_id": "1"}},
        {"time": 1700000000, "type": None, "details": {}},
        {"time": 2.5, "type": True, "details": None, "hostname": "top-level"},
        {"type": "y", "hostname": "top", "details": {"hostname": "details wins",
                                                     "status": None, "extra": 1}},
        {"time": ["a", 1], "type": {"k": "v"}, "details": {"monitor": False,
                                                            "monitor_event_id": 7}},
        {"time": "café", "type": "", "details": {"hostname": ""}},
        {"details": {"time": "from details"}},
        {},
        # four details, as usual, but one of them a top-level column (details wins), or a
        # top-level column missing, or a value not plain
        {"time": "t", "type": "x", "details": {"time": "d", "hostname": "h", "status": "s",
                                               "monitor": "m"}},
        {"time": "t", "details": {"hostname": "h", "status": "s", "monitor": "m",
                                  "monitor_event_id": "2"}},
        {"time": "t", "type": "x", "details": {"hostname": "h", "status": True,
                                               "monitor": None, "monitor_event_id": 3}},
        {"time": "t", "type": "x", "extra": 1, "details": {
            "hostname": "h", "status": "s", "monitor": "m", "monitor_event_id": 4.5}},
    ]
    generic = TranslatorSet([EVENTS]).translator_for("events").translate(events)["events"]
    assert event_rows(events) == generic
    d = DoctorDriver("doc", "id", {})
    d.replace_table("events", events)
    assert d.table_rows("events") == generic
    for bad, message in ([["x"], "event #0 must be an object"],
                         [[{}, {"details": ["x"]}], "'details' of doctor event #1"]):
        with pytest.raises(exceptions.BadRequest, match=message):
            d.replace_table("events", bad)
    assert d.table_rows("events") == generic


def test_doctor_event_pattern_gives_what_decoding_gives() -> None:
    """Events taken from one match of the usual layout (json_array.decode_body with the
    doctor's pattern) are what decoding and converting them gives: rows, element ends and
    errors, whatever the whitespace; anything else is decoded."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from congress.datasources import json_array
    from congress.datasources.drivers.doctor import EVENT_PATTERN, event_row

    text_values = st.text(alphabet=st.sampled_from(['a', '"', '\\', '\n', 'é', ' ', '}',
                                                    '{', ',', ':', '\x7f']), max_size=4)
    values = st.one_of(text_values, text_values, st.integers(), st.none(), st.booleans())
    keys = st.sampled_from(["hostname", "status", "monitor", "monitor_event_id", "x"])
    details = st.one_of(
        st.fixed_dictionaries({"hostname": values, "status": values, "monitor": values,
                               "monitor_event_id": values}),
        st.dictionaries(keys, values, max_size=5))
    event = st.one_of(
        st.fixed_dictionaries({"time": values, "type": values, "details": details}),
        st.fixed_dictionaries({"type": values, "time": values, "details": details}),
        st.dictionaries(st.sampled_from(["time", "type", "details", "y"]), values, max_size=3))
    layouts = st.sampled_from([{}, {"separators": (",", ":")}, {"indent": 1},
                               {"ensure_ascii": False}])

    @settings(max_examples=300, deadline=None)
    @given(st.lists(event, max_size=8), layouts, st.sampled_from(["", " ", "\n "]))
    def check(events: list[Any], layout: dict[str, Any], pad: str) -> None:
        text = pad + json.dumps(events, **layout) + pad
        try:
            plain = json_array.decode_body(text, event_row)
        except Exception as e:      # noqa: BLE001 (the same error either way)
            with pytest.raises(type(e), match=None) as got:
                json_array.decode_body(text, event_row, pattern=EVENT_PATTERN)
            assert str(got.value) == str(e)
            return
        fast = json_array.decode_body(text, event_row, pattern=EVENT_PATTERN)
        assert fast.values == plain.values
        assert list(fast.ends) == list(plain.ends)

    check()
    # a big usual body is taken by matches, and the rows are the decoded ones
    events = _events(300)
    text = json.dumps(events)
    converted = []
    body = json_array.decode_body(text, lambda i, e: converted.append(i) or event_row(i, e),
                                  pattern=EVENT_PATTERN)
    assert body.values == [event_row(i, e) for i, e in enumerate(events)]
    assert converted == []          # not one of them decoded
    for bad in (text[:-1], text.replace('"t7"', '"t7\x01"'), text.replace(', {', ' {', 1)):
        with pytest.raises(json_array.InvalidJson) as got:
            json_array.decode_body(bad, event_row, pattern=EVENT_PATTERN)
        with pytest.raises(ValueError) as expected:
            json.loads(bad)
        assert str(got.value) == str(expected.value)


def _events(n: int) -> list[dict[str, Any]]:
    return [{"time": f"t{i}", "type": "compute.host.down",
             "details": {"hostname": f"h{i % 7}", "status": "down" if i % 3 else "up",
                         "monitor": f"m{i % 2}", "monitor_event_id": str(i)}}
            for i in range(n)]


def test_doctor_rows_pushed_as_text_are_the_decoded_ones(file_db: Any) -> None:
    """PUT bodies go to the driver as text (replace_table_json): the rows are those of the
    decoded events, a body that changes a few events reuses the others' rows, and what is
    stored (a journal of changes) restores the same table."""
    import json
    d = DoctorDriver("doc", "id-doc", {"persist_data": True}, db=file_db)
    events = _events(3000)
    d.replace_table_json("events", json.dumps(events))
    expected = DoctorDriver("x", "x", {})
    expected.replace_table("events", events)
    assert d.table_rows("events") == expected.table_rows("events")
    held = {r[5]: r for r in d.table_rows("events")}
    changed = [dict(e) for e in events]
    changed[5] = {**events[5], "details": {**events[5]["details"], "status": "recovered"}}
    del changed[9]
    changed.append({"time": "new", "details": {"hostname": "h-new"}})
    d.replace_table_json("events", json.dumps(changed))
    expected.replace_table("events", changed)
    assert d.table_rows("events") == expected.table_rows("events")
    # the rows of unchanged events are the ones held before (not decoded again)
    assert all(r is held[r[5]] for r in d.table_rows("events") if r[5] not in ("5", "None"))
    assert _journal_rows(file_db, "id-doc", "events") == [0, 4]
    restarted = DoctorDriver("doc", "id-doc", {"persist_data": True}, db=file_db)
    assert restarted.table_rows("events") == expected.table_rows("events")
    # a restarted driver knows no texts yet: everything is decoded, with the same rows
    restarted.replace_table_json("events", json.dumps(events))
    expected.replace_table("events", events)
    assert restarted.table_rows("events") == expected.table_rows("events")


def test_doctor_text_bodies_that_are_refused_change_nothing() -> None:
    import json
    d = DoctorDriver("doc", "id", {})
    d.replace_table_json("events", json.dumps(_events(10)))
    before = d.table_rows("events")
    for body, code, message in [
            ('[{"time": 1}, {"time": ]', "invalid_json", "Failed to parse body as "
                                                         "application/json: Expecting value"),
            ('[{"time": 1}, "x"]', "bad_request", "event #1 must be an object"),
            ('[{"details": "x"}]', "bad_request", "'details' of doctor event #0"),
            ('[{"time": NaN}]', "invalid_json", "NaN is not a valid JSON value")]:
        with pytest.raises(exceptions.BadRequest, match=message) as info:
            d.replace_table_json("events", body)
        assert info.value.code == code
    assert d.table_rows("events") == before
    with pytest.raises(exceptions.BadRequest, match="translator: bogus is not in"):
        d.replace_table_json("bogus", "[]")


def test_doctor_a_refused_body_between_two_pushes_changes_nothing() -> None:
    import json
    d = DoctorDriver("doc", "id", {})
    events = _events(3000)
    text = json.dumps(events)
    d.replace_table_json("events", text)
    held = d.table_rows("events")
    bad_at = text.index("}, {", len(text) // 2) + 3
    for bad in (text[:bad_at] + "]" + text[bad_at:], text[:-1]):
        with pytest.raises(exceptions.BadRequest):
            d.replace_table_json("events", bad)
        assert d.table_rows("events") is held
    changed = [dict(e) for e in events]
    changed[1500] = {**events[1500], "details": {**events[1500]["details"], "status": "x"}}
    d.replace_table_json("events", json.dumps(changed))
    expected = DoctorDriver("x", "x", {})
    expected.replace_table("events", changed)
    assert d.table_rows("events") == expected.table_rows("events")
    # the unchanged events' rows are the ones held (the changed body was not decoded whole)
    by_id = {r[5]: r for r in held}
    assert all(r is by_id[r[5]] for r in d.table_rows("events") if r[5] != "1500")


def test_doctor_commits_a_known_change_and_checks_it_still_applies(
        file_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body decoded against the committed one hands its change to the commit; rows held
    that no longer came from that body (replaced another way, a duplicate row) make the
    commit compute the change itself, with the same result."""
    from congress.datasources.driver import PushDriver
    hints_seen = []
    real = PushDriver.commit

    def spy(self, tables, hints=None):
        if self.name == "doc":
            hints_seen.append(hints)
        return real(self, tables, hints)

    monkeypatch.setattr(PushDriver, "commit", spy)
    d = DoctorDriver("doc", "id-doc", {"persist_data": True}, db=file_db)
    expected = DoctorDriver("x", "x", {})
    events = _events(3000)

    def push(evs: list[Any]) -> None:
        d.replace_table_json("events", json.dumps(evs))
        expected.replace_table("events", evs)
        assert d.table_rows("events") == expected.table_rows("events")
        restarted = DoctorDriver("doc", "id-doc", {"persist_data": True}, db=file_db)
        assert restarted.table_rows("events") == expected.table_rows("events")

    push(events)
    events[100] = {**events[100], "time": "changed"}
    push(events)
    hint = hints_seen[-1]["events"]
    assert hint[1] == [expected_row for expected_row in expected.table_rows("events")
                       if expected_row[0] == "changed"]
    # the rows replaced another way: the hint no longer applies
    d.replace_table("events", events[:10])
    expected.replace_table("events", events[:10])
    events[200] = {**events[200], "time": "again"}
    push(events)
    # a body with an event twice (one row for two events), then one event changed
    push(events + [events[0]])
    assert hints_seen[-1] is not None
    events[300] = {**events[300], "time": "third"}
    push(events + [events[0]])
    assert hints_seen[-1] is None, "a duplicate row: the change is computed"
    push(events)


def test_doctor_pushes_from_several_threads_leave_a_consistent_driver() -> None:
    import threading
    d = DoctorDriver("doc", "id", {})
    base = _events(2000)
    bodies = []
    for k in range(4):
        evs = [dict(e) for e in base]
        evs[500 * k] = {**evs[500 * k], "time": f"thread{k}"}
        bodies.append(json.dumps(evs))
    errors = []

    def pusher(text: str) -> None:
        try:
            for _ in range(5):
                d.replace_table_json("events", text)
        except Exception as e:      # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=pusher, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for text in bodies + [json.dumps(base)]:
        d.replace_table_json("events", text)
        expected = DoctorDriver("x", "x", {})
        expected.replace_table("events", json.loads(text))
        assert d.table_rows("events") == expected.table_rows("events")


def test_text_bodies_for_other_push_drivers() -> None:
    d = PushDataDriver("p", "id-p", {"description": "d"})
    d.replace_table_json("data", '[["a", 1], ["b", 2]]')
    assert d.get_rows("data") == [["a", 1], ["b", 2]]
    with pytest.raises(exceptions.BadRequest, match="Failed to parse") as info:
        d.replace_table_json("data", '[["a", 1]')
    assert info.value.code == "invalid_json"


# --------------------------------------------------------------------------- vitrage
def vitrage_alarm(vid: str, state: str = "Active", ts: str = "2024-03-08T10:00:00Z") -> dict:
    return {"notification": "vitrage.alarm.activate", "payload": {
        "vitrage_id": vid, "name": "Host down", "state": state,
        "vitrage_type": "zabbix", "vitrage_operational_severity": "CRITICAL",
        "update_timestamp": ts,
        "resource": {"name": "compute-1", "id": "host-1", "vitrage_id": "r-1",
                     "project_id": None, "vitrage_operational_state": "ERROR",
                     "vitrage_type": "nova.host"}}}


def test_vitrage_webhook_replaces_by_vitrage_id() -> None:
    d = VitrageDriver("vit", "id", {})
    d.webhook(vitrage_alarm("a1"))
    d.webhook(vitrage_alarm("a2"))
    d.webhook(vitrage_alarm("a1", state="Inactive"))
    rows = {r[4]: r for r in d.table_rows("alarms")}
    assert set(rows) == {"a1", "a2"}
    a1 = rows["a1"]
    assert a1[:6] == ("Host down", "Inactive", "zabbix", "CRITICAL", "a1",
                      "2024-03-08T10:00:00Z")
    assert a1[7:] == ("compute-1", "host-1", "r-1", "None", "ERROR", "nova.host")
    datetime.datetime.strptime(a1[6], "%Y-%m-%dT%H:%M:%SZ")   # receive_timestamp


@pytest.mark.parametrize("body,missing", [
    ({"payload": {"name": "x", "resource": {}}}, "payload.vitrage_id"),
    ({"payload": {"vitrage_id": "x"}}, "payload.resource"),
    ({"payload": {}}, "payload.vitrage_id, payload.resource"),
])
def test_vitrage_webhook_unknown_shape(body: dict, missing: str) -> None:
    d = VitrageDriver("vit", "id", {})
    with pytest.raises(exceptions.BadRequest) as e:
        d.webhook(body)
    assert e.value.message == f"Vitrage alarm notification is missing: {missing}"
    with pytest.raises(exceptions.BadRequest, match="'payload' object"):
        d.webhook(["not", "an", "object"])


def test_vitrage_expiry_publishes_and_persists(file_db: Any, conf: Any,
                                               make_node: Any) -> None:
    node = make_node("dsnode")
    rec = Recorder("watcher")
    node.register_service(rec)
    rec.subscribe("vit", "alarms")
    d = VitrageDriver("vit", "id-vit", {"hours_to_keep_alarm": "1", "persist_data": "true"},
                      db=file_db, conf=conf)
    node.register_service(d)
    d.webhook(vitrage_alarm("old", ts="2024-03-08T08:00:00Z"))
    d.webhook(vitrage_alarm("new", ts="2024-03-08 09:30:00.123456+00:00"))
    wait_until(lambda: rec.table("vit", "alarms") and len(rec.table("vit", "alarms")) == 2)
    assert d.cleanup_interval == 360.0
    removed = d.expire(now=datetime.datetime(2024, 3, 8, 10, 0, tzinfo=UTC))
    assert removed == 1
    wait_until(lambda: len(rec.table("vit", "alarms")) == 1)
    assert {r[4] for r in rec.table("vit", "alarms")} == {"new"}
    assert [r[4] for r in tabledata.get_table(file_db, "id-vit", "alarms")] == ["new"]


# --------------------------------------------------------------------------- monasca
def monasca_alarm(alarm_id: str, ts: Any = 1709890000, state: str = "ALARM",
                  host: str = "h1") -> dict:
    return {"alarm_id": alarm_id, "alarm_definition_id": "def-1", "alarm_name": "cpu high",
            "alarm_description": "", "alarm_timestamp": ts, "state": state,
            "old_state": "OK", "message": "Thresholds were exceeded", "tenant_id": "t1",
            "metrics": [{"id": None, "name": "cpu.idle_perc",
                         "dimensions": {"hostname": host, "service": "monitoring"}}]}


def test_monasca_webhook_replaces_alarm_and_its_metrics() -> None:
    d = MonascaWebhookDriver("mon", "id", {})
    d.webhook(monasca_alarm("a1", host="h1"))
    d.webhook(monasca_alarm("a2", host="h2"))
    d.webhook(monasca_alarm("a1", state="OK", host="h3"))
    notes = {r[0]: r for r in d.table_rows("alarm_notification")}
    assert notes["a1"] == ("a1", "def-1", "cpu high", "", 1709890000, "OK", "OK",
                           "Thresholds were exceeded", "t1")
    metrics = d.table_rows("alarms.metrics")
    assert {(r[0], r[2]) for r in metrics} == {("a1", "cpu.idle_perc"),
                                               ("a2", "cpu.idle_perc")}
    dims = d.table_rows("alarms.metrics.dimensions")
    # the dimension set of a1's first notification (h1) is gone with it
    assert {v for (_i, k, v) in dims if k == "hostname"} == {"h2", "h3"}
    dim_ids = {r[3] for r in metrics}
    assert {r[0] for r in dims} == dim_ids


def test_monasca_webhook_bad_shape() -> None:
    d = MonascaWebhookDriver("mon", "id", {})
    with pytest.raises(exceptions.BadRequest) as e:
        d.webhook({"state": "ALARM"})
    assert e.value.message == "Monasca alarm notification is missing: alarm_id"
    with pytest.raises(exceptions.BadRequest, match="metrics"):
        d.webhook({"alarm_id": "x", "metrics": "cpu"})


def test_monasca_expiry() -> None:
    d = MonascaWebhookDriver("mon", "id", {"hours_to_keep_alarm": 2})
    now = datetime.datetime(2024, 3, 8, 12, 0, tzinfo=UTC)
    d.webhook(monasca_alarm("old", ts=int((now - datetime.timedelta(hours=3)).timestamp())))
    d.webhook(monasca_alarm("new", ts=int((now - datetime.timedelta(hours=1)).timestamp()
                                          * 1000), host="h9"))     # milliseconds
    assert d.expire(now=now) == 1
    assert {r[0] for r in d.table_rows("alarm_notification")} == {"new"}
    assert {r[0] for r in d.table_rows("alarms.metrics")} == {"new"}
    assert {r[2] for r in d.table_rows("alarms.metrics.dimensions")} >= {"h9"}
    assert "h1" not in {r[2] for r in d.table_rows("alarms.metrics.dimensions")}


def test_a_big_push_freezes_what_it_leaves_and_a_small_one_does_not() -> None:
    from congress import gcpause
    gc.collect()
    gc.unfreeze()
    try:
        d = PushDataDriver("p", "id-p", {"description": "d"})
        d.replace_table("data", [["a", i] for i in range(100)])
        assert gc.get_freeze_count() == 0
        d.replace_table("data", [["a", i] for i in range(2 * gcpause.FREEZE_AFTER)])
        assert gc.get_freeze_count() > 0
        assert len(d.get_rows("data")) == 2 * gcpause.FREEZE_AFTER
    finally:
        gc.unfreeze()


def test_a_whole_table_is_stored_in_the_order_pushed(file_db: Any) -> None:
    d = DoctorDriver("doc", "id-doc", {"persist_data": "true"}, db=file_db)
    events = _events(500)[::-1]
    d.replace_table_json("events", json.dumps(events))
    stored = tabledata.get_table(file_db, "id-doc", "events")
    assert [row[-1] for row in stored] == [e["details"]["monitor_event_id"] for e in events]
    # a body with an event twice is stored once per row
    d.replace_table_json("events", json.dumps(events[:2] + events[:1]))
    again = tabledata.get_table(file_db, "id-doc", "events")
    assert sorted(row[-1] for row in again) == ["498", "499"]
