"""API version documents: ``/`` (list), any other path outside ``/v1`` (300 choices) and
``/v1[/]`` (the v1 document). ``/`` and the choices are unauthenticated (clients discover the
API there before they have a token); ``/v1`` belongs to the authenticated API.

Difference from OpenStack Congress: ``/v1`` answers GET only (other methods 501); OpenStack
Congress returned the document for any method.
"""

from __future__ import annotations

import re
from typing import Any

import falcon

from congress.api.base import Resource, send_json

V1 = {"id": "v1", "status": "CURRENT", "updated": "2013-08-12T17:42:13Z"}
DESCRIBED_BY = {"rel": "describedby", "type": "text/html",
                "href": "http://congress.readthedocs.org/"}

#: paths the versions "app" answers: everything but /v1[/...] (and the routes, which win)
SINK_PREFIX = re.compile(r"/(?!v1(?:/|$))")


def _base(req: falcon.Request) -> str:
    return req.prefix.rstrip("/")


def versions_sink(req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
    """``/`` -> 200 ``{"versions": [...]}``; any other path -> 300 ``{"choices": [...]}``."""
    base = _base(req)
    path = req.path.strip("/")
    if not path:
        send_json(resp, {"versions": [{**V1, "links": [{"rel": "self",
                                                         "href": f"{base}/v1/"}]}]})
        return
    send_json(resp, {"choices": [{**V1, "links": [{"rel": "self",
                                                    "href": f"{base}/v1/{path}"}]}]}, 300)


class VersionV1(Resource):
    """``/v1`` and ``/v1/``"""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        base = _base(req)
        send_json(resp, {"version": {**V1, "links": [{"rel": "self", "href": f"{base}/v1/"},
                                                     dict(DESCRIBED_BY)]}})
