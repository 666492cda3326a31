"""Prometheus metrics of the bus (``prometheus_client``'s default registry; served by the API's
``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RPC_SECONDS = Histogram(
    "congress_bus_rpc_seconds", "Bus RPCs to services on other nodes, by service (seconds).",
    ["service"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
RPC_TIMEOUTS = Counter(
    "congress_bus_rpc_timeouts_total", "Bus RPCs that timed out or could not be sent.",
    ["service"])
RPC_REFUSED = Counter(
    "congress_bus_rpc_refused_total",
    "Bus RPCs of API requests refused or given up because the service was unavailable or "
    "already had its share of waiting requests.", ["service"])
