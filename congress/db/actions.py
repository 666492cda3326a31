"""The execution log of datasource actions (``action_log``).

Every function takes a connection first (and joins its transaction) or a
:class:`~congress.db.api.Database` (then runs in a transaction of its own, with retries).

A log entry is created when an action is requested (:func:`log_request`, or :func:`claim` for
reactive actions) and completed with its outcome (:func:`record_result`). :func:`claim` makes a
reactive action run once: the first node to insert its ``trigger_key`` wins; any later claim of the
same key (e.g. by a new leader re-deriving the same ``execute[...]`` row) gets None.

Entry dict: ``{"id", "created_at", "datasource", "action", "args", "requested_by", "trigger_key",
"status", "result", "error", "finished_at"}``; timestamps are ISO 8601 UTC text, ``args`` and
``result`` are JSON values.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from congress import exceptions
from congress.db import _util
from congress.db.api import connection_or_database
from congress.db.schema import ACTION_STATUSES, action_log

_MAX_ERROR_CHARS = 16000  # well inside a TEXT column even in 4-byte UTF-8


def _entry(m: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": int(m["id"]),
        "created_at": _util.isoformat(m["created_at"]),
        "datasource": m["datasource"],
        "action": m["action"],
        "args": _util.loads(m["args"], None),
        "requested_by": m["requested_by"],
        "trigger_key": m["trigger_key"],
        "status": m["status"],
        "result": _util.loads(m["result"], None),
        "error": m["error"],
        "finished_at": _util.isoformat(m["finished_at"]),
    }


def _json(value: Any, what: str) -> str:
    text = json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode("utf-8")) > _util.TEXT_BYTES:
        raise exceptions.BadRequest(f"Action {what} too large to log")
    return text


def _check_status(status: str) -> None:
    if status not in ACTION_STATUSES:
        raise ValueError(f"Unknown action status {status!r}; expected one of {ACTION_STATUSES}")


def _values(datasource: str, action: str, args: Any, requested_by: str | None,
            trigger_key: str | None, status: str) -> dict[str, Any]:
    _util.check_text(datasource, "Datasource name")
    _util.check_text(action, "Action name")
    _util.check_text(requested_by, "Requester", required=False)
    _util.check_text(trigger_key, "Trigger key", required=False)
    _check_status(status)
    return {
        "created_at": _util.utcnow(),
        "datasource": datasource,
        "action": action,
        "args": _json(args, "arguments"),
        "requested_by": requested_by,
        "trigger_key": trigger_key,
        "status": status,
        "result": None,
        "error": None,
        "finished_at": None,
    }


def _get(conn: Connection, log_id: int) -> Any:
    return conn.execute(sa.select(action_log).where(action_log.c.id == log_id)).first()


@connection_or_database()
def log_request(conn: Connection, datasource: str, action: str, args: Any = None, *,
                requested_by: str | None = None, trigger_key: str | None = None,
                status: str = "requested") -> dict[str, Any]:
    """Log a requested action; returns the new entry.

    Raises :class:`~congress.exceptions.Conflict` if ``trigger_key`` is already logged.
    """
    values = _values(datasource, action, args, requested_by, trigger_key, status)
    try:
        result = conn.execute(action_log.insert().values(**values))
    except sa_exc.IntegrityError as exc:
        raise exceptions.Conflict(f"Action with trigger key {trigger_key} already logged",
                                  code="action_already_claimed") from exc
    return _entry({**values, "id": result.inserted_primary_key[0]})


@connection_or_database()
def claim(conn: Connection, trigger_key: str, datasource: str, action: str, args: Any = None,
          *, requested_by: str | None = None) -> int | None:
    """Atomically log a reactive action under ``trigger_key``.

    Returns the new entry's id (always > 0) if this call inserted it, None if the key was
    already claimed (the action must then not be executed again).
    """
    _util.check_text(trigger_key, "Trigger key")
    values = _values(datasource, action, args, requested_by, trigger_key, "requested")
    try:
        with conn.begin_nested():  # a failed insert must not spoil the caller's transaction
            result = conn.execute(action_log.insert().values(**values))
    except sa_exc.IntegrityError:
        return None
    return int(result.inserted_primary_key[0])


@connection_or_database()
def record_result(conn: Connection, log_id: int, status: str, *, result: Any = None,
                  error: str | None = None) -> dict[str, Any]:
    """Store how an action ended (``succeeded``, ``failed`` or ``skipped``); returns the entry.

    Raises :class:`~congress.exceptions.NotFound` for an unknown id.
    """
    _check_status(status)
    values = {
        "status": status,
        "result": None if result is None else _json(result, "result"),
        "error": None if error is None else str(error)[:_MAX_ERROR_CHARS],
        "finished_at": _util.utcnow(),
    }
    updated = conn.execute(action_log.update().where(action_log.c.id == log_id).values(**values))
    if not updated.rowcount:
        raise exceptions.NotFound(f"No action log entry with id {log_id}",
                                  code="action_not_found")
    return _entry(_get(conn, log_id)._mapping)


@connection_or_database(readonly=True)
def get_action(conn: Connection, log_id: int) -> dict[str, Any]:
    """The entry with that id; :class:`~congress.exceptions.NotFound` if none."""
    row = _get(conn, log_id)
    if row is None:
        raise exceptions.NotFound(f"No action log entry with id {log_id}",
                                  code="action_not_found")
    return _entry(row._mapping)


@connection_or_database(readonly=True)
def find_by_trigger(conn: Connection, trigger_key: str) -> dict[str, Any] | None:
    """The entry claimed under ``trigger_key``, or None."""
    row = conn.execute(sa.select(action_log)
                       .where(action_log.c.trigger_key == trigger_key)).first()
    return None if row is None else _entry(row._mapping)


@connection_or_database(readonly=True)
def list_actions(conn: Connection, *, datasource: str | None = None, status: str | None = None,
                 since_id: int | None = None, limit: int | None = 100) -> list[dict[str, Any]]:
    """Entries in id (= request) order, optionally filtered; ``since_id`` excludes older ones."""
    stmt = sa.select(action_log)
    if datasource is not None:
        stmt = stmt.where(action_log.c.datasource == datasource)
    if status is not None:
        stmt = stmt.where(action_log.c.status == status)
    if since_id is not None:
        stmt = stmt.where(action_log.c.id > since_id)
    stmt = stmt.order_by(action_log.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_entry(r._mapping) for r in conn.execute(stmt)]


@connection_or_database()
def prune_actions(conn: Connection, older_than: datetime.datetime) -> int:
    """Delete entries created before ``older_than`` (naive UTC); returns how many."""
    result = conn.execute(action_log.delete().where(action_log.c.created_at < older_than))
    return int(result.rowcount or 0)
