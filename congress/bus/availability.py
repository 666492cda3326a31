"""Failing fast when a service cannot answer, for callers with a deadline (API requests).

Without this, a request to a service whose node died waits the whole RPC timeout, and a
burst of such requests holds every API thread. Three parts:

* **deadlines** (:func:`set_deadline`, :func:`current_deadline`): the API sets one per request
  (``api_request_timeout``) on its thread; every bus RPC made on that thread waits at most until
  then, and fails with 503 past it.
* **availability** (:class:`Availability`): a service is *unavailable* when every node known to
  host it has been silent for longer than :attr:`Availability.suspect_after` (a few heartbeat
  intervals, well before the peer is forgotten), or when the node that hosted it was forgotten
  or said goodbye and no other node hosts it since. A call with a deadline to an unavailable
  service fails at once with :class:`ServiceDown` (503, ``Retry-After``), and a call already
  waiting stops waiting as soon as its service becomes unavailable.
* **bounded concurrency per dependency** (:class:`CallLimiter`, :func:`hold`): at most
  ``limit`` requests (threads with a deadline) use one service at a time, from their first
  call to it to the end of the request (which also waits for the service's data to reach the
  engine), and at most half as many more wait for a slot (while the service is available);
  more are refused at once with 503, so requests for a dependency that stopped answering
  cannot take the threads other requests need.

Calls without a deadline (the services' own work) are unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from congress import exceptions
from congress.bus.membership import Peer

_state = threading.local()


class ServiceDown(exceptions.ServiceUnavailable):
    """503: the service's node is known to be dead or gone (or too busy to take more)."""

    code = "service_down"

    def __init__(self, message: str, *, retry_after: float = 2.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def set_deadline(deadline: float | None) -> None:
    """Deadline (``time.monotonic()`` value) of the work on this thread; None clears it.

    Either way the work before it has ended: the service slots it held are released."""
    release_held()
    _state.deadline = deadline


def hold(limiter: CallLimiter, service_id: str, deadline: float | None = None,
         unavailable: Callable[[], Any] | None = None) -> bool:
    """Take a slot of ``limiter`` for ``service_id`` for the rest of the work on this thread
    (until the next :func:`set_deadline`); True if this thread holds one now. With all slots
    taken, wait for one (until ``deadline``, and while ``unavailable()`` is false) if fewer
    than ``limiter.max_waiters`` threads wait already."""
    held: dict[str, CallLimiter] = _state.__dict__.setdefault("held", {})
    if service_id in held:
        return True
    if not limiter.acquire(service_id, deadline, unavailable):
        return False
    held[service_id] = limiter
    return True


def release_held() -> None:
    held = getattr(_state, "held", None)
    if held:
        for service_id, limiter in held.items():
            limiter.release(service_id)
        held.clear()


def current_deadline() -> float | None:
    return getattr(_state, "deadline", None)


def suspect_after(heartbeat_interval: float, heartbeat_timeout: float) -> float:
    """Silence after which a peer's services count as unavailable: three missed heartbeats
    (at least one second more than an interval), never later than the peer is forgotten."""
    return min(heartbeat_timeout, max(3 * heartbeat_interval, heartbeat_interval + 1.0))


class Availability:
    """Which services this node cannot reach, from membership (heartbeats) alone."""

    def __init__(self, suspect_after: float) -> None:
        self.suspect_after = suspect_after
        self._lock = threading.Lock()
        # service id -> (node id that hosted it, time.monotonic() it was lost)
        self._departed: dict[str, tuple[str, float]] = {}

    def lost(self, peer: Peer, now: float) -> None:
        """``peer`` was forgotten (silent too long) or said goodbye."""
        with self._lock:
            for service_id in peer.services:
                self._departed[service_id] = (peer.node_id, now)

    def seen(self, services: Iterable[str]) -> None:
        """A live node hosts ``services``."""
        with self._lock:
            for service_id in services:
                self._departed.pop(service_id, None)

    def problem(self, service_id: str, peers: Mapping[str, Peer], local: bool, now: float,
                node_id: str | None = None) -> str | None:
        """Why ``service_id`` (on ``node_id``, or anywhere) cannot answer, or None if it can
        (or if nothing is known about it: the caller's ping decides)."""
        if local:
            return None
        hosting = [p for p in peers.values()
                   if p.hosts(service_id) and (node_id is None or p.node_id == node_id)]
        if hosting:
            latest = max(hosting, key=lambda p: p.last_seen)
            silent = now - latest.last_seen
            if silent <= self.suspect_after:
                return None
            return f"node {latest.node_id} has not been heard from for {silent:.1f} s"
        with self._lock:
            departed = self._departed.get(service_id)
        if departed is None or (node_id is not None and departed[0] != node_id):
            return None
        return f"its node {departed[0]} left the bus {now - departed[1]:.0f} s ago"

    def unavailable(self, peers: Mapping[str, Peer], local: Iterable[str],
                    now: float) -> dict[str, str]:
        """Every service known to be unavailable, with the reason."""
        with self._lock:
            candidates = set(self._departed)
        if not candidates and all(now - p.last_seen <= self.suspect_after
                                  for p in peers.values()):
            return {}                # the usual case, cheap: nodes_info() asks per request
        local = set(local)
        for peer in peers.values():
            candidates |= peer.services
        out = {}
        for service_id in sorted(candidates - local):
            problem = self.problem(service_id, peers, False, now)
            if problem is not None:
                out[service_id] = problem
        return out


class CallLimiter:
    """At most ``limit`` holders per service (0 or less: no limit), and at most
    ``max_waiters`` (default: half as many) more waiting for a slot; together they never
    take more than ``limit + max_waiters`` threads."""

    def __init__(self, limit: int, max_waiters: int | None = None) -> None:
        self.limit = limit
        self.max_waiters = limit // 2 if max_waiters is None else max_waiters
        self._lock = threading.Condition()
        self._inflight: dict[str, int] = {}
        self._waiting: dict[str, int] = {}

    def try_acquire(self, service_id: str) -> bool:
        with self._lock:
            return self._take(service_id)

    def _take(self, service_id: str) -> bool:
        count = self._inflight.get(service_id, 0)
        if 0 < self.limit <= count:
            return False
        self._inflight[service_id] = count + 1
        return True

    def acquire(self, service_id: str, deadline: float | None = None,
                unavailable: Callable[[], Any] | None = None) -> bool:
        """A slot, waiting for one (see the class) until ``deadline`` while
        ``unavailable()`` is false; False if none."""
        with self._lock:
            if self._take(service_id):
                return True
            if deadline is None or self._waiting.get(service_id, 0) >= self.max_waiters:
                return False
            self._waiting[service_id] = self._waiting.get(service_id, 0) + 1
            try:
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._lock.wait(min(0.05, left))
                    if self._take(service_id):
                        return True
                    if unavailable is not None and unavailable():
                        return False
            finally:
                self._waiting[service_id] -= 1
                if not self._waiting[service_id]:
                    del self._waiting[service_id]

    def release(self, service_id: str, *_: Any) -> None:
        with self._lock:
            count = self._inflight.get(service_id, 0) - 1
            if count > 0:
                self._inflight[service_id] = count
            else:
                self._inflight.pop(service_id, None)
            self._lock.notify_all()

    def inflight(self) -> dict[str, int]:
        with self._lock:
            return dict(self._inflight)


def wait_slice(deadline: float) -> float:
    """How long to block before looking at availability again."""
    return max(0.0, min(0.05, deadline - time.monotonic()))
