"""CORS: the outermost layer of the API (a WSGI wrapper), so that preflight requests need no
token, as in the original's paste pipeline (``cors`` first).

It follows the W3C CORS rules the way oslo.middleware's ``cors`` middleware applies them, with
the ``[cors]`` options of that middleware (:data:`congress.config.cors_opts`), and the original
Congress's defaults for the allowed methods and headers:

* ``OPTIONS`` on any path is answered here, an empty 200 (the API has no ``OPTIONS`` resource).
  When it is a preflight (``Origin`` and ``Access-Control-Request-Method``) from an allowed
  origin, for an allowed method, asking only for allowed or simple headers, the answer carries
  ``Access-Control-Allow-Origin`` (and ``-Credentials``, ``-Max-Age``, ``-Allow-Methods`` with
  the method asked for, ``-Allow-Headers`` with the headers asked for, ``Vary: Origin``);
  otherwise it carries none of them, and the browser refuses the request.
* Any other request with an allowed ``Origin`` gets ``Access-Control-Allow-Origin`` (the
  origin, or ``*`` when that is what is allowed), ``Vary: Origin``, ``-Allow-Credentials`` and
  ``-Expose-Headers`` as configured.

Without ``[cors] allowed_origin`` only the empty 200 for ``OPTIONS`` remains.

Congress does its own instead of wrapping oslo.middleware's: importing
oslo.middleware loads every middleware it has (webob, jinja2, bcrypt ...), a tenth of a
second of the server's start-up for this one option group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# the header names a browser may always send (CORS "simple headers"), upper case
SIMPLE_HEADERS = frozenset(h.upper() for h in (
    "Accept", "Accept-Language", "Content-Type", "Cache-Control", "Content-Language",
    "Expires", "Last-Modified", "Pragma"))

_EMPTY_200 = [("Content-Type", "text/html; charset=UTF-8"), ("Content-Length", "0")]


def _split(value: str | None) -> list[str]:
    """A comma-separated header value as a list of its non-empty, stripped parts."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class Cors:
    """The CORS wrapper of ``inner`` for the ``[cors]`` option group ``group``."""

    def __init__(self, inner: WSGIApp, group: Any) -> None:
        self.inner = inner
        self.origins = frozenset(group.allowed_origin or ())
        self.credentials = bool(group.allow_credentials)
        self.expose = ",".join(group.expose_headers or ())
        self.max_age = group.max_age
        self.methods = frozenset(group.allow_methods or ())
        self.headers = SIMPLE_HEADERS | {h.upper() for h in group.allow_headers or ()}

    def allowed(self, origin: str | None) -> str | None:
        """What ``Access-Control-Allow-Origin`` says to ``origin``; None when it is not allowed."""
        if origin is None or not self.origins:
            return None
        if origin in self.origins:
            return origin
        return "*" if "*" in self.origins else None

    def preflight(self, env: dict[str, Any]) -> list[tuple[str, str]]:
        """The CORS headers of the answer to the ``OPTIONS`` request ``env`` (none, unless it
        is a preflight that asks only for what is allowed)."""
        origin = self.allowed(env.get("HTTP_ORIGIN"))
        method = env.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        asked = _split(env.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"))
        if origin is None or method not in self.methods or any(
                h.upper() not in self.headers for h in asked):
            return []
        headers = [("Vary", "Origin"), ("Access-Control-Allow-Origin", origin)]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if self.max_age:
            headers.append(("Access-Control-Max-Age", str(self.max_age)))
        headers.append(("Access-Control-Allow-Methods", method))
        if asked:
            headers.append(("Access-Control-Allow-Headers", ",".join(asked)))
        return headers

    def simple(self, origin: str, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """``headers`` of a response with the CORS headers for the allowed ``origin`` added
        (left alone when the response already has its own ``Access-Control-Allow-Origin``)."""
        names = {name.lower(): i for i, (name, _value) in enumerate(headers)}
        if "access-control-allow-origin" in names:
            return headers
        headers = list(headers)
        vary = names.get("vary")
        if vary is None:
            headers.append(("Vary", "Origin"))
        else:
            headers[vary] = (headers[vary][0], headers[vary][1] + ",Origin")
        headers.append(("Access-Control-Allow-Origin", origin))
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        if self.expose:
            headers.append(("Access-Control-Expose-Headers", self.expose))
        return headers

    def __call__(self, env: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if env.get("REQUEST_METHOD") == "OPTIONS":
            start_response("200 OK", _EMPTY_200 + self.preflight(env))
            return [b""]
        origin = self.allowed(env.get("HTTP_ORIGIN"))
        if origin is None:
            return self.inner(env, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, self.simple(origin, headers), exc_info)
        return self.inner(env, start)

