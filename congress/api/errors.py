"""Every error response of the REST API is built here, and only here.

The body is the error envelope of the OpenStack Congress v1 API, which clients parse::

    {"error": {"message": <str>, "error_code": <int>, "error_data": <any|null>}}

An error never repeats a whole request: the message is cut at :data:`MESSAGE_LIMIT`
characters, every string in ``error_data`` at :data:`DATA_STRING_LIMIT` (see :func:`cap_data`).

How an exception becomes that envelope (:func:`envelope_for`):

* :class:`ApiError` (raised by the API layer itself for its own framing errors, e.g.
  ``Missing required action parameter.``): status, code and message exactly as given.
* :class:`~congress.exceptions.CongressError` with ``api_name`` (a name of the numbered error
  table, :data:`~congress.exceptions.API_ERRORS`): ``error_code`` = the table's number,
  ``message`` = ``"<description>::<exception message>"``, HTTP status = the table's status.
* any other ``CongressError``: ``error_code`` = its ``http_status``, ``message`` =
  ``"<HTTP reason phrase>::<exception message>"`` (``Not Found::No policy found ...``).
* falcon's own errors: an unmatched path is 404 ``The resource could not be found.``, a method
  the matched resource lacks is 501 ``Method not supported``, others keep their status.
* anything else: 500 ``Internal server error``; the traceback goes to the log, never to the body.

A denied API policy check is the one non-envelope error: 403 with the plain text
``Policy doesn't allow <action> to be performed.``, the text OpenStack Congress answered.

Deliberate differences from OpenStack Congress: the 404 message of an unmatched path is spelled
``The resource could not be found.`` (OpenStack Congress: ``resouce``); the 403 text is served as
``text/plain`` (OpenStack Congress labelled it ``application/json``); HTTP methods the API does not
know answer 501 like unsupported ones.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
from typing import Any

import falcon

from congress.exceptions import API_ERRORS, CongressError, ServiceUnavailable

LOG = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
TEXT_CONTENT_TYPE = "text/plain; charset=UTF-8"

_TRACEBACK_MARKER = "\nTraceback (most recent call last):"


class ApiError(Exception):
    """An error answered verbatim: no reason-phrase prefix, no table lookup."""

    def __init__(self, status: int, message: str, *, error_code: int | None = None,
                 data: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = status if error_code is None else error_code
        self.data = data


class NotFoundError(ApiError):
    """The plain ``404 Not found`` of an element or list that does not exist (the message
    clients of the v1 API know)."""

    def __init__(self, message: str = "Not found") -> None:
        super().__init__(404, message)


class MethodNotSupported(ApiError):
    def __init__(self) -> None:
        super().__init__(501, "Method not supported")


class PolicyDenied(Exception):
    """API policy (oslo.policy) refused ``action``; answered 403 in plain text."""

    def __init__(self, action: str) -> None:
        super().__init__(f"Policy doesn't allow {action} to be performed.")
        self.action = action


class ApiRequestError(CongressError):
    """An error of the numbered table (doc/api.md#numbered-error-codes) raised by the API layer
    while checking a request.

    ``ApiRequestError("policy_name_must_be_provided")`` answers 400 with error_code 1010 and
    message ``A name must be provided when creating a policy``.
    """

    code = "api_request_error"

    def __init__(self, api_name: str, message: str = "", *, data: Any = None) -> None:
        if api_name not in API_ERRORS:
            raise ValueError(f"unknown API error name {api_name!r}")
        super().__init__(message, data=data, http_status=API_ERRORS[api_name][2])
        self.api_name = api_name


def reason_phrase(status: int) -> str:
    return http.client.responses.get(status, "Unknown error")


def clean_message(message: Any) -> str:
    """Drop a remote traceback and the quoting RPC layers wrap around messages."""
    text = "" if message is None else str(message)
    if _TRACEBACK_MARKER not in text:
        return text
    # a message that went through oslo.messaging's remote-error formatting
    text = text.split(_TRACEBACK_MARKER, 1)[0]
    if text[:2] in ("u'", 'u"'):
        text = text[1:]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text


#: the most characters of an error message an answer carries
MESSAGE_LIMIT = 1024
#: the most characters of any one string in ``error_data`` (error data often repeats input)
DATA_STRING_LIMIT = 200
#: the most items of a list / keys of an object in ``error_data``, and how deep it goes
DATA_ITEMS_LIMIT = 50
DATA_DEPTH_LIMIT = 6


def cap_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def cap_data(value: Any, depth: int = 0) -> Any:
    """``error_data`` bounded: an error never repeats a whole (possibly huge) request."""
    if isinstance(value, str):
        return cap_text(value, DATA_STRING_LIMIT)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= DATA_DEPTH_LIMIT:
        return cap_text(str(value), DATA_STRING_LIMIT)
    if isinstance(value, dict):
        items = list(value.items())
        capped = {cap_text(str(k), DATA_STRING_LIMIT): cap_data(v, depth + 1)
                  for k, v in items[:DATA_ITEMS_LIMIT]}
        if len(items) > DATA_ITEMS_LIMIT:
            capped["..."] = f"{len(items) - DATA_ITEMS_LIMIT} more keys"
        return capped
    if isinstance(value, (list, tuple)):
        capped_list = [cap_data(v, depth + 1) for v in value[:DATA_ITEMS_LIMIT]]
        if len(value) > DATA_ITEMS_LIMIT:
            capped_list.append(f"... {len(value) - DATA_ITEMS_LIMIT} more items")
        return capped_list
    return cap_text(str(value), DATA_STRING_LIMIT)


def _envelope(message: str, error_code: int, data: Any = None) -> dict[str, Any]:
    return {"error": {"message": cap_text(message, MESSAGE_LIMIT), "error_code": error_code,
                      "error_data": cap_data(data)}}


def envelope_for(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(HTTP status, envelope) for ``exc``; see the module docstring."""
    if isinstance(exc, ApiError):
        return exc.status, _envelope(exc.message, exc.error_code, exc.data)

    if isinstance(exc, CongressError):
        message = clean_message(exc.message)
        name = getattr(exc, "api_name", None)
        if name and name in API_ERRORS:
            number, description, status = API_ERRORS[name]
            text = f"{description}::{message}" if message else description
            return status, _envelope(text, number, exc.data)
        status = exc.http_status if exc.http_status in http.client.responses else 500
        phrase = reason_phrase(status)
        text = f"{phrase}::{message}" if message else phrase
        return status, _envelope(text, status, exc.data)

    if isinstance(exc, falcon.HTTPError):
        status = falcon.http_status_to_code(exc.status)
        if status == 404:
            return 404, _envelope("The resource could not be found.", 404)
        if status == 405:
            return 501, _envelope("Method not supported", 501)
        phrase = reason_phrase(status)
        detail = exc.description or ""
        text = f"{phrase}::{detail}" if detail else phrase
        return status, _envelope(text, status)

    return 500, _envelope("Internal server error", 500)


def _dumps(body: Any) -> bytes:
    return (json.dumps(body, default=str) + "\n").encode("utf-8")


def handle_exception(req: falcon.Request, resp: falcon.Response, ex: BaseException,
                     params: dict[str, Any]) -> None:
    """The single falcon error handler (registered for ``Exception`` and ``HTTPError``)."""
    if isinstance(ex, PolicyDenied):
        LOG.debug("%s %s: %s", req.method, req.path, ex)
        resp.status = falcon.code_to_http_status(403)
        resp.content_type = TEXT_CONTENT_TYPE
        resp.data = str(ex).encode("utf-8")
        return

    status, body = envelope_for(ex)
    if status >= 500 and not isinstance(ex, (ApiError, CongressError, falcon.HTTPError)):
        LOG.error("Unexpected error handling %s %s", req.method, req.path, exc_info=ex)
    elif status >= 500:
        LOG.warning("%s %s failed: %s", req.method, req.path, body["error"]["message"])
    else:
        LOG.debug("%s %s rejected: %s", req.method, req.path, body["error"]["message"])

    if isinstance(ex, ServiceUnavailable):
        # the service is expected back: tell clients when to try again
        retry_after = getattr(ex, "retry_after", None) or 1
        resp.set_header("Retry-After", str(max(1, math.ceil(retry_after))))
    if isinstance(ex, falcon.HTTPError):
        # keep headers falcon attached (e.g. Retry-After), but never a stale Allow
        for name, value in (ex.headers or {}).items():
            if name.lower() not in ("allow", "content-type", "content-length"):
                resp.set_header(name, value)
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = JSON_CONTENT_TYPE
    resp.data = _dumps(body)
