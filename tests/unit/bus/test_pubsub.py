"""Table publish/subscribe with sequence numbers on the in-process transport."""

from __future__ import annotations

import threading
import time

from congress.bus import ResyncWanted, Service, TableUpdate
from congress.bus.pubsub import DataMsg, Subscriptions

from .conftest import FAST, Recorder, wait_until


class Publisher(Service):
    rpc_methods = frozenset({"put"})

    def __init__(self, service_id: str = "pub") -> None:
        super().__init__(service_id)
        self.hooks: list[tuple[str, str]] = []

    def put(self, table, rows):
        self.publish(table, rows)

    def on_first_subscriber(self, table):
        self.hooks.append(("first", table))

    def on_no_subscribers(self, table):
        self.hooks.append(("none", table))


def rows(*values):
    return frozenset((v,) for v in values)


def contiguous(seqnums: list[tuple[bool, int]]) -> bool:
    """After each snapshot, deltas follow one by one."""
    last = None
    for is_snapshot, seq in seqnums:
        if is_snapshot:
            last = seq
        elif last is None or seq != last + 1:
            return False
        else:
            last = seq
    return True


def test_update_shapes():
    snap = TableUpdate(True, rows(1, 2), frozenset(), frozenset(), 0, "i")
    delta = TableUpdate(False, None, rows(3), rows(1), 1, "i")
    assert delta.apply_to(snap.apply_to(())) == rows(2, 3)


def test_publish_diffs_and_numbers():
    pub = Publisher()
    pub.publish("t", [(1,), [2]])
    assert pub.get_snapshot("t") == rows(1, 2)           # lists became tuples
    pub.publish("t", [(1,), (2,)])                         # unchanged: no new seqnum
    assert pub.published_tables() == {"t": 0}
    pub.publish("t", [(2,), (3,)])
    assert pub.published_tables() == {"t": 1}


def test_publish_with_a_known_change(make_node):
    """A publisher that says how the rows came from the ones it published last sends that
    change; one whose base is not what was published, or not frozensets of tuples, gets the
    change computed."""
    a = make_node("a")
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    a.register_service(sub)
    first = rows(1, 2, 3)
    pub.publish("t", first)
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == {(1,), (2,), (3,)})
    second = rows(1, 3, 4)
    pub.publish("t", second, (first, rows(4), rows(2)))
    wait_until(lambda: sub.table("pub", "t") == {(1,), (3,), (4,)})
    assert pub.get_snapshot("t") is second
    # a base that is not what was published: computed (the given change is ignored)
    pub.publish("t", rows(5), (first, rows(9), rows(1)))
    wait_until(lambda: sub.table("pub", "t") == {(5,)})
    # a change that is not frozensets of tuples: computed
    pub.publish("t", rows(5, 6), (pub.get_snapshot("t"), {(6,)}, frozenset()))
    wait_until(lambda: sub.table("pub", "t") == {(5,), (6,)})
    deltas = [u for _, _, u in sub.updates if not u.is_snapshot]
    assert [(set(u.added), set(u.removed)) for u in deltas] == [
        ({(4,)}, {(2,)}), ({(5,)}, {(1,), (3,), (4,)}), ({(6,)}, set())]


def test_remote_snapshot_then_deltas(make_node):
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)
    pub.publish("t", [(1, "x"), (2, "y")])
    sub = Recorder("sub")
    b.register_service(sub)
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == {(1, "x"), (2, "y")})
    first = sub.updates[0][2]
    assert first.is_snapshot and first.seqnum == 0 and first.incarnation == pub.incarnation
    assert all(isinstance(r, tuple) for r in first.rows)
    pub.publish("t", [(1, "x"), (3, "z")])
    pub.publish("t", [(1, "x"), (3, "z")])                 # unchanged: nothing sent
    pub.publish("t", [(3, "z")])
    wait_until(lambda: sub.table("pub", "t") == {(3, "z")})
    time.sleep(0.2)
    assert sub.seqnums("pub", "t") == [(True, 0), (False, 1), (False, 2)]
    delta = sub.updates[1][2]
    assert delta.added == {(3, "z")} and delta.removed == {(2, "y")} and delta.rows is None


def test_ordering_under_load_on_one_dispatcher_thread(make_node):
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    local = Recorder("local")
    a.register_service(local)
    for s in (sub, local):
        s.subscribe("pub", "t")
        s.subscribe("pub", "u")
    wait_until(lambda: sub.table("pub", "t") is not None and local.table("pub", "u") is not None)
    for i in range(300):
        pub.publish("t", [(j,) for j in range(i, i + 5)])
        pub.publish("u", [(i,)])
    for s in (sub, local):
        wait_until(lambda s=s: s.table("pub", "t") == rows(*range(299, 304)), timeout=10)
        wait_until(lambda s=s: s.table("pub", "u") == rows(299))
        assert contiguous(s.seqnums("pub", "t")) and contiguous(s.seqnums("pub", "u"))
        assert s.max_concurrent == 1
        assert s.threads == {f"bus-{s.node.node_id}-dispatch"}


def test_local_subscriber_gets_direct_updates(make_node):
    a = make_node("a")
    pub, sub = Publisher(), Recorder("sub")
    a.register_service(pub)
    a.register_service(sub)
    sub.subscribe("pub", "t")
    pub.publish("t", [(1,)])
    pub.publish("t", [(2,)])
    wait_until(lambda: sub.table("pub", "t") == rows(2))
    assert sub.threads == {"bus-a-dispatch"}
    assert contiguous(sub.seqnums("pub", "t"))
    assert ("pub", "t") not in a._remote_interest          # nothing went to the broker


def test_subscribe_before_publisher_exists(make_node):
    a, b = make_node("a"), make_node("b")
    sub = Recorder("sub")
    sub.subscribe("pub", "t")          # before registration
    b.register_service(sub)
    assert sub.subscriptions() == {("pub", "t")}
    time.sleep(0.3)
    assert sub.updates == []
    pub = Publisher()
    pub.publish("t", [(1,)])           # before registration: kept, new incarnation at register
    a.register_service(pub)
    pub.publish("t", [(5,)])
    wait_until(lambda: sub.table("pub", "t") == rows(5))
    assert contiguous(sub.seqnums("pub", "t"))


def test_publisher_on_a_node_started_later(make_node):
    b = make_node("b")
    sub = Recorder("sub")
    b.register_service(sub)
    sub.subscribe("pub", "t")
    a = make_node("a", start=False)
    pub = Publisher()
    a.register_service(pub)
    pub.publish("t", [(1,), (2,)])
    a.start()
    wait_until(lambda: sub.table("pub", "t") == rows(1, 2))


def test_lost_delta_is_queued_then_resynced(make_node):
    a, b = make_node("a"), make_node("b", time_to_resub=0.5)
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    pub.publish("t", [(0,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == rows(0))
    b.set_loss_filter(lambda m: m.update.seqnum == 2)
    pub.publish("t", [(1,)])           # seq 1
    pub.publish("t", [(2,)])           # seq 2: lost
    pub.publish("t", [(3,)])           # seq 3: queued behind the gap
    wait_until(lambda: sub.table("pub", "t") == rows(1))
    time.sleep(0.25)
    assert sub.table("pub", "t") == rows(1)            # not delivered out of order
    b.set_loss_filter(None)
    wait_until(lambda: sub.table("pub", "t") == rows(3), timeout=3)
    seqs = sub.seqnums("pub", "t")
    assert seqs[:2] == [(True, 0), (False, 1)] and seqs[2] == (True, 3)
    pub.publish("t", [(4,)])
    wait_until(lambda: sub.table("pub", "t") == rows(4))
    assert sub.seqnums("pub", "t")[-1] == (False, 4)


def test_gap_filled_late_is_delivered_in_order(make_node):
    a, b = make_node("a"), make_node("b", time_to_resub=30)
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    pub.publish("t", [(0,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == rows(0))
    held = []
    b.set_loss_filter(lambda m: m.update.seqnum == 1 and not held.append(m))
    pub.publish("t", [(1,)])
    pub.publish("t", [(2,)])
    pub.publish("t", [(3,)])
    wait_until(lambda: held)
    time.sleep(0.2)
    assert sub.table("pub", "t") == rows(0)
    b.set_loss_filter(None)
    b._subs.put_data(held[0])          # the late message arrives
    wait_until(lambda: sub.table("pub", "t") == rows(3))
    assert sub.seqnums("pub", "t") == [(True, 0), (False, 1), (False, 2), (False, 3)]


def test_lost_last_delta_detected_from_heartbeats(make_node):
    a, b = make_node("a"), make_node("b", time_to_resub=0.4)
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    pub.publish("t", [(0,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == rows(0))
    b.set_loss_filter(lambda m: True)
    pub.publish("t", [(1,)])           # lost, and nothing follows it
    time.sleep(0.2)
    b.set_loss_filter(None)
    wait_until(lambda: sub.table("pub", "t") == rows(1), timeout=3)
    assert sub.seqnums("pub", "t")[-1] == (True, 1)


def test_publisher_restart_means_resync(make_node):
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    pub.publish("t", [(1,), (2,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == rows(1, 2))
    old = pub.incarnation
    a.unregister_service("pub")
    a.register_service(pub)            # a new incarnation
    assert pub.incarnation != old
    pub.publish("t", [(2,), (3,)])
    wait_until(lambda: sub.table("pub", "t") == rows(2, 3))
    last = sub.updates[-1][2]
    assert last.is_snapshot and last.incarnation == pub.incarnation


def test_publisher_restart_with_nothing_to_publish(make_node):
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    pub.publish("t", [(1,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == rows(1))
    a.unregister_service("pub")
    fresh = Publisher()                # restarted; its table is empty and never published
    a.register_service(fresh)
    wait_until(lambda: sub.table("pub", "t") == frozenset(), timeout=3)


def test_publisher_moves_to_another_node(make_node):
    a, b, c = make_node("a"), make_node("b"), make_node("c")
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    pub.publish("t", [(1,), (2,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == rows(1, 2))
    a.stop()
    time.sleep(0.3)
    assert sub.table("pub", "t") == rows(1, 2)          # kept while the publisher is nowhere
    moved = Publisher()
    c.register_service(moved)
    moved.publish("t", [(2,), (9,)])
    wait_until(lambda: sub.table("pub", "t") == rows(2, 9), timeout=3)
    assert sub.updates[-1][2].incarnation == moved.incarnation
    moved.publish("t", [(9,)])
    wait_until(lambda: sub.table("pub", "t") == rows(9))


def test_two_publishers_with_one_id_do_not_flap(make_node):
    a, b, c = make_node("a"), make_node("b"), make_node("c")
    p1, p2 = Publisher(), Publisher()
    a.register_service(p1)
    c.register_service(p2)
    # once b knows both (before, it may sync from one and switch once when it has not heard
    # of it yet: see test_a_snapshot_from_the_other_instance_is_ignored)
    wait_until(lambda: b.nodes_for("pub") == ["a", "c"])
    p1.publish("t", [(1,)])
    p2.publish("t", [(2,)])
    sub = Recorder("sub")
    b.register_service(sub)
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") is not None)
    chosen = sub.table("pub", "t")
    mine, other = (p1, p2) if chosen == rows(1) else (p2, p1)
    for i in range(5):
        other.publish("t", [(100 + i,)])
        mine.publish("t", [(10 + i,)])
    mine_value = rows(1 if mine is p1 else 2) and rows(14)
    wait_until(lambda: sub.table("pub", "t") == mine_value)
    time.sleep(0.3)
    assert sub.table("pub", "t") == mine_value
    assert {u.incarnation for _, _, u in sub.updates} == {mine.incarnation}


class _TwoInstances:
    """A subscriber's node (a ``SubscriptionHost``) that sees one publisher on nodes a and c;
    its snapshots are answered by the node hinted at, else c, once the test lets them go."""

    node_id = "b"
    heartbeat_interval = heartbeat_timeout = 0.05
    time_to_resub = 5.0

    def __init__(self) -> None:
        self.sub = Recorder("sub")
        self.alive: set[str] = set()
        self.hints: list[str | None] = []
        self.answer = threading.Event()
        self.answer.set()

    def local_service(self, service_id):
        return self.sub if service_id == "sub" else None

    def fetch_snapshot(self, publisher_id, table, hint):
        self.hints.append(hint)
        assert self.answer.wait(5)
        node = hint or "c"
        snap = TableUpdate(True, rows(1 if node == "a" else 2), frozenset(), frozenset(), 0,
                           "inc-" + node)
        return DataMsg(publisher_id, table, node, "instance-" + node, snap)

    def source_status(self, publisher_id, table, source):
        alive = source is not None and source[0] in self.alive
        return alive, None


def test_a_snapshot_from_the_other_instance_is_ignored():
    """Synced from c before hearing of it, a delta of the instance on a asks a for a
    snapshot (c seems gone); c is heard of before the answer: the answer is ignored and the
    resync asks c."""
    host = _TwoInstances()
    subs = Subscriptions(host)
    subs.start()
    try:
        subs.add("sub", "pub", "t")
        wait_until(lambda: host.sub.table("pub", "t") == rows(2))
        host.answer.clear()
        delta = TableUpdate(False, None, rows(3), frozenset(), 1, "inc-a")
        subs.put_data(DataMsg("pub", "t", "a", "instance-a", delta))
        wait_until(lambda: host.hints == [None, "a"])
        host.alive = {"a", "c"}
        host.answer.set()
        wait_until(lambda: subs.tick() or host.hints == [None, "a", "c"])   # ticks, as a node's
        for _ in range(5):
            subs.tick()
            time.sleep(0.02)
    finally:
        subs.stop()
    assert host.sub.table("pub", "t") == rows(2)
    assert {u.incarnation for _, _, u in host.sub.updates} == {"inc-c"}
    assert host.hints == [None, "a", "c"]       # the resync done: no more asking


def _dispatchers(node_id: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"bus-{node_id}-dispatch"]


def _dispatcher(node_id: str) -> threading.Thread:
    """The one (a thread that handed over may take a moment to end)."""
    [thread] = wait_until(lambda: len(_dispatchers(node_id)) == 1 and _dispatchers(node_id))
    return thread


def test_the_dispatcher_thread_makes_way_for_a_fresh_one(make_node):
    """Between two updates, in order, none lost; a stop after it ends the fresh thread."""
    a = make_node("a")
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    a.register_service(sub)
    sub.subscribe("pub", "t")
    pub.publish("t", [(0,)])
    wait_until(lambda: sub.table("pub", "t") == rows(0))
    first = _dispatcher("a")
    a.renew_dispatcher(wait=5)
    assert not first.is_alive()
    second = _dispatcher("a")
    assert second is not first
    for i in range(1, 60):
        pub.publish("t", [(i,)])
        if i % 20 == 0:
            a.renew_dispatcher()                  # queued behind the updates
    wait_until(lambda: sub.table("pub", "t") == rows(59))
    assert contiguous(sub.seqnums("pub", "t"))    # each delta once, in order
    last = _dispatcher("a")
    assert last is not second
    a.stop()
    assert not last.is_alive() and _dispatchers("a") == []
    a.renew_dispatcher(wait=1)                    # stopped: nothing starts
    assert _dispatchers("a") == []


def test_first_and_no_subscriber_hooks(make_node):
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)
    remote, local = Recorder("remote"), Recorder("local")
    b.register_service(remote)
    a.register_service(local)
    remote.subscribe("pub", "t")
    wait_until(lambda: pub.hooks == [("first", "t")])
    local.subscribe("pub", "t")
    remote.unsubscribe("pub", "t")
    time.sleep(0.3)
    assert pub.hooks == [("first", "t")]              # local subscriber still there
    local.unsubscribe("pub", "t")
    wait_until(lambda: pub.hooks == [("first", "t"), ("none", "t")])
    local.subscribe("pub", "u")
    wait_until(lambda: pub.hooks[-1] == ("first", "u"))


def test_subscriber_node_lost_means_no_subscribers(make_node):
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    sub.subscribe("pub", "t")
    wait_until(lambda: pub.hooks == [("first", "t")])
    b._stop_event.set()                # b dies silently
    b._wake.set()
    wait_until(lambda: pub.hooks == [("first", "t"), ("none", "t")], timeout=3)


def test_deltas_only_sent_to_nodes_with_subscribers(make_node):
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)
    sent = []
    original = a._cast_control

    def spy(method, kwargs, *, retry):
        if method == "bus_data":
            sent.append(kwargs["msg"]["seq"])
        return original(method, kwargs, retry=retry)
    a._cast_control = spy
    pub.publish("t", [(1,)])
    pub.publish("t", [(2,)])
    time.sleep(0.2)
    assert sent == []
    sub = Recorder("sub")
    b.register_service(sub)
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == rows(2))
    pub.publish("t", [(3,)])
    wait_until(lambda: sub.table("pub", "t") == rows(3))
    assert sent == [2]


def test_unsubscribe_stops_updates(make_node):
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    sub.subscribe("pub", "t")
    pub.publish("t", [(1,)])
    wait_until(lambda: sub.table("pub", "t") == rows(1))
    sub.unsubscribe("pub", "t")
    assert sub.subscriptions() == set()
    count = len(sub.updates)
    pub.publish("t", [(2,)])
    time.sleep(0.3)
    assert len(sub.updates) == count


def test_resubscribe_delivers_a_fresh_snapshot(make_node):
    a = make_node("a")
    pub, sub = Publisher(), Recorder("sub")
    a.register_service(pub)
    a.register_service(sub)
    pub.publish("t", [(1,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.seqnums("pub", "t") == [(True, 0)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.seqnums("pub", "t") == [(True, 0), (True, 0)])


def test_subscribe_from_receive_data_and_failing_subscriber(make_node):
    a = make_node("a")
    pub = Publisher()
    a.register_service(pub)

    class Chain(Recorder):
        def receive_data(self, publisher_id, table, update):
            super().receive_data(publisher_id, table, update)
            if table == "t":
                self.subscribe("pub", "u")          # from the dispatcher thread
                raise RuntimeError("subscriber bug")   # must not kill the dispatcher

    sub = Chain("sub")
    a.register_service(sub)
    pub.publish("t", [(1,)])
    pub.publish("u", [(2,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "u") == rows(2))
    pub.publish("u", [(3,)])
    wait_until(lambda: sub.table("pub", "u") == rows(3))


def test_a_subscriber_refusing_a_delta_gets_a_snapshot_instead(make_node):
    """ResyncWanted from receive_data: the bus fetches the table whole and delivers that."""
    a, b = make_node("a"), make_node("b")
    pub = Publisher()
    a.register_service(pub)

    class Picky(Recorder):
        refuse = 0

        def receive_data(self, publisher_id, table, update):
            if not update.is_snapshot and self.refuse:
                self.refuse -= 1
                raise ResyncWanted("what is held is not the base of a delta")
            super().receive_data(publisher_id, table, update)

    sub = Picky("sub")
    b.register_service(sub)
    pub.publish("t", [(1,)])
    sub.subscribe("pub", "t")
    wait_until(lambda: sub.table("pub", "t") == rows(1))
    sub.refuse = 1
    pub.publish("t", [(1,), (2,)])          # delta 1: refused, so a snapshot at seq 1
    wait_until(lambda: sub.table("pub", "t") == rows(1, 2))
    pub.publish("t", [(2,)])                # delta 2: applied on the snapshot
    wait_until(lambda: sub.table("pub", "t") == rows(2))
    assert sub.seqnums("pub", "t") == [(True, 0), (True, 1), (False, 2)]


def test_get_snapshot_override_serves_unpublished_tables(make_node):
    a, b = make_node("a"), make_node("b")

    class Lazy(Publisher):
        def get_snapshot(self, table):
            return [(table, 1)]

    pub = Lazy()
    a.register_service(pub)
    sub = Recorder("sub")
    b.register_service(sub)
    sub.subscribe("pub", "lazy")
    wait_until(lambda: sub.table("pub", "lazy") == {("lazy", 1)})
    pub.publish("lazy", [("lazy", 1), ("lazy", 2)])
    wait_until(lambda: sub.table("pub", "lazy") == {("lazy", 1), ("lazy", 2)})
    assert sub.seqnums("pub", "lazy") == [(True, 0), (False, 1)]


def test_unregistering_subscriber_keeps_its_subscriptions(make_node):
    a = make_node("a")
    pub, sub = Publisher(), Recorder("sub")
    a.register_service(pub)
    a.register_service(sub)
    sub.subscribe("pub", "t")
    a.unregister_service("sub")
    assert sub.subscriptions() == {("pub", "t")}
    pub.publish("t", [(1,)])
    a.register_service(sub)
    wait_until(lambda: sub.table("pub", "t") == rows(1))


def test_many_subscribers_many_nodes(make_node):
    nodes = [make_node(f"n{i}") for i in range(4)]
    pub = Publisher()
    nodes[0].register_service(pub)
    subs = []
    for i, node in enumerate(nodes):
        for j in range(2):
            s = Recorder(f"s{i}{j}")
            node.register_service(s)
            s.subscribe("pub", "t")
            subs.append(s)
    done = threading.Event()

    def churn():
        for k in range(100):
            pub.publish("t", [(k,), (k + 1,)])
        done.set()
    threading.Thread(target=churn).start()
    wait_until(done.is_set)
    for s in subs:
        wait_until(lambda s=s: s.table("pub", "t") == rows(99, 100), timeout=10)
        assert contiguous(s.seqnums("pub", "t"))
    assert FAST["time_to_resub"] > 0
