"""RPC over the in-process transport: call, cast, broadcast, local calls, errors, caller."""

from __future__ import annotations

import threading
import time

import pytest

from congress import exceptions
from congress.bus import Node, Service, current_caller

from .conftest import wait_until


class Echo(Service):
    rpc_methods = frozenset({"echo", "where", "caller", "fail", "crash", "slow", "record",
                             "invalid", "identity"})

    def __init__(self, service_id: str = "echo") -> None:
        super().__init__(service_id)
        self.records: list[tuple[object, str | None]] = []
        self.recorded = threading.Event()

    def echo(self, value, other=None):
        return {"value": value, "other": other}

    def identity(self, obj):
        return obj

    def where(self):
        return self.node.node_id

    def caller(self):
        ctx = current_caller()
        return None if ctx is None else [ctx.node_id, ctx.instance]

    def fail(self, kind="policy"):
        if kind == "policy":
            raise exceptions.PolicyNotFound("Policy 'x' does not exist", position=(3, 4))
        if kind == "code":
            raise exceptions.BadRequest("bad thing", code="very_bad", data={"k": [1, 2]})
        if kind == "many":
            raise exceptions.PolicyValidationError([
                exceptions.ParseError("first", position=(1, 2)),
                exceptions.SafetyError("second")])
        raise AssertionError("unknown kind")

    def crash(self):
        raise ValueError("secret internals")

    def slow(self, seconds):
        time.sleep(seconds)
        return "done"

    def record(self, value):
        ctx = current_caller()
        self.records.append((value, ctx.node_id if ctx else None))
        self.recorded.set()

    def _private(self):
        return "no"

    def not_exposed(self):
        return "no"


@pytest.fixture
def pair(make_node):
    a = make_node("a")
    b = make_node("b")
    echo = Echo()
    a.register_service(echo)
    wait_until(lambda: b.nodes_for("echo") == ["a"])
    return a, b, echo


def test_remote_call_roundtrip_is_json(pair):
    a, b, _ = pair
    assert b.call("echo", "echo", value=(1, "x", 2.5), other={"k": (1,)}) == {
        "value": [1, "x", 2.5], "other": {"k": [1]}}
    assert b.call("echo", "where") == "a"


def test_local_call_is_direct(pair):
    a, _, echo = pair
    obj = object()
    assert a.call("echo", "identity", obj=obj) is obj          # no serialization
    assert a.call("echo", "caller") == ["a", a.instance]
    assert current_caller() is None


def test_prefer_local_false_goes_over_the_bus(pair):
    a, _, _ = pair
    assert a.call("echo", "echo", value=(1, 2), prefer_local=False)["value"] == [1, 2]


def test_call_specific_node(make_node):
    a, b, c = make_node("a"), make_node("b"), make_node("c")
    a.register_service(Echo())
    b.register_service(Echo())
    wait_until(lambda: c.nodes_for("echo") == ["a", "b"])
    assert {c.call("echo", "where", node_id="a"), c.call("echo", "where", node_id="b")} == {
        "a", "b"}
    assert a.call("echo", "where", node_id="b") == "b"
    assert a.call("echo", "where") == "a"                     # local preferred
    assert {c.call("echo", "where") for _ in range(10)} <= {"a", "b"}
    with pytest.raises(exceptions.ServiceNotFound):
        c.call("echo", "where", node_id="c")                  # c itself does not host it


def test_current_caller_remote(pair):
    a, b, _ = pair
    assert b.call("echo", "caller") == ["b", b.instance]


def test_congress_errors_cross_the_bus(pair):
    _, b, _ = pair
    with pytest.raises(exceptions.PolicyNotFound) as info:
        b.call("echo", "fail", kind="policy")
    exc = info.value
    assert type(exc) is exceptions.PolicyNotFound
    assert str(exc) == exc.message == "Policy 'x' does not exist"
    assert (exc.code, exc.http_status, exc.position) == ("policy_not_found", 404, (3, 4))

    with pytest.raises(exceptions.BadRequest) as info:
        b.call("echo", "fail", kind="code")
    assert (info.value.code, info.value.data) == ("very_bad", {"k": [1, 2]})

    with pytest.raises(exceptions.PolicyValidationError) as info:
        b.call("echo", "fail", kind="many")
    assert info.value.message == "first;second"
    assert [type(e) for e in info.value.errors] == [exceptions.ParseError,
                                                     exceptions.SafetyError]
    assert info.value.errors[0].position == (1, 2)


def test_local_errors_are_the_same_objects(pair):
    a, _, _ = pair
    with pytest.raises(exceptions.PolicyNotFound):
        a.call("echo", "fail", kind="policy")


def test_unexpected_errors_become_congress_errors(pair):
    _, b, _ = pair
    with pytest.raises(exceptions.CongressError) as info:
        b.call("echo", "crash")
    assert type(info.value) is exceptions.CongressError
    assert info.value.code == "remote_error"
    assert info.value.http_status == 500
    assert "ValueError: secret internals" in info.value.message
    assert "Traceback" not in info.value.message


@pytest.mark.parametrize("method", ["nope", "_private", "not_exposed", "__init__"])
def test_unknown_method(pair, method):
    a, b, _ = pair
    for node in (a, b):
        with pytest.raises(exceptions.BadRequest) as info:
            node.call("echo", method)
        assert info.value.message == f"Method {method} not supported for service echo"


def test_bad_arguments(pair):
    _, b, _ = pair
    with pytest.raises(exceptions.BadRequest, match="Invalid arguments for method echo"):
        b.call("echo", "echo", nonsense=1)


def test_unknown_service(pair):
    _, b, _ = pair
    start = time.monotonic()
    with pytest.raises(exceptions.ServiceNotFound) as info:
        b.call("ghost", "x")
    assert info.value.message == "service 'ghost' could not be found"
    assert info.value.http_status == 404
    assert time.monotonic() - start < 1.0      # in-process: no need to wait for a ping


def test_unknown_to_directory_but_alive_is_pinged(make_node):
    a = make_node("a", heartbeat_interval=30)
    b = make_node("b", heartbeat_interval=30)
    a.register_service(Echo())
    wait_until(lambda: "a" in b.peers() and "echo" in b.peers()["a"].services)
    with b._peers_lock:
        b._peers.clear()               # b has not heard of anybody
    assert b.call("echo", "where") == "a"
    with pytest.raises(exceptions.ServiceNotFound):
        b.call("ghost", "where")


def test_timeout(pair):
    _, b, _ = pair
    start = time.monotonic()
    with pytest.raises(exceptions.RpcTimeout) as info:
        b.call("echo", "slow", seconds=1.5, timeout=0.3)
    assert info.value.message == "Request to service 'echo' timed out"
    assert info.value.http_status == 503
    assert time.monotonic() - start < 1.2


def test_cast(pair):
    _, b, echo = pair
    b.cast("echo", "record", value=(1, 2))
    wait_until(echo.recorded.is_set)
    assert echo.records == [([1, 2], "b")]
    with pytest.raises(exceptions.ServiceNotFound):
        b.cast("ghost", "record", value=1)


def test_cast_to_node(make_node):
    a, b = make_node("a"), make_node("b")
    ea, eb = Echo(), Echo()
    a.register_service(ea)
    b.register_service(eb)
    wait_until(lambda: a.nodes_for("echo") == ["a", "b"])
    a.cast("echo", "record", node_id="b", value="x")
    wait_until(eb.recorded.is_set)
    assert eb.records == [("x", "a")] and ea.records == []


def test_broadcast_reaches_every_host_including_local(make_node):
    nodes = [make_node(n) for n in ("a", "b", "c")]
    echoes = []
    for node in nodes[:2]:
        echo = Echo()
        node.register_service(echo)
        echoes.append(echo)
    wait_until(lambda: nodes[2].nodes_for("echo") == ["a", "b"])
    nodes[0].broadcast("echo", "record", value="hi")
    for echo in echoes:
        wait_until(echo.recorded.is_set)
    assert [e.records for e in echoes] == [[("hi", "a")], [("hi", "a")]]
    nodes[2].broadcast("nobody-hosts-this", "record", value=1)   # no error


def test_not_running(make_node):
    node = make_node("solo", start=False)
    echo = Echo()
    node.register_service(echo)
    assert node.call("echo", "where") == "solo"      # local direct call works
    with pytest.raises(exceptions.ServiceUnavailable):
        node.call("other", "x")


def test_register_twice_is_a_conflict(pair):
    a, b, _ = pair
    with pytest.raises(exceptions.Conflict):
        a.register_service(Echo())
    b.register_service(Echo())       # another node may host the same service


def test_unregister(pair):
    a, b, echo = pair
    a.unregister_service("echo")
    assert echo.node is None
    wait_until(lambda: b.nodes_for("echo") == [])
    with pytest.raises(exceptions.ServiceNotFound):
        b.call("echo", "where")
    with pytest.raises(exceptions.ServiceNotFound):
        a.unregister_service("echo")


def test_stop_waits_for_requests_in_flight(pair):
    a, b, _ = pair
    result = {}

    def call():
        result["v"] = b.call("echo", "slow", seconds=0.5)
    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.2)
    a.unregister_service("echo")
    t.join()
    assert result == {"v": "done"}


def test_start_stop_start(make_node):
    node = make_node("again")
    first = node.instance
    node.stop()
    node.start()
    assert node.instance != first and node.running


def test_node_from_conf():
    from congress import config
    conf = config.new_conf()
    node = Node.from_conf(conf, "n1")
    assert node.inprocess and node.bus_id == "bus" and node.heartbeat_interval == 1.0
    assert "transport_url" not in conf          # the in-process bus leaves oslo.messaging alone
    from congress.bus import transport
    transport.register_messaging_opts(conf)     # to override an option of oslo.messaging
    conf.set_override("transport_url", "rabbit://u:p@h:5672/")
    conf.set_override("bus_id", "other", group="dse")
    conf.set_override("rpc_timeout", 7.5, group="dse")
    node = Node.from_conf(conf, "n2")
    assert not node.inprocess and node.bus_id == "other" and node.rpc_timeout == 7.5


def _rpc_workers() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("bus-rpc"))


def test_rpc_servers_reuse_idle_worker_threads(pair):
    """Sequential calls are served by the workers already there: oslo.messaging's own pool
    started a thread per message until 64 ran, for every RPC server of a node."""
    _a, b, _echo = pair
    threads_before, before = threading.active_count(), _rpc_workers()
    for i in range(50):
        assert b.call("echo", "echo", value=i)["value"] == i
    assert threading.active_count() - threads_before <= 3, threading.enumerate()
    # concurrent calls still get threads of their own
    threads = [threading.Thread(target=b.call, args=("echo", "slow"), kwargs={"seconds": 0.5})
               for _ in range(6)]
    for t in threads:
        t.start()
    wait_until(lambda: _rpc_workers() - before >= 6)
    for t in threads:
        t.join()


def test_an_error_outside_the_envelope_is_a_remote_error(pair, monkeypatch):
    """What the transport reports as the remote method's exception (it never gets past
    bus_invoke's envelope unless bus_invoke itself breaks) is a 500 naming the service."""
    from congress.bus import rpc

    def broken(self, ctxt, op, args=None):
        raise RuntimeError("endpoint broke")
    monkeypatch.setattr(rpc.ServiceEndpoint, "bus_invoke", broken)
    _a, b, _echo = pair
    with pytest.raises(exceptions.CongressError) as err:
        b.call("echo", "echo", value=1)
    assert str(err.value) == "Error in service 'echo': RuntimeError: endpoint broke"
    assert err.value.code == rpc.REMOTE_ERROR_CODE and err.value.http_status == 500
