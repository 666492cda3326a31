"""``GET``/``HEAD /healthcheck`` with oslo.middleware's healthcheck semantics, for HAProxy.

* Healthy: ``GET`` 200 ``OK`` (text/plain), ``HEAD`` 204.
* Unhealthy: 503 with the failing reasons: ``DISABLED BY FILE`` while the file
  ``[healthcheck] disable_by_file_path`` exists (drain a node before maintenance), ``NODE
  UNHEALTHY`` when ``backend.node_info()["healthy"]`` is false, ``NODE UNAVAILABLE`` when
  ``node_info()`` fails.
* Services on other nodes this node cannot reach (``node_info()["unavailable_services"]``)
  are reported as ``DEGRADED`` in the detailed form; the node stays healthy (200).
* ``Accept: application/json`` gives ``{"detailed": false, "reasons": [...]}``; with
  ``[healthcheck] detailed = true`` the JSON also has per-check details and the node's info.
* Never authenticated, never policy-checked.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from datetime import UTC, datetime
from typing import Any

import falcon

from congress.api.base import Resource
from congress.api.errors import TEXT_CONTENT_TYPE

LOG = logging.getLogger(__name__)


def _quality(req: falcon.Request, media_type: str) -> float:
    """q of ``media_type`` in the Accept header (most specific range wins; none -> text)."""
    header = req.get_header("Accept")
    if not header:
        return 1.0 if media_type == "text/plain" else 0.0
    major = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for item in header.split(","):
        parts = [p.strip() for p in item.split(";")]
        mrange = parts[0].lower()
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        specificity = {media_type: 2, f"{major}/*": 1, "*/*": 0}.get(mrange)
        if specificity is not None and specificity > best[0]:
            best = (specificity, q)
    return best[1]


class _Result:
    def __init__(self, name: str, available: bool, reason: str, details: str = "") -> None:
        self.name = name
        self.available = available
        self.reason = reason
        self.details = details


class Healthcheck(Resource):
    enforce_policy = False

    def _results(self) -> tuple[list[_Result], dict[str, Any] | None]:
        results = []
        path = self.state.conf.healthcheck.disable_by_file_path
        if path and os.path.exists(path):
            results.append(_Result("DisableByFile", False, "DISABLED BY FILE",
                                   f"Path '{path}' exists"))
        else:
            results.append(_Result("DisableByFile", True, "OK",
                                   f"Path '{path}' was not found"))
        info: dict[str, Any] | None = None
        try:
            info = self.backend.node_info()
        except Exception as e:  # noqa: BLE001 - any failure means "not healthy"
            LOG.warning("healthcheck: node_info() failed: %s", e)
            results.append(_Result("Node", False, "NODE UNAVAILABLE", str(e)))
        else:
            healthy = bool(info.get("healthy"))
            results.append(_Result("Node", healthy, "OK" if healthy else "NODE UNHEALTHY",
                                   f"node {info.get('node_id')}"))
            unavailable = info.get("unavailable_services") or {}
            # degraded, not unhealthy: another engine would not reach them either, so a load
            # balancer must keep this node (policy reads still work)
            results.append(_Result(
                "Dependencies", True, "DEGRADED" if unavailable else "OK",
                "; ".join(f"service {s} unavailable: {why}"
                          for s, why in sorted(unavailable.items()))
                or "every known service reachable"))
        return results, info

    def _answer(self, req: falcon.Request, resp: falcon.Response, head: bool) -> None:
        results, info = self._results()
        healthy = all(r.available for r in results)
        reasons = ["OK"] if healthy else [r.reason for r in results if not r.available]
        resp.cache_control = ["no-cache"]
        if head:
            resp.status = falcon.code_to_http_status(204 if healthy else 503)
            if not healthy:
                resp.content_type = TEXT_CONTENT_TYPE
            return
        resp.status = falcon.code_to_http_status(200 if healthy else 503)
        if _quality(req, "application/json") > _quality(req, "text/plain"):
            resp.content_type = "application/json; charset=UTF-8"
            resp.data = json.dumps(self._json(results, reasons, info), indent=4,
                                   sort_keys=True, default=str).encode("utf-8")
        else:
            resp.content_type = TEXT_CONTENT_TYPE
            resp.data = "\n".join(reasons).encode("utf-8")

    def _json(self, results: list[_Result], reasons: list[str],
              info: dict[str, Any] | None) -> dict[str, Any]:
        if not self.state.conf.healthcheck.detailed:
            return {"detailed": False, "reasons": reasons}
        return {
            "detailed": True,
            "reasons": [{"reason": r.reason, "details": r.details, "class": r.name}
                        for r in results],
            "node": info,
            "now": datetime.now(UTC).isoformat(),
            "python_version": sys.version,
            "platform": platform.platform(),
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._answer(req, resp, head=False)

    def on_head(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._answer(req, resp, head=True)
