"""Persisted rows of pushed tables (congress.db.tabledata)."""

from __future__ import annotations

import pytest

from congress import exceptions
from congress.db import tabledata


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
