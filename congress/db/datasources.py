"""Datasources (driver instances) as stored in the ``datasources`` table.

Every function takes a connection first (and joins its transaction) or a
:class:`~congress.db.api.Database` (then runs in a transaction of its own, with retries).

Datasource dict: ``{"id", "name", "driver", "description", "enabled", "config"}``. ``config`` is
decrypted (plain values, no ``__encrypted_fields``) unless ``decrypt=False`` is asked for, which
returns the config as stored: secret values as Fernet tokens and the ``__encrypted_fields`` list.
Masking secrets for API output is the caller's job (:func:`congress.db.crypto.encrypted_fields`
tells which fields are secret).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from congress import exceptions
from congress.db import _util, crypto
from congress.db.api import connection_or_database
from congress.db.schema import datasources, dstabledata, dstabledeltas


def _ds_dict(m: Mapping[str, Any], decrypt: bool,
             crypter: crypto.Crypter | None) -> dict[str, Any]:
    config = _util.loads(m["config"], {})
    if decrypt:
        config = crypto.decrypt_config(config, crypter)
    return {
        "id": m["id"],
        "name": m["name"],
        "driver": m["driver"],
        "description": m["description"],
        "enabled": True if m["enabled"] is None else bool(m["enabled"]),
        "config": config,
    }


def _ds_row(conn: Connection, name_or_id: str, *, for_update: bool = False) -> Any:
    for column in (datasources.c.id, datasources.c.name):
        stmt = sa.select(datasources).where(column == name_or_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is not None:
            return row
    return None


def _exists(name: str) -> exceptions.DatasourceExists:
    return exceptions.DatasourceExists(f"Datasource already in use with name {name}")


@connection_or_database()
def create_datasource(conn: Connection, name: str, driver: str,
                      config: Mapping[str, Any] | None = None, *,
                      description: str | None = None, enabled: bool = True,
                      secret_fields: Iterable[str] = (), datasource_id: str | None = None,
                      crypter: crypto.Crypter | None = None) -> dict[str, Any]:
    """Store a datasource and return it (with ``config`` as given, unencrypted).

    The values of ``secret_fields`` (the driver's ``secret`` list) are encrypted in the stored
    config. Validating the name, driver and options is the datasource manager's job.
    Raises :class:`~congress.exceptions.DatasourceExists` if the name is taken.
    """
    _util.check_text(name, "Datasource name")
    _util.check_text(driver, "Driver name")
    _util.check_text(description, "Description", max_len=None, max_bytes=_util.TEXT_BYTES,
                     required=False)
    config = dict(config or {})
    stored = crypto.encrypt_config(config, secret_fields, crypter)
    ds_id = datasource_id or _util.new_id()
    if conn.execute(sa.select(datasources.c.id).where(datasources.c.name == name)
                    .with_for_update()).first() is not None:
        raise _exists(name)
    values = {
        "id": ds_id,
        "name": name,
        "driver": driver,
        "config": _util.dumps(stored),
        "description": description,
        "enabled": bool(enabled),
    }
    try:
        conn.execute(datasources.insert().values(**values))
    except sa_exc.IntegrityError as exc:
        if conn.execute(sa.select(datasources.c.id)
                        .where(datasources.c.name == name)).first() is not None:
            raise _exists(name) from exc
        raise exceptions.Conflict(f"Datasource with id {ds_id} already exists") from exc
    return _ds_dict({**values, "config": _util.dumps(config)}, decrypt=False, crypter=None)


@connection_or_database(readonly=True)
def get_datasource(conn: Connection, name_or_id: str, *, decrypt: bool = True,
                   crypter: crypto.Crypter | None = None) -> dict[str, Any]:
    """The datasource with that id or name.

    Raises :class:`~congress.exceptions.DatasourceNotFound`.
    """
    row = _ds_row(conn, name_or_id)
    if row is None:
        raise exceptions.DatasourceNotFound(f"Datasource not found {name_or_id}")
    return _ds_dict(row._mapping, decrypt, crypter)


@connection_or_database(readonly=True)
def find_datasource(conn: Connection, name_or_id: str, *, decrypt: bool = True,
                    crypter: crypto.Crypter | None = None) -> dict[str, Any] | None:
    """Like :func:`get_datasource` but None when there is no such datasource."""
    row = _ds_row(conn, name_or_id)
    return None if row is None else _ds_dict(row._mapping, decrypt, crypter)


@connection_or_database(readonly=True)
def list_datasources(conn: Connection, *, decrypt: bool = True,
                     crypter: crypto.Crypter | None = None) -> list[dict[str, Any]]:
    """Every datasource, by name."""
    rows = conn.execute(sa.select(datasources).order_by(datasources.c.name))
    return [_ds_dict(r._mapping, decrypt, crypter) for r in rows]


@connection_or_database()
def set_enabled(conn: Connection, name_or_id: str, enabled: bool) -> dict[str, Any]:
    """Enable or disable a datasource; returns it with the config as stored."""
    row = _ds_row(conn, name_or_id, for_update=True)
    if row is None:
        raise exceptions.DatasourceNotFound(f"Datasource not found {name_or_id}")
    conn.execute(datasources.update().where(datasources.c.id == row.id)
                 .values(enabled=bool(enabled)))
    return _ds_dict({**row._mapping, "enabled": bool(enabled)}, False, None)


@connection_or_database()
def delete_datasource(conn: Connection, name_or_id: str) -> dict[str, Any]:
    """Delete a datasource and its stored table data; returns it with the config as stored.

    Raises :class:`~congress.exceptions.DatasourceNotFound`.
    """
    row = _ds_row(conn, name_or_id, for_update=True)
    if row is None:
        raise exceptions.DatasourceNotFound(f"Datasource not found {name_or_id}")
    conn.execute(dstabledata.delete().where(dstabledata.c.ds_id == row.id))
    conn.execute(dstabledeltas.delete().where(dstabledeltas.c.ds_id == row.id))
    conn.execute(datasources.delete().where(datasources.c.id == row.id))
    return _ds_dict(row._mapping, False, None)
