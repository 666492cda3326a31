"""Calls with a deadline (API requests): fail fast for dead or departed services, bounded
waits, bounded concurrency per service (congress.bus.availability)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from congress import exceptions
from congress.bus import availability as av
from congress.bus.membership import Peer
from tests.unit.bus.conftest import wait_until
from tests.unit.bus.test_rpc import Echo


@contextmanager
def deadline(seconds: float):
    av.set_deadline(time.monotonic() + seconds)
    try:
        yield
    finally:
        av.set_deadline(None)


def crash(node) -> None:
    """Heartbeats stop without a goodbye (kill -9 as the others see it); requests still
    reach the node's services, which therefore look like they hang."""
    node._stop_event.set()
    node._wake.set()


@pytest.fixture
def pair(make_node):
    a = make_node("a", heartbeat_interval=0.1, heartbeat_timeout=3.0)
    b = make_node("b", heartbeat_interval=0.1, heartbeat_timeout=3.0,
                  max_calls_per_service=2)
    a.register_service(Echo())
    wait_until(lambda: b.nodes_for("echo") == ["a"])
    return a, b


def test_suspect_after_is_a_few_heartbeats_never_past_the_timeout() -> None:
    assert av.suspect_after(0.5, 3.0) == 1.5
    assert av.suspect_after(1.0, 5.0) == 3.0
    assert av.suspect_after(0.1, 0.6) == 0.6


def test_waiting_call_gives_up_when_the_node_goes_silent(pair) -> None:
    a, b = pair
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with deadline(20):
                b.call("echo", "slow", seconds=4, timeout=60)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.3)
    crashed = time.monotonic()
    crash(a)
    thread.join(10)
    elapsed = time.monotonic() - crashed
    assert len(errors) == 1 and isinstance(errors[0], av.ServiceDown), errors
    assert errors[0].http_status == 503 and errors[0].retry_after > 0
    assert "Service 'echo' is unavailable: node a has not been heard from" in str(errors[0])
    # suspect after max(3 x 0.1, 0.1 + 1) = 1.1 s of silence, long before the 4 s answer
    assert elapsed < 2.5, elapsed
    # new calls with a deadline fail at once; the service is listed as unavailable
    started = time.monotonic()
    with deadline(20), pytest.raises(av.ServiceDown):
        b.call("echo", "where")
    assert time.monotonic() - started < 0.1
    assert "echo" in b.unavailable_services()


def test_departed_service_is_503_at_once_not_404_after_a_ping(make_node, pair) -> None:
    a, b = pair
    assert b.unavailable_services() == {}
    a.stop()                                        # goodbye: forgotten at once
    wait_until(lambda: "a" not in b.peers())
    started = time.monotonic()
    with deadline(20), pytest.raises(av.ServiceDown) as err:
        b.call("echo", "where")
    assert time.monotonic() - started < 0.1
    assert "Service 'echo' is unavailable: its node a left the bus" in str(err.value)
    assert set(b.unavailable_services()) == {"echo"}
    with pytest.raises(exceptions.ServiceNotFound):  # no deadline: as before
        b.call("echo", "where")
    # another node hosting it: available again
    c = make_node("c", heartbeat_interval=0.1, heartbeat_timeout=3.0)
    c.register_service(Echo())
    wait_until(lambda: b.nodes_for("echo") == ["c"])
    with deadline(20):
        assert b.call("echo", "where") == "c"
    assert b.unavailable_services() == {}


def test_deadline_bounds_the_wait(pair) -> None:
    _, b = pair
    started = time.monotonic()
    with deadline(0.4), pytest.raises(exceptions.RpcTimeout):
        b.call("echo", "slow", seconds=3, timeout=60)
    assert time.monotonic() - started < 1.0
    with deadline(5):
        assert b.call("echo", "echo", value=1) == {"value": 1, "other": None}


def test_calls_waiting_for_one_service_are_bounded(pair) -> None:
    _, b = pair
    b._limiter = av.CallLimiter(2, max_waiters=1)      # 2 slots for echo, and 1 waiter
    results: list[object] = []

    def call(method: str, **kwargs) -> None:
        with deadline(20):
            results.append(b.call("echo", method, **kwargs))

    holders = [threading.Thread(target=call, args=("slow",), kwargs={"seconds": 1.0})
               for _ in range(2)]
    for t in holders:
        t.start()
    wait_until(lambda: b._limiter.inflight().get("echo") == 2)
    waiter = threading.Thread(target=call, args=("echo",), kwargs={"value": "waited"})
    waiter.start()
    wait_until(lambda: b._limiter._waiting.get("echo") == 1)
    started = time.monotonic()
    with deadline(20), pytest.raises(av.ServiceDown) as err:
        b.call("echo", "echo", value=1)
    assert time.monotonic() - started < 0.1          # slots and waiting places taken
    assert "2 requests are already waiting" in str(err.value)
    # calls without a deadline are not limited
    assert b.call("echo", "echo", value=2) == {"value": 2, "other": None}
    for t in holders + [waiter]:
        t.join(5)
    assert sorted(map(str, results)) == sorted(
        ["done", "done", str({"value": "waited", "other": None})])
    wait_until(lambda: b._limiter.inflight() == {})
    with deadline(20):
        assert b.call("echo", "echo", value=3) == {"value": 3, "other": None}


def test_waiters_give_up_when_the_service_goes_silent(pair) -> None:
    a, b = pair
    b._limiter = av.CallLimiter(2, max_waiters=1)
    errors: list[BaseException] = []

    def call(method: str, **kwargs) -> None:
        try:
            with deadline(20):
                b.call("echo", method, **kwargs)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=call, args=("slow",), kwargs={"seconds": 3})
               for _ in range(2)]
    threads.append(threading.Thread(target=call, args=("echo",), kwargs={"value": 1}))
    for t in threads:
        t.start()
        time.sleep(0.05)
    wait_until(lambda: b._limiter._waiting.get("echo") == 1)
    crash(a)
    started = time.monotonic()
    for t in threads:
        t.join(10)
    assert time.monotonic() - started < 2.5
    assert len(errors) == 3 and all(isinstance(e, av.ServiceDown) for e in errors), errors


def test_problem_of_a_named_node_only() -> None:
    now = 100.0
    peers = {"x": Peer("x", "i1", frozenset({"s"}), {}, now - 10),
             "y": Peer("y", "i2", frozenset({"s"}), {}, now)}
    availability = av.Availability(1.0)
    assert availability.problem("s", peers, False, now) is None
    assert "node x has not been heard from for 10.0 s" in availability.problem(
        "s", peers, False, now, node_id="x")
    assert availability.problem("s", peers, True, now, node_id="x") is None   # local
    assert availability.unavailable(peers, [], now) == {}
    availability.lost(peers.pop("y"), now)
    assert set(availability.unavailable(peers, [], now)) == {"s"}
