"""Reading requests: bounded bodies, JSON (Content-Type, charset and parse errors with the v1
API's messages), query parameters.

Query strings are parsed here (not with falcon's options, whose defaults differ between falcon
3 and 4): blank values are kept and repeated keys keep every value, as webob did.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import falcon

from congress.api.errors import ApiError, MethodNotSupported
from congress.datasources.json_array import has_lone_surrogate, reject_constant
from congress.exceptions import PayloadTooLarge

_CHUNK = 64 * 1024
_UTF8 = {"utf-8", "utf8"}


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes")


def check_declared_length(req: falcon.Request, limit: int) -> None:
    """413 as soon as a declared Content-Length exceeds ``limit``."""
    length = req.content_length
    if length is not None and length > limit:
        raise too_large(limit)


def read_body(req: falcon.Request, limit: int) -> bytes:
    """The raw request body (read once, cached on ``req.context``), at most ``limit`` bytes."""
    cached = getattr(req.context, "raw_body", None)
    if cached is not None:
        return cached
    body = b"".join(_body_chunks(req, limit))
    req.context.raw_body = body
    return body


def _body_chunks(req: falcon.Request, limit: int) -> Iterator[bytes]:
    """The body as it is read, :data:`_CHUNK` bytes at a time; 413 past ``limit`` bytes."""
    check_declared_length(req, limit)
    if req.content_length is not None:
        stream = req.bounded_stream
    elif req.env.get("wsgi.input_terminated"):
        # chunked body passed through by the server: read to EOF, but never past the limit
        stream = req.stream
    else:
        return
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        yield chunk


def _content_type(req: falcon.Request) -> tuple[str, dict[str, str]]:
    raw = req.content_type or ""
    parts = raw.split(";")
    mime = parts[0].strip().lower()
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"')
    return mime, params


def json_text(req: falcon.Request, limit: int) -> str:
    """The body as text, after the checks of a JSON body (Content-Type, charset, UTF-8); a
    failed check is a 400 with the message the v1 API always gave (doc/api.md §Conventions)."""
    mime, params = _content_type(req)
    mime = mime or "application/json"
    if mime != "application/json":
        raise ApiError(400, "Unsupported Content-Type; must be 'application/json'")
    charset = params.get("charset")
    if charset is not None and charset.lower() not in _UTF8:
        raise ApiError(400, "Unsupported charset: must be 'UTF-8'")
    text = getattr(req.context, "body_text", None)
    if text is not None:
        return text
    raw = getattr(req.context, "raw_body", None)
    try:
        text = raw.decode("utf-8") if raw is not None else _utf8_text(_body_chunks(req, limit))
    except UnicodeDecodeError as e:
        raise ApiError(400, f"Failed to parse body as {mime}: {e}") from e
    req.context.body_text = text        # the body is read once
    return text


def _utf8_text(chunks: Iterable[bytes]) -> str:
    """The chunks of a UTF-8 body decoded one by one as they are read: neither the whole
    body's bytes are joined (for 50 MB, ~40 ms holding the interpreter: a fresh mapping's
    pages filled) nor decoded in one call (~30 ms more), during which no other request runs.
    An error is the one-call decode's (its position in the whole body)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    kept: list[bytes] = []
    parts: list[str] = []
    try:
        for chunk in chunks:
            kept.append(chunk)
            parts.append(decoder.decode(chunk))
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        b"".join(kept).decode("utf-8")      # raises it again, positioned in the whole body
        raise
    return "".join(parts)


def parse_json(req: falcon.Request, limit: int, *, allow_empty: bool = False) -> Any:
    """The body as JSON; a wrong Content-Type or charset or a parse error is a 400 with the
    message the v1 API always gave (doc/api.md §Conventions).

    ``allow_empty``: a body of zero bytes (or only whitespace) yields ``None`` instead of a
    parse error.
    """
    text = json_text(req, limit)
    if allow_empty and not text.strip():
        return None
    try:
        value = json.loads(text, parse_constant=reject_constant)
    except ValueError as e:  # JSONDecodeError
        raise ApiError(400, f"Failed to parse body as application/json: {e}") from e
    except RecursionError as e:  # "[[[[..." nested deeper than the interpreter allows
        raise ApiError(400, "Failed to parse body as application/json: nested too "
                            "deeply") from e
    # UTF-8 cannot encode a surrogate, so one can only come from a \uD8xx..\uDFxx escape; a
    # pair of them is decoded to one character by json, a lone one stays and would fail
    # later in the database driver (500): refuse it here, once, for every endpoint
    if "\\u" in text and has_lone_surrogate(value):
        raise ApiError(400, "Failed to parse body as application/json: a string contains a "
                            "lone surrogate (\\ud800-\\udfff), which is not a Unicode "
                            "character")
    return value


# --------------------------------------------------------------------------- query string
def query_pairs(req: falcon.Request) -> list[tuple[str, str]]:
    return parse_qsl(req.query_string or "", keep_blank_values=True)


def query_all(req: falcon.Request, name: str) -> list[str]:
    return [v for k, v in query_pairs(req) if k == name]


def query_value(req: falcon.Request, name: str) -> str | None:
    """The last value of ``name`` (webob's ``params[name]``), or None."""
    values = query_all(req, name)
    return values[-1] if values else None


def query_has(req: falcon.Request, name: str) -> bool:
    return any(k == name for k, _ in query_pairs(req))


def flag_true_or_1(req: falcon.Request, name: str) -> bool:
    """``true`` (any case) or ``1``: simulate's ``delta`` and ``trace``."""
    value = query_value(req, name)
    return value is not None and (value.lower() == "true" or value == "1")


def flag_true(req: falcon.Request, name: str) -> bool:
    """``true`` (any case): the rows ``trace`` parameter."""
    value = query_value(req, name)
    return value is not None and value.lower() == "true"


def flag_default_true(req: falcon.Request, name: str) -> bool:
    """True unless the parameter says ``false`` / ``0`` / ``no`` (``include_rules``)."""
    value = query_value(req, name)
    return value is None or value.lower() not in ("false", "0", "no")


def action_name(req: falcon.Request) -> str:
    """The element ``POST ?action=`` value: exactly one, ``-`` read as ``_``
    (doc/api.md §Conventions)."""
    values = query_all(req, "action")
    if len(values) > 1:
        raise ApiError(400, "Action parameter may not be provided multiple times.")
    if not values:
        raise ApiError(400, "Missing required action parameter.")
    name = values[0].replace("-", "_")
    if not name.isidentifier():
        raise MethodNotSupported()
    return name
