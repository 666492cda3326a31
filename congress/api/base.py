"""What every resource shares: the backend, response writers, action dispatch.

Resources translate HTTP to one or two ``backend.call(service, method, **kwargs)`` and the
result back to HTTP; nothing else. Response framing is that of the OpenStack Congress v1 API,
which clients compare byte for byte in places: JSON plus ``"\\n"``,
lists (collection GETs) pretty-printed with an indent of 2, ``application/json; charset=UTF-8``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Protocol
from urllib.parse import quote

import falcon

from congress.api import parsing
from congress.api.errors import JSON_CONTENT_TYPE, MethodNotSupported, NotFoundError
from congress.api.jsonfmt import dumps_pretty
from congress.bus import availability
from congress.bus.engine_client import EngineClient
from congress.bus.service_ids import DS_MANAGER, ENGINE, LIBRARY
from congress.exceptions import ServiceNotFound, ServiceUnavailable
from congress.services.results import FrozenResults

LOG = logging.getLogger(__name__)

#: how long a datasource write waits for this node's engine to apply it (seconds)
WRITE_VISIBLE_TIMEOUT = 10.0

SYSTEM_SERVICES = frozenset({ENGINE, LIBRARY, DS_MANAGER})


def not_found_message(service_id: str) -> str:
    """The bus's message for a service no node hosts."""
    return f"service '{service_id}' could not be found"


class Backend(Protocol):
    def call(self, service_id: str, method: str, **kwargs: Any) -> Any: ...

    def node_info(self) -> dict[str, Any]: ...

    def wait_for_data(self, fence: dict[str, Any], timeout: float) -> bool: ...


class ApiState:
    """What resources and middleware need from ``create_app``."""

    def __init__(self, conf: Any, backend: Backend) -> None:
        self.conf = conf
        self.backend = backend
        self.body_limit: int = conf.max_request_body_size
        self.request_timeout: float = conf.api_request_timeout


# --------------------------------------------------------------------------- response writers
def send_json(resp: falcon.Response, data: Any, status: int = 200, *,
              pretty: bool = False) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = JSON_CONTENT_TYPE
    text = dumps_pretty(data) if pretty else json.dumps(data)
    resp.data = (text + "\n").encode("utf-8")


def send_empty(resp: falcon.Response, status: int = 200) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = JSON_CONTENT_TYPE
    resp.data = b""


def send_item(resp: falcon.Response, item: Any) -> None:
    """Element GET: the item, or a plain ``404 Not found`` when there is none."""
    if item is None:
        raise NotFoundError()
    send_json(resp, item)


def send_collection(resp: falcon.Response, result: Any) -> None:
    """Collection GET: ``{"results": [...]}`` (+ extra keys), pretty-printed."""
    if isinstance(result, (list, tuple)):
        result = {"results": list(result)}
    if not isinstance(result, dict) or result.get("results") is None:
        raise NotFoundError()
    results = result["results"]
    if len(result) == 1 and isinstance(results, FrozenResults):
        resp.status = falcon.code_to_http_status(200)
        resp.content_type = JSON_CONTENT_TYPE
        # an unchanged table is answered from the bytes of its first read: the engine hands
        # out the same list until anything changes (in process, without serialization), so
        # reading an unchanged 10,000-row table costs an attribute lookup instead of ~80 ms
        # of encoding; two first reads at once both encode, and either result is right
        data = getattr(results, "encoded", None)
        if data is None:
            data = (dumps_pretty({"results": results}) + "\n").encode("utf-8")
            results.encoded = data
        resp.data = data
        return
    send_json(resp, result, pretty=True)


def requester(req: falcon.Request, backend: Any) -> str:
    """Who asked, for the action log: the authenticated user, else this API node."""
    user = getattr(req.context, "user_id", None)
    if user:
        project = getattr(req.context, "project_id", None)
        return f"user:{user}" + (f"@{project}" if project else "")
    return f"node:{backend.node_info().get('node_id')}"


def request_path(req: falcon.Request) -> str:
    return quote(req.root_path + req.path, safe="/:@!$&'()*+,;=~")


def send_created(req: falcon.Request, resp: falcon.Response, item: Any) -> None:
    """Collection POST: 201, the item, ``Location: <path>/<id>``."""
    if item is None:            # a model that creates nothing (webhooks) answers 200, no body
        send_empty(resp)
        return
    if not isinstance(item, dict) or item.get("id") is None:
        raise TypeError(f"create returned no id: {item!r}")
    send_json(resp, item, 201)
    resp.set_header("Location", f"{request_path(req)}/{quote(str(item['id']), safe='')}")


def omit_none(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


# --------------------------------------------------------------------------- resources
class Resource:
    """Base of the API resources (one class per URL shape)."""

    #: checked against the API policy (oslo.policy) in keystone mode
    enforce_policy = True

    def __init__(self, state: ApiState) -> None:
        self.state = state
        self.backend = state.backend
        #: the policy engine, through :meth:`call`
        self.engine = EngineClient(self)

    def call(self, service_id: str, method: str, /, **kwargs: Any) -> Any:
        try:
            return self.backend.call(service_id, method, **kwargs)
        except ServiceNotFound as e:
            # the engine, library and datasource manager always exist in a deployment: not
            # found on the bus, they are unavailable (no node runs them now), not missing
            if service_id in SYSTEM_SERVICES and e.message == not_found_message(service_id):
                raise ServiceUnavailable(
                    f"Service '{service_id}' is unavailable: no node of the deployment "
                    "runs it now", data={"service": service_id}) from e
            raise

    def json_body(self, req: falcon.Request, *, allow_empty: bool = False) -> Any:
        return parsing.parse_json(req, self.state.body_limit, allow_empty=allow_empty)

    def wait_until_visible(self, service: str) -> None:
        """After a write to datasource ``service``: wait (at most
        :data:`WRITE_VISIBLE_TIMEOUT`) until this node's engine reflects it, so that the
        response's ``X-Congress-Data-Revision`` is a revision that includes the write and reads
        on this node see it."""
        fence = self.call(service, "publication_state")
        timeout = WRITE_VISIBLE_TIMEOUT
        deadline = availability.current_deadline()
        if deadline is not None:         # never past the request's deadline
            timeout = max(0.0, min(timeout, deadline - time.monotonic()))
        if not self.backend.wait_for_data(fence, timeout):
            LOG.info("write to %s not yet applied by this node's engine after %.0f s",
                     service, WRITE_VISIBLE_TIMEOUT)

    def datasource_name(self, ds_id: str) -> str:
        """Name (= bus service id) of the datasource named or identified by ``ds_id``."""
        return self.call(DS_MANAGER, "resolve", ds=ds_id)

    def dispatch_action(self, req: falcon.Request, resp: falcon.Response,
                        **params: Any) -> None:
        """Element ``POST ?action=<name>``: ``action_<name>(req, **params)``, 200 JSON."""
        handler = getattr(self, "action_" + parsing.action_name(req), None)
        if handler is None:
            raise MethodNotSupported()
        send_json(resp, handler(req, **params))

    # falcon would answer OPTIONS by itself; resources answer 501 instead. In practice the CORS
    # layer (congress/api/cors.py) answers OPTIONS before a resource is reached.
    def on_options(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        raise MethodNotSupported()
