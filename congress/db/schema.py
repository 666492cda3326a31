"""The tables of Congress, as SQLAlchemy Core ``Table`` objects.

Core tables (not ORM classes) are used on purpose: the same code then runs unchanged on
SQLAlchemy 1.4 (Debian 12) and 2.x, and repository functions hand out plain dicts.

OpenStack Congress's tables keep their names and columns, so that its databases upgrade in place
(``policy_rules``, ``policies``, ``policiesdeleted``, ``datasources``, ``dstabledata``,
``library_policies``); four more serve the multi-node design and big pushes:

* ``policy_revision``: one row, a counter bumped by every transaction that changes policies or rules
  (the UPDATE holds a row lock until commit, so revisions follow commit order);
* ``policy_changes``: one row per change, keyed by that revision; engines catch up with
  ``revision > their own``;
* ``dstabledeltas``: changes of pushed tables journaled since their ``dstabledata`` row;
* ``action_log``: what datasource actions were requested and how they ended; ``trigger_key`` (unique
  when set) makes a reactive action execute once across leader changes.

This metadata is the target of ``alembic revision --autogenerate``; the migrations under
``congress/db/migrations/versions`` must produce exactly these tables (a test checks it).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# Constraint and index names are fixed so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# InnoDB, 4-byte UTF-8, binary collation (names are case-sensitive in Datalog, as they are on
# SQLite), DYNAMIC rows so an index on a String(255) (1020 bytes) fits.
MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_row_format": "DYNAMIC",
}


def _mysql_variant(base: sa.types.TypeEngine, mysql_type: sa.types.TypeEngine):
    # A URL may name the dialect "mysql" or (SQLAlchemy >= 1.4 with mariadb://) "mariadb".
    return base.with_variant(mysql_type, "mysql").with_variant(mysql_type, "mariadb")


#: Text that may be large (pushed tables): LONGTEXT on MySQL.
LongText = _mysql_variant(sa.Text(), mysql.LONGTEXT())
#: Timestamps with microseconds on MySQL too (SQLite keeps them anyway).
Timestamp = _mysql_variant(sa.DateTime(), mysql.DATETIME(fsp=6))
#: Auto-increment ids: BIGINT on MySQL, INTEGER on SQLite (its rowid alias).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _audit_columns() -> list[sa.Column]:
    """created/updated/deleted timestamps and the soft-delete marker of OpenStack Congress's
    tables."""
    return [
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=True),
        sa.Column("deleted_at", Timestamp, nullable=True),
        # '' while live; the row's own id once soft-deleted.
        sa.Column("deleted", sa.String(36), nullable=True, server_default=""),
    ]


def _policy_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        *_audit_columns(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("abbreviation", sa.String(5), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
    ]


policy_rules = sa.Table(
    "policy_rules", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("rule", sa.Text(), nullable=False),
    sa.Column("comment", sa.String(255), nullable=False),
    sa.Column("policy_name", sa.String(255), nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=True),
    *_audit_columns(),
    **MYSQL_TABLE_ARGS,
)

policies = sa.Table(
    "policies", metadata,
    *_policy_columns(),
    sa.UniqueConstraint("name"),
    **MYSQL_TABLE_ARGS,
)

policiesdeleted = sa.Table(
    "policiesdeleted", metadata,
    *_policy_columns(),
    **MYSQL_TABLE_ARGS,
)

datasources = sa.Table(
    "datasources", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("driver", sa.String(255), nullable=True),
    sa.Column("config", sa.Text(), nullable=False),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("enabled", sa.Boolean(), nullable=True),
    sa.UniqueConstraint("name"),
    **MYSQL_TABLE_ARGS,
)

dstabledata = sa.Table(
    "dstabledata", metadata,
    sa.Column("ds_id", sa.String(36), primary_key=True),
    sa.Column("tablename", sa.String(255), primary_key=True),
    sa.Column("tabledata", LongText, nullable=False),
    **MYSQL_TABLE_ARGS,
)

#: Changes of pushed tables since their ``dstabledata`` row was written (a journal): a push that
#: changes a few rows of a big table stores those rows here, not the table. ``seq`` numbers every
#: write of a table and never goes back (a full write leaves an entry with ``nrows`` 0 as its
#: mark), so a writer can tell whether what it holds is what is stored.
dstabledeltas = sa.Table(
    "dstabledeltas", metadata,
    sa.Column("ds_id", sa.String(36), primary_key=True),
    sa.Column("tablename", sa.String(255), primary_key=True),
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("nrows", sa.Integer(), nullable=False),
    sa.Column("added", LongText, nullable=False),
    sa.Column("removed", LongText, nullable=False),
    **MYSQL_TABLE_ARGS,
)

library_policies = sa.Table(
    "library_policies", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("abbreviation", sa.String(5), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("rules", sa.Text(), nullable=False),  # JSON list of {rule, name?, comment?}
    sa.UniqueConstraint("name"),
    **MYSQL_TABLE_ARGS,
)

policy_revision = sa.Table(
    "policy_revision", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger(), nullable=False),
    **MYSQL_TABLE_ARGS,
)

#: The single row of ``policy_revision``.
REVISION_ROW_ID = 1

#: Values of ``policy_changes.op``.
CHANGE_OPS = ("create_policy", "delete_policy", "insert_rule", "delete_rule")

policy_changes = sa.Table(
    "policy_changes", metadata,
    sa.Column("revision", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("policy_name", sa.String(255), nullable=False),
    sa.Column("op", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(36), nullable=True),
    sa.Column("created_at", Timestamp, nullable=False),
    **MYSQL_TABLE_ARGS,
)

#: Values of ``action_log.status``.
ACTION_STATUSES = ("requested", "succeeded", "failed", "skipped")

action_log = sa.Table(
    "action_log", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("created_at", Timestamp, nullable=False, index=True),
    sa.Column("datasource", sa.String(255), nullable=False, index=True),
    sa.Column("action", sa.String(255), nullable=False),
    sa.Column("args", sa.Text(), nullable=False),
    sa.Column("requested_by", sa.String(255), nullable=True),
    sa.Column("trigger_key", sa.String(255), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", sa.Text(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("finished_at", Timestamp, nullable=True),
    sa.UniqueConstraint("trigger_key"),
    **MYSQL_TABLE_ARGS,
)
