"""Persisted rows of pushed tables (congress.db.tabledata)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

import pytest

from congress import exceptions
from congress.db import api, migration, tabledata


def test_store_get_replace(db):
    assert tabledata.get_table(db, "ds", "t") is None
    assert tabledata.store_table(db, "ds", "t", [(1, "a", None), (2, "b", 1.5)]) == 2
    assert tabledata.get_table(db, "ds", "t") == [(1, "a", None), (2, "b", 1.5)]
    assert tabledata.store_table(db, "ds", "t", [["x"]]) == 1
    assert tabledata.get_table(db, "ds", "t") == [("x",)]
    assert tabledata.store_table(db, "ds", "t", []) == 0
    assert tabledata.get_table(db, "ds", "t") == []


def test_store_same_data_twice(db):
    rows = [("a", True)]
    tabledata.store_table(db, "ds", "t", rows)
    tabledata.store_table(db, "ds", "t", rows)
    assert tabledata.get_table(db, "ds", "t") == [("a", True)]


def test_store_accepts_sets_and_generators(db):
    tabledata.store_table(db, "ds", "t", {("a", 1)})
    tabledata.store_table(db, "ds", "u", (tuple([i]) for i in range(3)))
    assert tabledata.get_tables(db, "ds") == {"t": [("a", 1)], "u": [(0,), (1,), (2,)]}


def test_get_tables_and_delete(db):
    tabledata.store_table(db, "ds", "b", [(1,)])
    tabledata.store_table(db, "ds", "a", [(2,)])
    tabledata.store_table(db, "other", "a", [(3,)])
    assert list(tabledata.get_tables(db, "ds")) == ["a", "b"]
    assert tabledata.delete_tables(db, "ds", "a") == 1
    assert tabledata.get_tables(db, "ds") == {"b": [(1,)]}
    assert tabledata.delete_tables(db, "ds") == 1
    assert tabledata.delete_tables(db, "ds") == 0
    assert tabledata.get_tables(db, "other") == {"a": [(3,)]}


def test_large_table(db):
    rows = [(f"id-{i}", "x" * 100, i) for i in range(5000)]  # ~600 kB: beyond MySQL TEXT
    tabledata.store_table(db, "ds", "big", rows)
    assert tabledata.get_table(db, "ds", "big") == rows


@pytest.mark.parametrize("n", [0, 1, 6, 7, 13, 14, 15])
def test_a_big_table_is_encoded_in_batches(db, monkeypatch, n):
    """Encoded a batch of rows at a time: the same stored table, whatever the count."""
    monkeypatch.setattr(tabledata, "_ENCODE_BATCH", 7)
    rows = [(f"id-{i}", i, None, [1, "x"]) for i in range(n)]
    tabledata.store_table(db, "ds", "t", rows)
    assert tabledata.get_table(db, "ds", "t") == [tuple(r) for r in rows]
    assert tabledata._encode(rows) == tabledata._util.dumps(rows)


def test_the_stored_text_is_not_kept_after_the_write(db, monkeypatch):
    """The encoded table (megabytes for a big push) is freed once written: SQLAlchemy's
    compiled-statement cache keeps the first statement of each shape, so the text must be an
    execution parameter, not a value inside the statement. The insert and the update of a
    stored table, and a journal entry."""
    texts: list[str] = []

    def encode(rows):
        texts.append(tabledata._util.dumps([list(r) for r in rows]))
        return texts[-1]

    monkeypatch.setattr(tabledata, "_encode", encode)
    rows = [(f"r{i}",) for i in range(1000)]
    seq = tabledata.store_change(db, "ds", "t", rows=rows, added=rows, removed=[],
                                 known_seq=None)                      # inserts
    seq = tabledata.store_change(db, "ds", "t", rows=rows[1:], added=[], removed=rows[:1],
                                 known_seq=None)                      # updates
    seq = tabledata.store_change(db, "ds", "t", rows=rows[:-1], added=rows[:1],
                                 removed=rows[-1:], known_seq=seq)    # journals
    assert len(texts) == 4 and seq == 3
    gc.collect()
    # what is left: the list, the loop's variable and getrefcount's argument
    assert [sys.getrefcount(t) for t in texts] == [3] * 4
    assert sorted(tabledata.get_table(db, "ds", "t")) == sorted(rows[:-1])


def test_sqlite_keeps_no_copy_of_a_big_stored_text(tmp_path):
    """pysqlite keeps a connection's statements prepared, and SQLite the values last bound to
    them: each pooled connection that had stored a big table held a copy of its text. The
    connection that bound a big value is closed when it goes back to the pool."""
    lib = ctypes.CDLL(ctypes.util.find_library("sqlite3"))     # the library pysqlite uses
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    database = api.Database(f"sqlite:///{tmp_path}/congress.db")
    migration.ensure_schema(database)
    rows = [(f"row-{i:07d}", "x" * 40) for i in range(40000)]
    added = [(f"new-{i:07d}", "y" * 40) for i in range(20000)]
    assert len(tabledata._encode(added)) >= api.BIG_VALUE
    before = lib.sqlite3_memory_used()
    tabledata.store_table(database, "ds", "t", rows)                 # inserts: 2.3 MB
    tabledata.store_table(database, "ds", "t", rows[1:])             # updates: seq 2
    seq = tabledata.store_change(database, "ds", "t", rows=rows[1:] + added, added=added,
                                 removed=[], known_seq=2)            # a 1.2 MB journal entry
    held = lib.sqlite3_memory_used() - before
    assert seq == 3
    assert held < 512 * 1024, f"SQLite still holds {held} bytes"
    assert sorted(tabledata.get_table(database, "ds", "t")) == sorted(rows[1:] + added)
    database.dispose()


def test_store_joins_caller_transaction(db):
    with pytest.raises(RuntimeError), db.transaction() as conn:
        tabledata.store_table(conn, "ds", "t", [(1,)])
        assert tabledata.get_table(conn, "ds", "t") == [(1,)]
        raise RuntimeError("push failed later")
    assert tabledata.get_table(db, "ds", "t") is None


def test_unicode_rows(db):
    tabledata.store_table(db, "ds", "t", [("ünïcode \U0001F600",)])
    assert tabledata.get_table(db, "ds", "t") == [("ünïcode \U0001F600",)]


def test_bad_table_name(db):
    with pytest.raises(exceptions.BadRequest):
        tabledata.store_table(db, "ds", "", [(1,)])


# --------------------------------------------------------------------------- journal of changes
def _journal(db, ds_id, table):
    import sqlalchemy as sa

    from congress.db.schema import dstabledeltas as d
    with db.transaction() as conn:
        return [(r.seq, r.nrows) for r in conn.execute(
            sa.select(d.c.seq, d.c.nrows).where(d.c.ds_id == ds_id, d.c.tablename == table)
            .order_by(d.c.seq))]


def test_store_change_journals_a_small_change(db):
    rows = [(f"r{i}", i) for i in range(3000)]
    seq = tabledata.store_change(db, "ds", "t", rows=rows, added=rows, removed=[],
                                 known_seq=None)
    assert seq == 1 and _journal(db, "ds", "t") == [(1, 0)]     # a full write, and its mark
    new = [r for r in rows if r != ("r5", 5)] + [("new", -1)]
    seq = tabledata.store_change(db, "ds", "t", rows=new, added=[("new", -1)],
                                 removed=[("r5", 5)], known_seq=seq)
    assert seq == 2 and _journal(db, "ds", "t") == [(1, 0), (2, 2)]
    assert tabledata.get_table(db, "ds", "t") == new
    assert tabledata.get_tables_seq(db, "ds") == ({"t": new}, {"t": 2})
    # nothing changed: nothing written
    assert tabledata.store_change(db, "ds", "t", rows=new, added=[], removed=[],
                                  known_seq=2) == 2
    assert _journal(db, "ds", "t") == [(1, 0), (2, 2)]


def test_store_change_compacts_a_long_journal(db):
    rows = {(i,) for i in range(10)}
    seq = tabledata.store_change(db, "ds", "t", rows=rows, added=rows, removed=[],
                                 known_seq=None)
    for i in range(tabledata.JOURNAL_SLACK + 5):
        new = rows | {(100 + i,)}
        seq = tabledata.store_change(db, "ds", "t", rows=new, added=new - rows,
                                     removed=rows - new, known_seq=seq)
        rows = new
    journal = _journal(db, "ds", "t")
    assert journal[0][1] == 0 and sum(n for _, n in journal) <= tabledata.JOURNAL_SLACK + 10
    assert journal[-1][0] == seq == tabledata.JOURNAL_SLACK + 6    # numbers never go back
    assert sorted(tabledata.get_table(db, "ds", "t")) == sorted(rows)


def test_store_change_from_a_stale_writer_stores_the_table(db):
    """A writer whose rows are not the stored table's (another wrote since) writes it whole."""
    seq_a = tabledata.store_change(db, "ds", "t", rows=[(1,), (2,)], added=[(1,), (2,)],
                                   removed=[], known_seq=None)
    # another writer (it restored the table at seq_a) removes (2,)
    seq_b = tabledata.store_change(db, "ds", "t", rows=[(1,)], added=[], removed=[(2,)],
                                   known_seq=seq_a)
    assert seq_b == seq_a + 1
    # the first writer, still at seq_a, adds (3,) to what it holds: stored as a change that
    # would leave (2,) out of what it pushed; it stores its whole table instead
    seq = tabledata.store_change(db, "ds", "t", rows=[(1,), (2,), (3,)], added=[(3,)],
                                 removed=[], known_seq=seq_a)
    assert seq == seq_b + 1
    assert _journal(db, "ds", "t") == [(seq, 0)]
    assert tabledata.get_table(db, "ds", "t") == [(1,), (2,), (3,)]


def test_store_table_and_delete_clear_the_journal(db):
    seq = tabledata.store_change(db, "ds", "t", rows=[(1,)], added=[(1,)], removed=[],
                                 known_seq=None)
    tabledata.store_change(db, "ds", "t", rows=[(1,), (2,)], added=[(2,)], removed=[],
                           known_seq=seq)
    assert tabledata.store_table(db, "ds", "t", [(9,)]) == 1
    assert _journal(db, "ds", "t") == [(3, 0)]
    assert tabledata.get_table(db, "ds", "t") == [(9,)]
    tabledata.store_change(db, "ds", "t", rows=[(9,), (8,)], added=[(8,)], removed=[],
                           known_seq=3)
    assert tabledata.delete_tables(db, "ds") == 1
    assert _journal(db, "ds", "t") == []
    assert tabledata.get_tables(db, "ds") == {}


def test_compact_all_folds_journals(db):
    seq = tabledata.store_change(db, "ds", "t", rows=[(1,)], added=[(1,)], removed=[],
                                 known_seq=None)
    tabledata.store_change(db, "ds", "t", rows=[(2,)], added=[(2,)], removed=[(1,)],
                           known_seq=seq)
    assert tabledata.compact_all(db) == 1
    assert _journal(db, "ds", "t") == []
    assert tabledata.get_tables_seq(db, "ds") == ({"t": [(2,)]}, {})


def _value_strategy():
    from hypothesis import strategies as st
    pieces = st.sampled_from(['a', '"', '\\', '\n', '\x00', 'é', '\u2028', '\U0001F600',
                              ' ', '],[', '","', '\ud800'])
    return st.one_of(st.lists(pieces, max_size=4).map("".join),
                     st.integers(), st.none(), st.booleans())


def test_encode_is_the_json_encoder():
    """Rows joined as text (all values plain strings) or encoded (anything else): the same
    text as json.dumps, in batches of any size."""
    from unittest import mock

    from hypothesis import given, settings
    from hypothesis import strategies as st

    rows = st.lists(st.lists(_value_strategy(), max_size=4).map(tuple), max_size=12)

    @settings(max_examples=300, deadline=None)
    @given(rows, st.integers(1, 5))
    def check(data, batch):
        with mock.patch.object(tabledata, "_ENCODE_BATCH", batch):
            assert tabledata._encode(data) == tabledata._dumps_rows(data)

    check()
    big = [(f"host-{i}", "down", str(i)) for i in range(25_000)]
    assert tabledata._encode(big) == tabledata._dumps_rows(big)
