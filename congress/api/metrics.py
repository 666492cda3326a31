"""``GET /metrics``: Prometheus text format of the metrics of this process (requests per route
and status and their latency here; the bus and the policy engine add theirs).

In keystone mode it needs a token and the ``get_v1`` API policy like any ``/v1`` URL, unless
``metrics_unauthenticated = true`` (for a scraper on a trusted network)."""

from __future__ import annotations

from typing import Any

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

from congress.api.base import Resource

REQUESTS = Counter("congress_api_requests_total", "API requests, by route, method and status.",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "congress_api_request_seconds", "API request latency, by route and method (seconds).",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def observe(req: falcon.Request, status: int, seconds: float) -> None:
    """Count one answered request (called by the request middleware)."""
    route = getattr(req, "uri_template", None) or "unmatched"
    REQUESTS.labels(route, req.method, str(status)).inc()
    REQUEST_SECONDS.labels(route, req.method).observe(seconds)


class Metrics(Resource):
    """``/metrics``"""

    def __init__(self, state: Any, *, public: bool) -> None:
        super().__init__(state)
        self.enforce_policy = not public

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(REGISTRY)
