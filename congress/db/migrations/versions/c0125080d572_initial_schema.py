"""initial schema: the tables of OpenStack Congress at its last revision

Revision ID: c0125080d572
Revises:
Create Date: 2024-01-01 00:00:00

OpenStack Congress reached its schema through seven migrations ending at c0125080d572
(policy library). This single revision creates the same tables at once and keeps that revision id,
so a database of OpenStack Congress is recognised as being at this revision and is upgraded
from here by the revisions that follow.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = "c0125080d572"
down_revision = None
branch_labels = None
depends_on = None

MYSQL = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_row_format": "DYNAMIC",
}


def _variant(base, mysql_type):
    return base.with_variant(mysql_type, "mysql").with_variant(mysql_type, "mariadb")


def _timestamp():
    return _variant(sa.DateTime(), mysql.DATETIME(fsp=6))


def _audit():
    return [
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=True),
        sa.Column("deleted_at", _timestamp(), nullable=True),
        sa.Column("deleted", sa.String(36), nullable=True, server_default=""),
    ]


def _policy_table(name, *extra):
    op.create_table(
        name,
        sa.Column("id", sa.String(36), nullable=False),
        *_audit(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("abbreviation", sa.String(5), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        *extra,
        **MYSQL,
    )


def upgrade():
    op.create_table(
        "policy_rules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("comment", sa.String(255), nullable=False),
        sa.Column("policy_name", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        *_audit(),
        sa.PrimaryKeyConstraint("id", name="pk_policy_rules"),
        **MYSQL,
    )
    _policy_table("policies", sa.UniqueConstraint("name", name="uq_policies_name"))
    _policy_table("policiesdeleted")
    op.create_table(
        "datasources",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("driver", sa.String(255), nullable=True),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_datasources"),
        sa.UniqueConstraint("name", name="uq_datasources_name"),
        **MYSQL,
    )
    op.create_table(
        "dstabledata",
        sa.Column("ds_id", sa.String(36), nullable=False),
        sa.Column("tablename", sa.String(255), nullable=False),
        sa.Column("tabledata", _variant(sa.Text(), mysql.LONGTEXT()), nullable=False),
        sa.PrimaryKeyConstraint("ds_id", "tablename", name="pk_dstabledata"),
        **MYSQL,
    )
    op.create_table(
        "library_policies",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("abbreviation", sa.String(5), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_library_policies"),
        sa.UniqueConstraint("name", name="uq_library_policies_name"),
        **MYSQL,
    )


def downgrade():
    for table in ("library_policies", "dstabledata", "datasources", "policiesdeleted",
                  "policies", "policy_rules"):
        op.drop_table(table)
