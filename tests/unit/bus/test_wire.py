"""Pieces without nodes: topic names, error envelopes, data messages, heartbeat parsing."""

from __future__ import annotations

import pytest

from congress import exceptions
from congress.bus import transport as tp
from congress.bus.errors import error_from_wire, error_to_wire
from congress.bus.membership import peer_from_heartbeat
from congress.bus.pubsub import DataMsg
from congress.bus.service import TableUpdate


@pytest.mark.parametrize("url,expected", [
    (None, True), ("", True), ("inprocess://", True), ("fake:/", True),
    ("rabbit://guest:guest@127.0.0.1:5672/", False)])
def test_inprocess_urls(url, expected):
    assert tp.is_inprocess(url) is expected


def test_topics_carry_the_bus_id_and_are_safe():
    assert tp.control_topic("bus") == "congress-control-bus"
    assert tp.service_topic("nova", "bus") == "congress-service-nova-bus"
    assert tp.service_topic("a.b#*", "x y") == "congress-service-a~2eb~23~2a-x~20y"
    names = ["a.b", "a~2eb", "a-b", "a_b", "ä", "a b"]
    assert len({tp.topic_part(n) for n in names}) == len(names)
    for name in names:
        assert set(tp.topic_part(name)) <= set("abcdefghijklmnopqrstuvwxyz0123456789~_-")


def test_error_roundtrip_keeps_class_and_fields():
    exc = exceptions.RuleExistsError("Rule already exists", position=(2, 5), data=[1])
    back = error_from_wire(tp.wire_copy(error_to_wire(exc)), "svc")
    assert type(back) is exceptions.RuleExistsError
    assert (back.message, back.code, back.http_status, back.position, back.data) == (
        "Rule already exists", "rule_already_exists", 409, (2, 5), [1])
    assert back.api_name == "rule_already_exists"


def test_error_roundtrip_unknown_and_foreign_classes():
    data = error_to_wire(exceptions.CongressError("x"))
    data["cls"] = "NoSuchClass"
    assert type(error_from_wire(data, "s")) is exceptions.CongressError
    data["module"], data["cls"] = "os", "error"          # outside congress: not imported
    assert type(error_from_wire(data, "s")) is exceptions.CongressError
    foreign = error_from_wire(error_to_wire(KeyError("k")), "s")
    assert foreign.code == "remote_error" and "KeyError" in foreign.message


def test_unjsonable_error_data_is_dropped():
    exc = exceptions.BadRequest("b", data=object())
    assert error_to_wire(exc)["data"] is None


def test_data_message_wire_roundtrip():
    update = TableUpdate(False, None, frozenset({(1, "a", 2.5)}), frozenset({("b",)}), 7, "inc")
    msg = DataMsg("pub", "t", "n1", "i1", update)
    back = DataMsg.from_wire(tp.wire_copy(msg.to_wire()))
    assert back == msg
    snap = DataMsg("pub", "t", "n1", "i1",
                   TableUpdate(True, frozenset({(1,)}), frozenset(), frozenset(), 0, "inc"))
    assert DataMsg.from_wire(tp.wire_copy(snap.to_wire())) == snap


def test_peer_from_heartbeat():
    peer = peer_from_heartbeat({
        "node_id": "n", "instance": "i", "services": {"a": {"r": 1}, "b": None},
        "subs": {"pub": ["t1", "t2"]}, "pubs": {"a": ["inc", {"t": 3}]}}, 5.0)
    assert peer.services == {"a", "b"} and peer.service_info == {"a": {"r": 1}, "b": {}}
    assert peer.subscriptions == {"pub": {"t1", "t2"}}
    assert peer.advertised("a", "t") == ("inc", 3)
    assert peer.advertised("a", "other") == ("inc", -1)
    assert peer.advertised("b", "t") is None
