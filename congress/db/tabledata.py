"""Rows of pushed datasource tables kept in ``dstabledata`` (the ``persist_data`` option).

One row per (datasource id, table): the table's rows as a JSON list of lists, plus a journal of
the changes made since that row was written (``dstabledeltas``: one entry per push, the rows it
added and removed). A push that changes a few rows of a big table stores only those rows
(:func:`store_change`); once the journal holds more rows than half the table (plus
:data:`JOURNAL_SLACK`), the push rewrites the table's row and empties its journal, in the same
transaction, so what a restore reads stays within ~1.5× the table. Every write of a table has a
sequence number, increasing for ever (a full write leaves an empty entry as its mark), so a
writer that remembers the number it last read or wrote can tell whether the stored table is
still what it holds; when it is not, :func:`store_change` writes the whole table.

A driver restores its state from here when it starts (warm standby). Every function takes a
connection first (so a push is stored in the caller's transaction, atomically with anything else
it writes) or a :class:`~congress.db.api.Database` (then runs in a transaction of its own, with
retries).

Rows come back as a list of tuples: a table without journal entries in the order it was
stored; a journaled change removes rows where they were and appends the rows it added.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from congress.db import _util
from congress.db.api import connection_or_database
from congress.db.schema import dstabledata, dstabledeltas

#: Rows a journal may hold beyond half its table before a push compacts it.
JOURNAL_SLACK = 1000


#: rows encoded per call of the JSON encoder (which holds the interpreter while it runs)
_ENCODE_BATCH = 10000


def _dumps_rows(rows: list[Sequence[Any]]) -> str:
    # rows of scalars cannot hold themselves: no check for cycles (a dict entry per row)
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False, check_circular=False)


#: what a JSON string may not hold as it is (UTF-8 bytes: a multi-byte character has none)
_UNSAFE = bytes(range(0x20)) + b"\\"


def _rows_text(rows: list[Sequence[Any]]) -> str:
    """``_dumps_rows(rows)[1:-1]`` (the rows, comma-separated), by joining when every value is
    a string that needs no escape (a pushed table's usual rows: 4-5x faster than the encoder,
    which makes a new object for each quoted value): the joined text holds exactly the quotes
    the joins put there, and no control character or backslash."""
    try:
        text = '"],["'.join(map('","'.join, rows))     # TypeError unless all are strings
        raw = text.encode()                             # UnicodeEncodeError: a lone surrogate
    except (TypeError, UnicodeEncodeError):
        return _dumps_rows(rows)[1:-1]
    if rows and text.count('"') == 2 * sum(map(len, rows)) - 2 \
            and len(raw.translate(None, _UNSAFE)) == len(raw):
        return '["' + text + '"]'
    return _dumps_rows(rows)[1:-1]


def _encode(rows: Iterable[Sequence[Any]]) -> str:
    # rows are tuples or lists, which JSON writes alike: no copy of each row; a big table in
    # batches, so that other threads (API requests) run between them
    data = rows if isinstance(rows, list) else list(rows)
    parts = [_rows_text(data[a:a + _ENCODE_BATCH]) for a in range(0, len(data), _ENCODE_BATCH)]
    return "[" + ",".join(parts) + "]"


def _decode(text: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in _util.loads(text, [])]


def _write_base(conn: Connection, ds_id: str, tablename: str, text: str) -> None:
    # The (big) text is an execution parameter, never a value of the statement: SQLAlchemy's
    # compiled-statement cache keeps the first statement of each shape, values and all, for
    # the life of the process.
    where = (dstabledata.c.ds_id == ds_id, dstabledata.c.tablename == tablename)
    update = dstabledata.update().where(*where)
    # MySQL dialects count matched (not changed) rows, so rowcount says whether the row exists.
    if conn.execute(update, {"tabledata": text}).rowcount:
        return
    try:
        conn.execute(dstabledata.insert(),
                     {"ds_id": ds_id, "tablename": tablename, "tabledata": text})
    except sa_exc.IntegrityError:
        # Another transaction inserted it in between: ours is the newer data.
        conn.execute(update, {"tabledata": text})


def _journal_state(conn: Connection, ds_id: str, tablename: str) -> tuple[int, int]:
    """(last sequence number, rows in the journal) of one table."""
    d = dstabledeltas.c
    seq, nrows = conn.execute(
        sa.select(sa.func.coalesce(sa.func.max(d.seq), 0),
                  sa.func.coalesce(sa.func.sum(d.nrows), 0))
        .where(d.ds_id == ds_id, d.tablename == tablename)).one()
    return int(seq), int(nrows)


def _store_full(conn: Connection, ds_id: str, tablename: str,
                rows: Iterable[Sequence[Any]], last_seq: int) -> int:
    _write_base(conn, ds_id, tablename, _encode(rows))
    d = dstabledeltas.c
    conn.execute(dstabledeltas.delete().where(d.ds_id == ds_id, d.tablename == tablename))
    seq = last_seq + 1
    conn.execute(dstabledeltas.insert().values(ds_id=ds_id, tablename=tablename, seq=seq,
                                               nrows=0, added="[]", removed="[]"))
    return seq


@connection_or_database()
def store_table(conn: Connection, ds_id: str, tablename: str,
                rows: Iterable[Sequence[Any]]) -> int:
    """Replace the stored rows of one table; returns how many rows were stored."""
    _util.check_text(tablename, "Table name")
    data = rows if isinstance(rows, list) else list(rows)
    _store_full(conn, ds_id, tablename, data, _journal_state(conn, ds_id, tablename)[0])
    return len(data)


@connection_or_database()
def store_change(conn: Connection, ds_id: str, tablename: str, *,
                 rows: Collection[Sequence[Any]], added: Collection[Sequence[Any]],
                 removed: Collection[Sequence[Any]], known_seq: int | None) -> int:
    """Store a new content ``rows`` of a table that differs from the content the caller last
    read or wrote (sequence number ``known_seq``) by ``added`` and ``removed``; returns the
    table's new sequence number (the caller keeps it for its next change).

    Only the change is written (a journal entry) unless the stored table is not at
    ``known_seq`` (``None``: not known) or the journal would outgrow half the table (plus
    :data:`JOURNAL_SLACK` rows): then ``rows`` replace the stored table and its journal.
    Nothing changed and the stored table at ``known_seq``: nothing is written.
    """
    _util.check_text(tablename, "Table name")
    last_seq, journaled = _journal_state(conn, ds_id, tablename)
    change = len(added) + len(removed)
    if (known_seq is None or known_seq != last_seq
            or journaled + change > len(rows) // 2 + JOURNAL_SLACK):
        return _store_full(conn, ds_id, tablename, rows, last_seq)
    if not change:
        return last_seq
    conn.execute(dstabledeltas.insert(), {
        "ds_id": ds_id, "tablename": tablename, "seq": last_seq + 1, "nrows": change,
        "added": _encode(added), "removed": _encode(removed)})
    return last_seq + 1


def _read(conn: Connection, ds_id: str, tablename: str | None
          ) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, int]]:
    base = sa.select(dstabledata.c.tablename, dstabledata.c.tabledata).where(
        dstabledata.c.ds_id == ds_id)
    d = dstabledeltas.c
    journal = sa.select(d.tablename, d.seq, d.nrows, d.added, d.removed).where(
        d.ds_id == ds_id)
    if tablename is not None:
        base = base.where(dstabledata.c.tablename == tablename)
        journal = journal.where(d.tablename == tablename)
    tables = {r.tablename: _decode(r.tabledata) for r in conn.execute(base)}
    seqs: dict[str, int] = {}
    current: dict[str, dict[tuple[Any, ...], None]] = {}
    for e in conn.execute(journal.order_by(d.tablename, d.seq)):
        seqs[e.tablename] = int(e.seq)
        tables.setdefault(e.tablename, [])
        if not e.nrows:
            continue
        rows = current.get(e.tablename)
        if rows is None:
            rows = current[e.tablename] = dict.fromkeys(tables[e.tablename])
        for row in _decode(e.removed):
            rows.pop(row, None)
        for row in _decode(e.added):
            rows[row] = None
    for name, rows in current.items():
        tables[name] = list(rows)
    return dict(sorted(tables.items())), seqs


@connection_or_database(readonly=True)
def get_table(conn: Connection, ds_id: str, tablename: str) -> list[tuple[Any, ...]] | None:
    """The stored rows of one table; None if nothing is stored for it."""
    return _read(conn, ds_id, tablename)[0].get(tablename)


@connection_or_database(readonly=True)
def get_tables(conn: Connection, ds_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored table of a datasource: ``{tablename: rows}``."""
    return _read(conn, ds_id, None)[0]


@connection_or_database(readonly=True)
def get_tables_seq(conn: Connection, ds_id: str
                   ) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, int]]:
    """Every stored table of a datasource and the sequence number each is at
    (``{tablename: rows}``, ``{tablename: seq}``; a table stored before the journal existed has
    no number: its next change is stored whole)."""
    return _read(conn, ds_id, None)


@connection_or_database()
def compact_all(conn: Connection) -> int:
    """Fold every journal into its table's row and empty the journals; returns how many tables
    were rewritten."""
    d = dstabledeltas.c
    keys = conn.execute(sa.select(d.ds_id, d.tablename).where(d.nrows > 0).distinct()).all()
    for ds_id, tablename in keys:
        rows = _read(conn, ds_id, tablename)[0][tablename]
        _write_base(conn, ds_id, tablename, _encode(rows))
    conn.execute(dstabledeltas.delete())
    return len(keys)


@connection_or_database()
def delete_tables(conn: Connection, ds_id: str, tablename: str | None = None) -> int:
    """Forget one table (or all tables) of a datasource; returns how many were deleted."""
    stmt = dstabledata.delete().where(dstabledata.c.ds_id == ds_id)
    journal = dstabledeltas.delete().where(dstabledeltas.c.ds_id == ds_id)
    names = sa.select(dstabledeltas.c.tablename).where(dstabledeltas.c.ds_id == ds_id)
    base_names = sa.select(dstabledata.c.tablename).where(dstabledata.c.ds_id == ds_id)
    if tablename is not None:
        stmt = stmt.where(dstabledata.c.tablename == tablename)
        journal = journal.where(dstabledeltas.c.tablename == tablename)
        names = names.where(dstabledeltas.c.tablename == tablename)
        base_names = base_names.where(dstabledata.c.tablename == tablename)
    gone = {r[0] for r in conn.execute(names)} | {r[0] for r in conn.execute(base_names)}
    conn.execute(journal)
    conn.execute(stmt)
    return len(gone)
