"""Policies, their rules, and the revision log that keeps policy engines in step.

Every function takes a connection first (and joins its transaction) or a
:class:`~congress.db.api.Database` (then runs in a transaction of its own, with retries).

Each change (:func:`create_policy`, :func:`delete_policy`, :func:`insert_rule`,
:func:`delete_rule`) bumps the revision counter in the same transaction and appends a row to
``policy_changes``. The counter's row lock is held until commit, so revisions are assigned in commit
order, without gaps: an engine at revision *r* that reads :func:`changes_since` ``(r)`` sees every
later committed change. Inside the transaction of a change, :func:`current_revision` returns the
revision of that change.

Dict shapes:

* policy: ``{"id", "name", "abbreviation", "description", "owner_id", "kind"}`` (the API's)
* rule: ``{"id", "name", "comment", "rule", "policy_name"}``; ``rule`` is the text as submitted
* change: ``{"revision", "policy_name", "op", "object_id", "created_at"}`` (ISO 8601 UTC text)
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
from congress.db.schema import (
    CHANGE_OPS,
    REVISION_ROW_ID,
    policies,
    policiesdeleted,
    policy_changes,
    policy_revision,
    policy_rules,
)

DEFAULT_KIND = "nonrecursive"
DEFAULT_OWNER = "user"

# statements of the hot paths, built once (SQLAlchemy then reuses their cache keys and
# compiled forms)
_POLICY_BY_ID_OR_NAME = sa.select(policies).where(
    sa.or_(policies.c.id == sa.bindparam("key"), policies.c.name == sa.bindparam("key")))
_POLICY_BY_ID_OR_NAME_LOCKED = _POLICY_BY_ID_OR_NAME.with_for_update()
_INSERT_RULE = policy_rules.insert()
_REVISION = sa.select(policy_revision.c.value).where(policy_revision.c.id == REVISION_ROW_ID)
_REVISION_LOCKED = _REVISION.with_for_update()
_BUMP = (policy_revision.update().where(policy_revision.c.id == REVISION_ROW_ID)
         .values(value=policy_revision.c.value + 1))
_BUMP_RETURNING = _BUMP.returning(policy_revision.c.value)
_INSERT_CHANGE = policy_changes.insert()


# ---------------------------------------------------------------------- dict builders
def _policy_dict(m: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": m["id"],
        "name": m["name"],
        "abbreviation": m["abbreviation"],
        "description": m["description"],
        "owner_id": m["owner"],
        "kind": m["kind"],
    }


def _rule_dict(m: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": m["id"],
        "name": m["name"],
        "comment": m["comment"],
        "rule": m["rule"],
        "policy_name": m["policy_name"],
    }


def _change_dict(m: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "revision": int(m["revision"]),
        "policy_name": m["policy_name"],
        "op": m["op"],
        "object_id": m["object_id"],
        "created_at": _util.isoformat(m["created_at"]),
    }


def _not_found(name_or_id: str) -> exceptions.PolicyNotFound:
    return exceptions.PolicyNotFound(f"No policy found with name or id {name_or_id}")


def _policy_row(conn: Connection, name_or_id: str, *, for_update: bool = False) -> Any:
    """The live policy whose id, or else name, is ``name_or_id``; None if there is none."""
    stmt = _POLICY_BY_ID_OR_NAME_LOCKED if for_update else _POLICY_BY_ID_OR_NAME
    rows = conn.execute(stmt, {"key": name_or_id}).all()
    for row in rows:
        if row.id == name_or_id:
            return row
    return rows[0] if rows else None


# ---------------------------------------------------------------------- policies
@connection_or_database()
def create_policy(conn: Connection, name: str, *, abbreviation: str | None = None,
                  description: str = "", owner: str = DEFAULT_OWNER, kind: str = DEFAULT_KIND,
                  policy_id: str | None = None) -> dict[str, Any]:
    """Store a new policy and return it.

    Defaults (OpenStack Congress's): abbreviation ``name[:5]``, description ``""``, owner ``user``,
    kind ``nonrecursive``. Validating the name and kind is the policy engine's job; here a name
    must be a non-empty string of at most 255 characters and an abbreviation at most 5.
    Raises :class:`~congress.exceptions.PolicyExists` if the name is taken.
    """
    _util.check_text(name, "Policy name", error=exceptions.InvalidPolicyName)
    if abbreviation is None:
        abbreviation = name[:5]
    if not isinstance(abbreviation, str) or len(abbreviation) > 5:
        raise exceptions.BadRequest(
            "The policy abbreviation must be a string and the length of the string must be "
            "equal to or less than 5 characters.", code="policy_abbreviation_error")
    _util.check_text(description, "Policy description", max_len=None,
                     max_bytes=_util.TEXT_BYTES, required=False)
    policy_id = policy_id or _util.new_id()
    taken = conn.execute(sa.select(policies.c.id).where(policies.c.name == name)
                         .with_for_update()).first()
    if taken is not None:
        raise exceptions.PolicyExists(f"Policy with name {name} already exists")
    values = {
        "id": policy_id,
        "created_at": _util.utcnow(),
        "deleted": "",
        "name": name,
        "abbreviation": abbreviation,
        "description": description or "",
        "owner": owner,
        "kind": kind,
    }
    try:
        conn.execute(policies.insert().values(**values))
    except sa_exc.IntegrityError as exc:
        # Lost a race with another transaction creating the same name (or id).
        if conn.execute(sa.select(policies.c.id).where(policies.c.name == name)).first():
            raise exceptions.PolicyExists(f"Policy with name {name} already exists") from exc
        raise exceptions.Conflict(f"Policy with id {policy_id} already exists") from exc
    bump_revision(conn, name, "create_policy", policy_id)
    return _policy_dict(values)


@connection_or_database(readonly=True)
def get_policy(conn: Connection, name_or_id: str) -> dict[str, Any]:
    """The policy with that id or name; :class:`~congress.exceptions.PolicyNotFound` if none."""
    row = _policy_row(conn, name_or_id)
    if row is None:
        raise _not_found(name_or_id)
    return _policy_dict(row._mapping)


@connection_or_database(readonly=True)
def find_policy(conn: Connection, name_or_id: str) -> dict[str, Any] | None:
    """Like :func:`get_policy` but None when there is no such policy."""
    row = _policy_row(conn, name_or_id)
    return None if row is None else _policy_dict(row._mapping)


@connection_or_database(readonly=True)
def list_policies(conn: Connection) -> list[dict[str, Any]]:
    """Every live policy, oldest first."""
    rows = conn.execute(sa.select(policies).order_by(policies.c.created_at, policies.c.name))
    return [_policy_dict(r._mapping) for r in rows]


@connection_or_database()
def delete_policy(conn: Connection, name_or_id: str) -> dict[str, Any]:
    """Delete a policy and return it (soft delete, in OpenStack Congress's tables).

    The row is copied into ``policiesdeleted`` (marked deleted), removed from ``policies`` (so
    the name can be used again) and the policy's rules are soft-deleted. Refusing to delete the
    system policies is the policy engine's job.
    """
    row = _policy_row(conn, name_or_id, for_update=True)
    if row is None:
        raise _not_found(name_or_id)
    now = _util.utcnow()
    values = dict(row._mapping)
    values.update(deleted=row.id, deleted_at=now, updated_at=now)
    conn.execute(policiesdeleted.delete().where(policiesdeleted.c.id == row.id))
    conn.execute(policiesdeleted.insert().values(**values))
    conn.execute(policies.delete().where(policies.c.id == row.id))
    conn.execute(
        policy_rules.update()
        .where(policy_rules.c.policy_name == row.name, policy_rules.c.deleted == "")
        .values(deleted=policy_rules.c.id, deleted_at=now, updated_at=now))
    bump_revision(conn, row.name, "delete_policy", row.id)
    return _policy_dict(row._mapping)


# ---------------------------------------------------------------------- rules
@connection_or_database()
def insert_rule(conn: Connection, policy: str, rule: str, *, comment: str | None = "",
                name: str | None = None, rule_id: str | None = None) -> dict[str, Any]:
    """Store a rule (its original text) in the policy named (or with id) ``policy``.

    Raises :class:`~congress.exceptions.PolicyNotFound` if there is no such live policy.
    Parsing and checking the rule is the policy engine's job.
    """
    _util.check_text(rule, "Rule", max_len=None, max_bytes=_util.TEXT_BYTES)
    _util.check_text(comment, "Rule comment", required=False)
    _util.check_text(name, "Rule name", required=False)
    prow = _policy_row(conn, policy, for_update=True)
    if prow is None:
        raise _not_found(policy)
    now = _util.utcnow()
    values = {
        "id": rule_id or _util.new_id(),
        "rule": rule,
        "comment": comment or "",
        "policy_name": prow.name,
        "name": name,
        "created_at": now,
        "deleted": "",
    }
    try:
        conn.execute(_INSERT_RULE, values)
    except sa_exc.IntegrityError as exc:
        raise exceptions.Conflict(f"Rule with id {values['id']} already exists") from exc
    bump_revision(conn, prow.name, "insert_rule", values["id"])
    return _rule_dict(values)


def _resolve_policy_name(conn: Connection, policy: str | None) -> str | None:
    if policy is None:
        return None
    row = _policy_row(conn, policy)
    return row.name if row is not None else policy


def _rule_row(conn: Connection, rule_id: str, policy: str | None, *,
              for_update: bool = False) -> Any:
    stmt = sa.select(policy_rules).where(policy_rules.c.id == rule_id,
                                         policy_rules.c.deleted == "")
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        return None
    policy_name = _resolve_policy_name(conn, policy)
    if policy_name is not None and row.policy_name != policy_name:
        return None
    return row


@connection_or_database(readonly=True)
def get_rule(conn: Connection, rule_id: str, policy: str | None = None) -> dict[str, Any]:
    """The live rule with that id (in that policy, if given by name or id).

    Raises :class:`~congress.exceptions.RuleNotFound`.
    """
    row = _rule_row(conn, rule_id, policy)
    if row is None:
        raise exceptions.RuleNotFound(f"No rule found with id {rule_id}")
    return _rule_dict(row._mapping)


@connection_or_database(readonly=True)
def list_rules(conn: Connection, policy_name: str | None = None) -> list[dict[str, Any]]:
    """Live rules of one policy (by name), or of every policy; oldest first."""
    stmt = sa.select(policy_rules).where(policy_rules.c.deleted == "")
    if policy_name is not None:
        stmt = stmt.where(policy_rules.c.policy_name == policy_name)
    stmt = stmt.order_by(policy_rules.c.created_at, policy_rules.c.id)
    return [_rule_dict(r._mapping) for r in conn.execute(stmt)]


@connection_or_database()
def delete_rule(conn: Connection, rule_id: str, policy: str | None = None) -> dict[str, Any]:
    """Soft-delete a live rule (in that policy, if given) and return it.

    Raises :class:`~congress.exceptions.RuleNotFound`.
    """
    row = _rule_row(conn, rule_id, policy, for_update=True)
    if row is None:
        raise exceptions.RuleNotFound(f"No rule found with id {rule_id}")
    now = _util.utcnow()
    conn.execute(policy_rules.update().where(policy_rules.c.id == rule_id)
                 .values(deleted=rule_id, deleted_at=now, updated_at=now))
    bump_revision(conn, row.policy_name, "delete_rule", rule_id)
    return _rule_dict(row._mapping)


# ---------------------------------------------------------------------- revisions
@connection_or_database()
def bump_revision(conn: Connection, policy_name: str, op: str,
                  object_id: str | None = None) -> int:
    """Take the next revision for a change and log it; returns that revision.

    The UPDATE of the counter row keeps it locked until the transaction ends, so concurrent
    changes get their revisions in commit order. The repository functions above call this
    themselves; call it directly only for changes made otherwise.
    """
    if op not in CHANGE_OPS:
        raise ValueError(f"Unknown change op {op!r}; expected one of {CHANGE_OPS}")
    revision = None
    if getattr(conn.dialect, "update_returning", False):     # SQLite >= 3.35, PostgreSQL
        revision = conn.execute(_BUMP_RETURNING).scalar()
    elif conn.execute(_BUMP).rowcount:                         # MySQL/MariaDB: no RETURNING
        revision = conn.execute(_REVISION).scalar()
    if revision is None:
        # The counter row is missing (migrations create it): start after the last change.
        last = conn.execute(sa.select(sa.func.max(policy_changes.c.revision))).scalar()
        conn.execute(policy_revision.insert().values(id=REVISION_ROW_ID,
                                                     value=int(last or 0) + 1))
        revision = conn.execute(_REVISION).scalar()
    revision = int(revision)
    conn.execute(_INSERT_CHANGE, {"revision": revision, "policy_name": policy_name, "op": op,
                                  "object_id": object_id, "created_at": _util.utcnow()})
    return revision


@connection_or_database(readonly=True)
def current_revision(conn: Connection) -> int:
    """The revision of the latest committed change (0: none yet)."""
    value = conn.execute(_REVISION).scalar()
    return int(value or 0)


@connection_or_database(readonly=True)
def changes_since(conn: Connection, revision: int, limit: int | None = None
                  ) -> list[dict[str, Any]]:
    """Changes with a revision above ``revision``, in revision order (at most ``limit``).

    If the first returned revision is not ``revision + 1``, older changes were pruned: the
    caller must reload everything instead.
    """
    stmt = (sa.select(policy_changes).where(policy_changes.c.revision > revision)
            .order_by(policy_changes.c.revision))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_change_dict(r._mapping) for r in conn.execute(stmt)]


@connection_or_database()
def prune_changes(conn: Connection, before_revision: int) -> int:
    """Delete logged changes with a revision below ``before_revision``; returns how many."""
    result = conn.execute(policy_changes.delete()
                          .where(policy_changes.c.revision < before_revision))
    return int(result.rowcount or 0)


@connection_or_database()
def lock_revision(conn: Connection) -> int:
    """Lock the revision counter row until the transaction ends; returns its current value.

    A policy engine calls this first in a change transaction: every change committed by others
    is then visible (and no other change can commit until this transaction ends), so the engine
    can apply them before its own.
    """
    value = conn.execute(_REVISION_LOCKED).scalar()
    return int(value or 0)
