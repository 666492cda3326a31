"""The bus on a real RabbitMQ, with nodes in separate processes."""

from __future__ import annotations

import threading
import time

import pytest

from congress import exceptions
from congress.bus import Service, TableUpdate

from .conftest import FAST, rabbitmqctl, wait_for_port, wait_until

pytestmark = pytest.mark.functional


class Recorder(Service):
    def __init__(self, service_id: str = "sub") -> None:
        super().__init__(service_id)
        self.tables: dict[tuple[str, str], frozenset] = {}
        self.updates: list[tuple[str, str, TableUpdate]] = []
        self.lock = threading.Lock()

    def receive_data(self, publisher_id: str, table: str, update: TableUpdate) -> None:
        with self.lock:
            key = (publisher_id, table)
            self.tables[key] = update.apply_to(self.tables.get(key, frozenset()))
            self.updates.append((publisher_id, table, update))

    def table(self, publisher_id: str, table: str) -> frozenset | None:
        with self.lock:
            return self.tables.get((publisher_id, table))

    def seqnums(self, table: str) -> list[tuple[bool, int]]:
        with self.lock:
            return [(u.is_snapshot, u.seqnum) for _, t, u in self.updates if t == table]


def contiguous_since_last_snapshot(seqnums: list[tuple[bool, int]]) -> bool:
    last = None
    for is_snapshot, seq in seqnums:
        if is_snapshot:
            last = seq
        elif last is None or seq != last + 1:
            return False
        else:
            last = seq
    return True


def test_rpc_across_processes(spawn, make_node):
    spawn("p1", ["echo"])
    spawn("p2", ["echo"])
    me = make_node("me")
    wait_until(lambda: me.nodes_for("echo") == ["p1", "p2"])
    assert me.call("echo", "echo", value={"t": (1, "a", 2.5)}) == {"t": [1, "a", 2.5]}
    assert me.call("echo", "where", node_id="p2") == "p2"
    assert {me.call("echo", "where") for _ in range(20)} == {"p1", "p2"}   # both serve
    assert me.call("echo", "caller") == ["me", me.instance]

    with pytest.raises(exceptions.PolicyNotFound) as info:
        me.call("echo", "fail", message="no such policy")
    assert (info.value.message, info.value.code, info.value.position) == (
        "no such policy", "policy_not_found", (1, 2))
    assert "Traceback" not in str(info.value)
    with pytest.raises(exceptions.BadRequest, match="^Method nope not supported for service "
                                                    "echo$"):
        me.call("echo", "nope")
    start = time.monotonic()
    with pytest.raises(exceptions.ServiceNotFound, match="service 'ghost' could not be found"):
        me.call("ghost", "x")
    assert time.monotonic() - start < FAST["ping_timeout"] + 1.0
    with pytest.raises(exceptions.RpcTimeout, match="Request to service 'echo' timed out"):
        me.call("echo", "slow", seconds=2, timeout=0.5, node_id="p1")

    me.broadcast("echo", "record", value="all")
    me.cast("echo", "record", node_id="p2", value="one")
    wait_until(lambda: me.call("echo", "records", node_id="p2") == [["all", "me"],
                                                                   ["one", "me"]])
    assert me.call("echo", "records", node_id="p1") == [["all", "me"]]


def test_pubsub_across_processes_with_a_large_table(spawn, make_node):
    spawn("pubnode", ["pub"])
    me = make_node("me")
    early = Recorder("early")
    me.register_service(early)
    early.subscribe("pub", "big")
    wait_until(lambda: early.table("pub", "big") == frozenset())        # empty snapshot
    n = 200_000
    assert me.call("pub", "publish_range", table="big", start=0, count=n) == {"seq": 1}
    wait_until(lambda: len(early.table("pub", "big")) == n, timeout=30)  # one big delta
    assert (0, "name-0", 0.0) in early.table("pub", "big")

    late = Recorder("late")                                             # 200k-row snapshot
    me.register_service(late)
    late.subscribe("pub", "big")
    wait_until(lambda: late.table("pub", "big") is not None, timeout=30)
    assert late.table("pub", "big") == early.table("pub", "big")
    assert late.seqnums("big") == [(True, 1)]

    me.call("pub", "publish_range", table="big", start=1, count=n)      # -row 0, +row n
    for sub in (early, late):
        wait_until(lambda sub=sub: (n, f"name-{n}", n * 0.5) in sub.table("pub", "big"),
                   timeout=10)
        assert (0, "name-0", 0.0) not in sub.table("pub", "big")
        assert len(sub.table("pub", "big")) == n
        assert contiguous_since_last_snapshot(sub.seqnums("big"))
    last = late.updates[-1][2]
    assert not last.is_snapshot and len(last.added) == 1 and len(last.removed) == 1


def test_subscriber_in_another_process(spawn, make_node):
    me = make_node("me")

    class Pub(Service):
        pass
    pub = Pub("mypub")
    me.register_service(pub)
    pub.publish("t", [(1, "a")])
    spawn("subnode", ["sub"], subscribe=[["sub", "mypub", "t"]])
    wait_until(lambda: me.call("sub", "table", publisher_id="mypub", table="t") == [[1, "a"]])
    for i in range(2, 30):
        pub.publish("t", [(i, "a")])
    wait_until(lambda: me.call("sub", "table", publisher_id="mypub", table="t") == [[29, "a"]])


def test_peer_lost_when_process_killed(spawn, make_node):
    proc = spawn("victim", ["echo"])
    me = make_node("me")
    events: list[tuple[str, str]] = []
    me.add_peer_listener(lambda event, peer: events.append((event, peer.node_id)))
    wait_until(lambda: me.nodes_for("echo") == ["victim"])
    proc.kill9()
    killed = time.monotonic()
    wait_until(lambda: "victim" not in me.peers(), timeout=FAST["heartbeat_timeout"] + 3)
    elapsed = time.monotonic() - killed
    assert FAST["heartbeat_timeout"] - FAST["heartbeat_interval"] - 0.1 <= elapsed
    assert elapsed <= FAST["heartbeat_timeout"] + 1.5
    wait_until(lambda: ("lost", "victim") in events)
    with pytest.raises(exceptions.ServiceNotFound):
        me.call("echo", "where")                  # ping fails within ping_timeout


def test_duplicate_node_id_refused(spawn, make_node, bus_id):
    spawn("dup", ["echo"])
    twin = make_node("dup", start=False)
    with pytest.raises(exceptions.DuplicateNodeError) as info:
        twin.start()
    assert "'dup'" in info.value.message and f"'{bus_id}'" in info.value.message
    other = spawn("dup", [], wait=True)           # another process with the same id
    assert other.status == "DUPLICATE" and "'dup'" in other.detail
    assert other.popen.wait(10) == 3


def test_server_queue_consumers_tell_a_live_node_at_once(spawn, make_node, bus_id):
    """The duplicate check asks the broker first: no consumer on the node's server queue
    means no live node with that id (no RPC timeout to wait for)."""
    from congress.bus import transport as tp
    spawn("alive", ["echo"])
    me = make_node("me")
    topic = tp.control_topic(bus_id)
    assert tp.server_queue_consumers(me._conf, me.transport_url, topic, "alive") == 1
    assert tp.server_queue_consumers(me._conf, me.transport_url, topic, "nobody") == 0
    assert tp.server_queue_consumers(me._conf, "inprocess://", topic, "alive") is None


def test_two_bus_ids_are_isolated(spawn, make_node, bus_id):
    spawn("same", ["echo"], bus=bus_id + "-other")
    here = make_node("same")                      # same node id, other bus: allowed
    there = make_node("watcher", bus_id=bus_id + "-other")
    wait_until(lambda: there.nodes_for("echo") == ["same"])
    time.sleep(0.5)
    assert here.peers() == {} and set(there.peers()) == {"same"}
    with pytest.raises(exceptions.ServiceNotFound):
        here.call("echo", "where")
    here.broadcast("echo", "record", value="x")
    time.sleep(0.3)
    assert there.call("echo", "records") == []


def test_rabbitmq_restart_recovery(spawn, make_node):
    proc = spawn("pubnode", ["pub", "echo"])
    me = make_node("me")
    sub = Recorder("sub")
    me.register_service(sub)
    sub.subscribe("pub", "tick")
    wait_until(lambda: me.nodes_for("pub") == ["pubnode"])
    me.call("pub", "start_ticker", table="tick", interval=0.1)
    wait_until(lambda: (sub.table("pub", "tick") or {(0,)}) != {(0,)} and
               next(iter(sub.table("pub", "tick")))[0] >= 3)
    try:
        rabbitmqctl("stop_app")
        stopped = time.monotonic()
        time.sleep(1.0)
        before = next(iter(sub.table("pub", "tick")))[0]
    finally:
        rabbitmqctl("start_app")
        assert wait_for_port(60)
    outage = time.monotonic() - stopped
    # Reconnects by itself, heartbeats resume, the ticker's lost updates are resynced.
    wait_until(lambda: "pubnode" in me.peers(), timeout=30)
    wait_until(lambda: next(iter(sub.table("pub", "tick")))[0] > before + 5, timeout=30)
    # RPC comes back too, once the serving node has declared its queues on the restarted broker
    # again (a request sent before that finds no queue and is lost: the caller retries).
    assert wait_until(lambda: _call_or_none(me, "echo", "where"), timeout=60) == "pubnode"
    last = wait_until(lambda: _call_or_none(me, "pub", "stop_ticker"), timeout=30)
    wait_until(lambda: sub.table("pub", "tick") == {(last,)}, timeout=15)
    seqnums = sub.seqnums("tick")
    assert contiguous_since_last_snapshot(seqnums)
    assert [s for s in seqnums if s[0]][1:], "expected a resync snapshot after the outage"
    assert proc.popen.poll() is None and outage < 30


def _call_or_none(node, service_id, method):
    """The answer of one call with a short timeout, or None if it timed out."""
    try:
        return node.call(service_id, method, timeout=5)
    except exceptions.RpcTimeout:
        return None
