"""Rows of pushed datasource tables kept in ``dstabledata`` (the ``persist_data`` option).

One row per (datasource id, table): the table's rows as a JSON list of lists. A driver restores its
state from here when it starts (warm standby). Every function takes a connection first (so a push
is stored in the caller's transaction, atomically with anything else it writes) or a
:class:`~congress.db.api.Database` (then runs in a transaction of its own, with retries).

Rows come back as a list of tuples, in the order they were stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from congress.db import _util
from congress.db.api import connection_or_database
from congress.db.schema import dstabledata


def _encode(rows: Iterable[Sequence[Any]]) -> str:
    return _util.dumps([list(row) for row in rows])


def _decode(text: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in _util.loads(text, [])]


@connection_or_database()
def store_table(conn: Connection, ds_id: str, tablename: str,
                rows: Iterable[Sequence[Any]]) -> int:
    """Replace the stored rows of one table; returns how many rows were stored."""
    _util.check_text(tablename, "Table name")
    data = [list(row) for row in rows]
    text = _util.dumps(data)
    where = (dstabledata.c.ds_id == ds_id, dstabledata.c.tablename == tablename)
    # MySQL dialects count matched (not changed) rows, so rowcount says whether the row exists.
    if conn.execute(dstabledata.update().where(*where).values(tabledata=text)).rowcount:
        return len(data)
    try:
        conn.execute(dstabledata.insert().values(ds_id=ds_id, tablename=tablename,
                                                 tabledata=text))
    except sa_exc.IntegrityError:
        # Another transaction inserted it in between: ours is the newer data.
        conn.execute(dstabledata.update().where(*where).values(tabledata=text))
    return len(data)


@connection_or_database(readonly=True)
def get_table(conn: Connection, ds_id: str, tablename: str) -> list[tuple[Any, ...]] | None:
    """The stored rows of one table; None if nothing is stored for it."""
    text = conn.execute(sa.select(dstabledata.c.tabledata).where(
        dstabledata.c.ds_id == ds_id, dstabledata.c.tablename == tablename)).scalar()
    return None if text is None else _decode(text)


@connection_or_database(readonly=True)
def get_tables(conn: Connection, ds_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored table of a datasource: ``{tablename: rows}``."""
    rows = conn.execute(sa.select(dstabledata.c.tablename, dstabledata.c.tabledata)
                        .where(dstabledata.c.ds_id == ds_id)
                        .order_by(dstabledata.c.tablename))
    return {r.tablename: _decode(r.tabledata) for r in rows}


@connection_or_database()
def delete_tables(conn: Connection, ds_id: str, tablename: str | None = None) -> int:
    """Forget one table (or all tables) of a datasource; returns how many were deleted."""
    stmt = dstabledata.delete().where(dstabledata.c.ds_id == ds_id)
    if tablename is not None:
        stmt = stmt.where(dstabledata.c.tablename == tablename)
    return int(conn.execute(stmt).rowcount or 0)
