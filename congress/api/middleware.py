"""Cross-cutting concerns of every request (falcon middleware).

:class:`RequestMiddleware` (always, outermost):

* ``X-OpenStack-Request-ID: req-<uuid>`` on every response (oslo.middleware ``request_id``
  semantics: a fresh local id per request, kept in ``req.context.request_id`` and the WSGI
  environ ``openstack.request_id``; a well-formed inbound ``X-OpenStack-Request-ID`` becomes
  ``req.context.global_request_id``);
* the consistency headers ``X-Congress-Node``, ``X-Congress-Policy-Revision`` and
  ``X-Congress-Data-Revision`` from ``backend.node_info()`` (a header whose value is None is
  left out), read after the request was handled so they include its own change; never on a
  401 (an unauthenticated client learns nothing about nodes and revisions);
* a deadline for the bus RPCs the request makes (``api_request_timeout``, see
  :mod:`congress.bus.availability`): a service on another node that is known to be down, or
  does not answer in time, is a 503 with ``Retry-After``;
* 413 when a declared ``Content-Length`` exceeds ``max_request_body_size`` (chunked bodies are
  bounded while they are read, see :mod:`congress.api.parsing`);
* 501 for HTTP methods the API does not know, 404 for an empty path segment (every
  route segment is ``[^/]+``, doc/api.md §Routes);
* one INFO line per request on the ``congress.api`` logger (DEBUG for a successful
  ``/healthcheck``, which load balancers poll every few seconds).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import falcon

from congress.api import metrics, parsing
from congress.api.base import ApiState
from congress.api.errors import MethodNotSupported
from congress.bus import availability

ACCESS_LOG = logging.getLogger("congress.api")
LOG = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-OpenStack-Request-ID"
NODE_HEADER = "X-Congress-Node"
POLICY_REVISION_HEADER = "X-Congress-Policy-Revision"
DATA_REVISION_HEADER = "X-Congress-Data-Revision"

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID_RE = re.compile(r"^req-[a-f0-9]{8}(-[a-f0-9]{4}){3}-[a-f0-9]{12}$")


class RequestMiddleware:
    def __init__(self, state: ApiState) -> None:
        self.state = state

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.monotonic()
        request_id = f"req-{uuid.uuid4()}"
        req.context.request_id = request_id
        req.env["openstack.request_id"] = request_id
        inbound = req.get_header(REQUEST_ID_HEADER)
        req.context.global_request_id = (
            inbound if inbound and _REQUEST_ID_RE.match(inbound) else None)
        # every bus RPC this request makes waits at most until then (503 after)
        availability.set_deadline(req.context.started + self.state.request_timeout)
        if req.method not in KNOWN_METHODS:
            raise MethodNotSupported()
        parsing.check_declared_length(req, self.state.body_limit)

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        if resource is not None and any(v == "" for v in params.values()):
            raise falcon.HTTPNotFound()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        availability.set_deadline(None)
        request_id = getattr(req.context, "request_id", None) or f"req-{uuid.uuid4()}"
        resp.set_header(REQUEST_ID_HEADER, request_id)
        status = falcon.http_status_to_code(resp.status)
        info: dict[str, Any] = {}
        if status != 401:   # an unauthenticated client learns nothing of the deployment
            try:
                info = self.state.backend.node_info() or {}
            except Exception as e:  # noqa: BLE001 - headers are best effort
                LOG.debug("node_info() failed, no consistency headers: %s", e)
        for header, key in ((NODE_HEADER, "node_id"),
                            (POLICY_REVISION_HEADER, "policy_revision"),
                            (DATA_REVISION_HEADER, "data_revision")):
            value = info.get(key)
            if value is not None:
                resp.set_header(header, str(value))
        node = info.get("node_id")
        started = getattr(req.context, "started", None)
        elapsed_ms = (time.monotonic() - started) * 1000 if started is not None else 0.0
        metrics.observe(req, status, elapsed_ms / 1000)
        # INFO records what changed and what failed; successful reads (and load balancer
        # probes) are DEBUG: at thousands per second they would drown the log and, through
        # the handler lock, slow every request thread down
        if status >= 400 or (req.method not in ("GET", "HEAD") and req.path != "/healthcheck"):
            level = logging.INFO if status < 500 else logging.WARNING
        else:
            level = logging.DEBUG
        if ACCESS_LOG.isEnabledFor(level):
            ACCESS_LOG.log(level, "%s %s %s %.1fms request_id=%s node=%s", req.method,
                           req.path, status, elapsed_ms, request_id, node)
