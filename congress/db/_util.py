"""Small helpers shared by the repository modules."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from sqlalchemy import exc as sa_exc

from congress import exceptions


def utcnow() -> datetime.datetime:
    """Naive UTC timestamp, as stored in the database."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def new_id() -> str:
    return str(uuid.uuid4())


def isoformat(value: datetime.datetime | None) -> str | None:
    """ISO 8601 text of a stored (UTC) timestamp, with a trailing Z; None stays None."""
    if value is None:
        return None
    return value.isoformat(timespec="microseconds") + "Z"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except ValueError as exc:
        raise exceptions.DatabaseError(f"Corrupt JSON value in the database: {exc}") from exc


#: Bytes that fit a TEXT column on MySQL.
TEXT_BYTES = 65535


def check_text(value: Any, what: str, *, max_len: int | None = 255, required: bool = True,
               max_bytes: int | None = None,
               error: type[exceptions.CongressError] = exceptions.BadRequest) -> None:
    """Reject a value that would not fit its column: String(max_len) characters, or
    ``max_bytes`` bytes of UTF-8 (TEXT). The same on every backend."""
    if value is None:
        if required:
            raise error(f"{what} must be provided")
        return
    if not isinstance(value, str):
        raise error(f"{what} must be a string")
    if required and not value:
        raise error(f"{what} must not be empty")
    if max_len is not None and len(value) > max_len:
        raise error(f"{what} must be at most {max_len} characters long")
    if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
        raise error(f"{what} must be at most {max_bytes} bytes long")


def is_integrity_error(exc: BaseException) -> bool:
    return isinstance(exc, sa_exc.IntegrityError)
