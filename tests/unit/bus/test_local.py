"""The in-process transport (congress/bus/local.py) through congress.bus.transport: what goes
to which server, calls and their errors, queues of servers not (yet, or no longer) there."""

from __future__ import annotations

import threading
import uuid

import pytest

from congress.bus import local
from congress.bus import transport as tp


class Endpoint:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, object]] = []
        self.event = threading.Event()

    def hello(self, ctxt, who):
        self.seen.append(("hello", who))
        self.event.set()
        return {"from": self.name, "to": who, "ctxt": ctxt}

    def boom(self, ctxt):
        raise ValueError("bad value")

    def _secret(self, ctxt):
        return "no"


@pytest.fixture
def topic():
    name = f"t-{uuid.uuid4().hex[:8]}"
    yield name
    local.purge([name], "s1")
    local.purge([name], "s2")


@pytest.fixture
def servers(topic):
    started = []

    def make(name: str) -> Endpoint:
        endpoint = Endpoint(name)
        server = tp.make_server(tp.make_transport(None, None), topic, name, [endpoint])
        server.start()
        started.append(server)
        return endpoint
    yield make
    tp.stop_servers(started)


def client(topic: str, **aim):
    return tp.make_client(tp.make_transport(None, "inprocess://"), topic).prepare(**aim)


def test_a_call_reaches_the_server_named(topic, servers):
    s1, s2 = servers("s1"), servers("s2")
    assert client(topic, server="s2").call({"c": 1}, "hello", who="x") == {
        "from": "s2", "to": "x", "ctxt": {"c": 1}}
    assert s2.seen == [("hello", "x")] and s1.seen == []
    # without a server: any one of the topic
    assert client(topic).call({}, "hello", who="y")["from"] in {"s1", "s2"}


def test_a_fanout_reaches_every_server_of_the_topic(topic, servers):
    s1, s2 = servers("s1"), servers("s2")
    client(topic, fanout=True).cast({}, "hello", who="all")
    assert s1.event.wait(5) and s2.event.wait(5)
    assert s1.seen == s2.seen == [("hello", "all")]


def test_errors_of_a_call(topic, servers):
    servers("s1")
    with pytest.raises(tp.RemoteError) as err:
        client(topic, server="s1").call({}, "boom")
    assert (err.value.exc_type, err.value.value) == ("ValueError", "bad value")
    for method in ("_secret", "nothing"):
        with pytest.raises(tp.RemoteError, match="no RPC method"):
            client(topic, server="s1").call({}, method)
    # nobody listens as s2: the call waits its timeout
    with pytest.raises(tp.MessagingTimeout):
        client(topic, server="s2", timeout=0.2).call({}, "hello", who="z")
    assert issubclass(tp.MessagingTimeout, tp.MessagingException)


def test_a_message_waits_for_its_server_until_purged(topic, servers):
    client(topic, server="s1").cast({}, "hello", who="early")
    s1 = servers("s1")
    assert s1.event.wait(5) and s1.seen == [("hello", "early")]
    client(topic, server="s2").cast({}, "hello", who="lost")
    local.purge([topic], "s2")                 # s2 left for good
    s2 = servers("s2")
    assert client(topic, server="s2").call({}, "hello", who="now")["from"] == "s2"
    assert s2.seen == [("hello", "now")]


def test_a_stopped_server_takes_no_more_messages(topic, servers):
    endpoint = Endpoint("s1")
    server = tp.make_server(tp.make_transport(None, None), topic, "s1", [endpoint])
    server.start()
    assert client(topic, server="s1").call({}, "hello", who="a")["to"] == "a"
    tp.stop_servers([server])
    with pytest.raises(tp.MessagingTimeout):
        client(topic, server="s1", timeout=0.2).call({}, "hello", who="b")
    assert endpoint.seen == [("hello", "a")]


def test_oslo_messaging_errors_become_the_bus_errors():
    om = tp.oslo()
    timeout = tp._translated(om.MessagingTimeout("late"))
    assert type(timeout) is tp.MessagingTimeout and str(timeout) == "late"
    remote = tp._translated(om.RemoteError("KeyError", "'x'", ["tb"]))
    assert type(remote) is tp.RemoteError and (remote.exc_type, remote.value) == (
        "KeyError", "'x'")
    other = tp._translated(om.MessageDeliveryFailure("no route"))
    assert type(other) is tp.MessagingException
    plain = ValueError("not a messaging error")
    assert tp._translated(plain) is plain


def test_the_oslo_client_wrapper_leaves_other_errors_as_they_are():
    class Broken:
        def call(self, ctxt, method, **kwargs):
            raise ValueError("not a messaging error")

    with pytest.raises(ValueError) as err:
        tp._Client(Broken()).call({}, "m")
    assert err.value.__cause__ is None
