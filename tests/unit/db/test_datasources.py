"""Datasources (congress.db.datasources) and their stored table data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from congress import exceptions
from congress.db import crypto, datasources, schema, tabledata

CONFIG = {"auth_url": "http://keystone:5000/v3", "username": "admin",
          "password": "s3cret-pw", "project_name": "admin", "poll_time": "10"}


def test_create_and_get(db, crypter):
    ds = datasources.create_datasource(db, "nova", "nova", CONFIG, description="compute",
                                       secret_fields=["password"])
    assert set(ds) == {"id", "name", "driver", "description", "enabled", "config"}
    assert ds["config"] == CONFIG
    assert ds["enabled"] is True
    assert ds["description"] == "compute"
    assert datasources.get_datasource(db, "nova") == ds
    assert datasources.get_datasource(db, ds["id"]) == ds
    assert datasources.find_datasource(db, "nova") == ds
    assert datasources.find_datasource(db, "nope") is None


def test_secret_fields_encrypted_at_rest(db, crypter):
    ds = datasources.create_datasource(db, "nova", "nova", CONFIG, secret_fields=["password"])
    with db.transaction() as conn:
        raw = conn.execute(sa.select(schema.datasources.c.config)).scalar()
    assert "s3cret-pw" not in raw
    stored = datasources.get_datasource(db, ds["id"], decrypt=False)["config"]
    assert stored[crypto.ENCRYPTED_FIELDS_KEY] == ["password"]
    assert stored["password"] != "s3cret-pw"
    assert crypter.decrypt(stored["password"]) == "s3cret-pw"
    assert stored["username"] == "admin"


def test_explicit_crypter_and_wrong_key(db, tmp_path):
    right = crypto.Crypter(str(tmp_path / "right"))
    wrong = crypto.Crypter(str(tmp_path / "wrong"))
    datasources.create_datasource(db, "nova", "nova", CONFIG, secret_fields=["password"],
                                  crypter=right)
    assert datasources.get_datasource(db, "nova", crypter=right)["config"] == CONFIG
    with pytest.raises(crypto.DecryptionError) as err:
        datasources.get_datasource(db, "nova", crypter=wrong)
    assert "s3cret" not in str(err.value)
    assert isinstance(err.value, exceptions.DatabaseError)


def test_no_secret_needs_no_key(db, monkeypatch):
    monkeypatch.setattr(crypto, "_default", None)
    ds = datasources.create_datasource(db, "plain", "fake", {"a": "1"},
                                       secret_fields=["password"])
    assert datasources.get_datasource(db, "plain") == ds
    assert datasources.list_datasources(db) == [ds]


def test_secret_without_configured_key_fails_clearly(db, monkeypatch):
    monkeypatch.setattr(crypto, "_default", None)
    with pytest.raises(exceptions.CongressError, match="encryption key"):
        datasources.create_datasource(db, "nova", "nova", CONFIG, secret_fields=["password"])
    assert datasources.list_datasources(db) == []


def test_defaults_and_disabled(db):
    ds = datasources.create_datasource(db, "d", "push", enabled=False, datasource_id="ds-1")
    assert ds == {"id": "ds-1", "name": "d", "driver": "push", "description": None,
                  "enabled": False, "config": {}}
    assert datasources.get_datasource(db, "d") == ds
    assert datasources.set_enabled(db, "d", True)["enabled"] is True
    assert datasources.get_datasource(db, "ds-1")["enabled"] is True
    with pytest.raises(exceptions.DatasourceNotFound):
        datasources.set_enabled(db, "nope", True)


def test_duplicate_name(db):
    datasources.create_datasource(db, "dup", "fake")
    with pytest.raises(exceptions.DatasourceExists,
                       match="Datasource already in use with name dup") as err:
        datasources.create_datasource(db, "dup", "other")
    assert err.value.http_status == 409


def test_duplicate_id(db):
    datasources.create_datasource(db, "a", "fake", datasource_id="x")
    with pytest.raises(exceptions.Conflict):
        datasources.create_datasource(db, "b", "fake", datasource_id="x")


@pytest.mark.parametrize("name", ["", None, "n" * 256])
def test_bad_names(db, name):
    with pytest.raises(exceptions.BadRequest):
        datasources.create_datasource(db, name, "fake")


def test_unknown(db):
    with pytest.raises(exceptions.DatasourceNotFound, match="Datasource not found nope") as err:
        datasources.get_datasource(db, "nope")
    assert err.value.http_status == 404
    with pytest.raises(exceptions.DatasourceNotFound):
        datasources.delete_datasource(db, "nope")


def test_list_by_name(db, crypter):
    for name in ("zz", "aa", "mm"):
        datasources.create_datasource(db, name, "fake", {"password": "p"},
                                      secret_fields=["password"])
    listed = datasources.list_datasources(db)
    assert [d["name"] for d in listed] == ["aa", "mm", "zz"]
    assert all(d["config"] == {"password": "p"} for d in listed)
    raw = datasources.list_datasources(db, decrypt=False)
    assert all(crypto.ENCRYPTED_FIELDS_KEY in d["config"] for d in raw)


def test_delete_removes_table_data(db):
    a = datasources.create_datasource(db, "a", "push")
    b = datasources.create_datasource(db, "b", "push")
    tabledata.store_table(db, a["id"], "t1", [(1,)])
    tabledata.store_table(db, a["id"], "t2", [(2,)])
    tabledata.store_table(db, b["id"], "t1", [(3,)])
    deleted = datasources.delete_datasource(db, "a")
    assert deleted["id"] == a["id"]
    assert datasources.find_datasource(db, a["id"]) is None
    assert tabledata.get_tables(db, a["id"]) == {}
    assert tabledata.get_tables(db, b["id"]) == {"t1": [(3,)]}


def test_delete_by_id_returns_stored_config(db, crypter):
    ds = datasources.create_datasource(db, "nova", "nova", CONFIG, secret_fields=["password"])
    deleted = datasources.delete_datasource(db, ds["id"])
    assert deleted["config"][crypto.ENCRYPTED_FIELDS_KEY] == ["password"]
    assert datasources.list_datasources(db) == []
