"""Library policies: policy templates kept in ``library_policies``, not active until instantiated.

Every function takes a connection first (and joins its transaction) or a
:class:`~congress.db.api.Database` (then runs in a transaction of its own, with retries).

Library policy dict: ``{"id", "name", "abbreviation", "description", "kind", "rules"}`` where
``rules`` is a list of ``{"rule", "name"?, "comment"?}``; with ``include_rules=False`` the
``rules`` key is left out. Validating the body (JSON schema, name, kind) is the caller's job;
missing optional fields get the v1 API's defaults (kind ``nonrecursive``, abbreviation
``name[:5]``, description ``""``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from congress import exceptions
from congress.db import _util
from congress.db.api import connection_or_database
from congress.db.schema import library_policies

DEFAULT_KIND = "nonrecursive"


def _lp_dict(m: Mapping[str, Any], include_rules: bool = True) -> dict[str, Any]:
    out = {
        "id": m["id"],
        "name": m["name"],
        "abbreviation": m["abbreviation"],
        "description": m["description"],
        "kind": m["kind"],
    }
    if include_rules:
        out["rules"] = _util.loads(m["rules"], [])
    return out


def _values(policy: Mapping[str, Any]) -> dict[str, Any]:
    name = policy.get("name")
    _util.check_text(name, "Library policy name")
    abbreviation = policy.get("abbreviation") or name[:5]
    _util.check_text(abbreviation, "Library policy abbreviation", max_len=5)
    rules = policy.get("rules") or []
    if not isinstance(rules, list):
        raise exceptions.BadRequest("Library policy rules must be a list")
    rules_text = _util.dumps(rules)
    if len(rules_text.encode("utf-8")) > _util.TEXT_BYTES:
        raise exceptions.BadRequest("The rules of a library policy are too long")
    return {
        "name": name,
        "abbreviation": abbreviation,
        "description": policy.get("description") or "",
        "kind": policy.get("kind") or DEFAULT_KIND,
        "rules": rules_text,
    }


def _exists(name: str) -> exceptions.Conflict:
    return exceptions.Conflict(f"Policy with name {name} already exists",
                               code="library_policy_exists")


def _not_found(what: str) -> exceptions.NotFound:
    return exceptions.NotFound(f"No policy found with policy {what}",
                               code="library_policy_not_found")


def _name_taken(conn: Connection, name: str, other_than: str | None = None) -> bool:
    stmt = sa.select(library_policies.c.id).where(library_policies.c.name == name)
    if other_than is not None:
        stmt = stmt.where(library_policies.c.id != other_than)
    return conn.execute(stmt.with_for_update()).first() is not None


@connection_or_database()
def create_library_policy(conn: Connection, policy: Mapping[str, Any], *,
                          policy_id: str | None = None) -> dict[str, Any]:
    """Store a library policy; returns it with its id and defaults applied.

    Raises :class:`~congress.exceptions.Conflict` if the name is taken.
    """
    values = _values(policy)
    values["id"] = policy_id or _util.new_id()
    if _name_taken(conn, values["name"]):
        raise _exists(values["name"])
    try:
        conn.execute(library_policies.insert().values(**values))
    except sa_exc.IntegrityError as exc:
        if _name_taken(conn, values["name"]):
            raise _exists(values["name"]) from exc
        raise exceptions.Conflict(f"Library policy with id {values['id']} already exists",
                                  code="library_policy_exists") from exc
    return _lp_dict(values)


@connection_or_database()
def replace_library_policy(conn: Connection, policy_id: str,
                           policy: Mapping[str, Any]) -> dict[str, Any]:
    """Replace the library policy with that id; returns the new version.

    Raises :class:`~congress.exceptions.NotFound` or :class:`~congress.exceptions.Conflict`.
    """
    values = _values(policy)
    if conn.execute(sa.select(library_policies.c.id).where(library_policies.c.id == policy_id)
                    .with_for_update()).first() is None:
        raise _not_found(f"id {policy_id}")
    if _name_taken(conn, values["name"], other_than=policy_id):
        raise _exists(values["name"])
    try:
        conn.execute(library_policies.update().where(library_policies.c.id == policy_id)
                     .values(**values))
    except sa_exc.IntegrityError as exc:
        raise _exists(values["name"]) from exc
    return _lp_dict({**values, "id": policy_id})


@connection_or_database(readonly=True)
def get_library_policy(conn: Connection, policy_id: str, *,
                       include_rules: bool = True) -> dict[str, Any]:
    """The library policy with that id; :class:`~congress.exceptions.NotFound` if none."""
    row = conn.execute(sa.select(library_policies)
                       .where(library_policies.c.id == policy_id)).first()
    if row is None:
        raise _not_found(f"id {policy_id}")
    return _lp_dict(row._mapping, include_rules)


@connection_or_database(readonly=True)
def get_library_policy_by_name(conn: Connection, name: str, *,
                               include_rules: bool = True) -> dict[str, Any]:
    """The library policy with that name; :class:`~congress.exceptions.NotFound` if none."""
    row = conn.execute(sa.select(library_policies)
                       .where(library_policies.c.name == name)).first()
    if row is None:
        raise _not_found(f"name {name}")
    return _lp_dict(row._mapping, include_rules)


@connection_or_database(readonly=True)
def list_library_policies(conn: Connection, *, include_rules: bool = True,
                          name: str | None = None) -> list[dict[str, Any]]:
    """Every library policy by name (or only the one called ``name``)."""
    stmt = sa.select(library_policies).order_by(library_policies.c.name)
    if name is not None:
        stmt = stmt.where(library_policies.c.name == name)
    return [_lp_dict(r._mapping, include_rules) for r in conn.execute(stmt)]


@connection_or_database()
def delete_library_policy(conn: Connection, policy_id: str) -> dict[str, Any]:
    """Delete the library policy with that id and return it (with rules).

    Raises :class:`~congress.exceptions.NotFound`.
    """
    row = conn.execute(sa.select(library_policies).where(library_policies.c.id == policy_id)
                       .with_for_update()).first()
    if row is None:
        raise _not_found(f"id {policy_id}")
    conn.execute(library_policies.delete().where(library_policies.c.id == policy_id))
    return _lp_dict(row._mapping)


@connection_or_database()
def delete_all_library_policies(conn: Connection) -> int:
    """Empty the library; returns how many policies were deleted."""
    return int(conn.execute(library_policies.delete()).rowcount or 0)


@connection_or_database(readonly=True)
def is_empty(conn: Connection) -> bool:
    """True when the library holds no policy (then the YAML files get loaded)."""
    return conn.execute(sa.select(library_policies.c.id).limit(1)).first() is None
