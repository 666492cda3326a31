"""multi-node sync (policy revisions and changes) and the action execution log

Revision ID: 5b1e2a7c9d30
Revises: c0125080d572
Create Date: 2024-01-01 00:00:01

* policy_revision: a one-row counter bumped by every change to policies or rules;
* policy_changes: one row per change, keyed by its revision, read by policy engines to catch up;
* action_log: requested datasource actions and their outcome; trigger_key de-duplicates
  reactive executions;
* an index on policy_rules.policy_name (rules are read per policy).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = "5b1e2a7c9d30"
down_revision = "c0125080d572"
branch_labels = None
depends_on = None

MYSQL = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_row_format": "DYNAMIC",
}


def _timestamp():
    datetime6 = mysql.DATETIME(fsp=6)
    return sa.DateTime().with_variant(datetime6, "mysql").with_variant(datetime6, "mariadb")


def upgrade():
    op.create_index("ix_policy_rules_policy_name", "policy_rules", ["policy_name"])

    revision_table = op.create_table(
        "policy_revision",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_revision"),
        **MYSQL,
    )
    op.bulk_insert(revision_table, [{"id": 1, "value": 0}])

    op.create_table(
        "policy_changes",
        sa.Column("revision", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("policy_name", sa.String(255), nullable=False),
        sa.Column("op", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(36), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("revision", name="pk_policy_changes"),
        **MYSQL,
    )

    op.create_table(
        "action_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False, autoincrement=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("datasource", sa.String(255), nullable=False),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=True),
        sa.Column("trigger_key", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_action_log"),
        sa.UniqueConstraint("trigger_key", name="uq_action_log_trigger_key"),
        **MYSQL,
    )
    op.create_index("ix_action_log_created_at", "action_log", ["created_at"])
    op.create_index("ix_action_log_datasource", "action_log", ["datasource"])


def downgrade():
    op.drop_index("ix_action_log_datasource", table_name="action_log")
    op.drop_index("ix_action_log_created_at", table_name="action_log")
    op.drop_table("action_log")
    op.drop_table("policy_changes")
    op.drop_table("policy_revision")
    op.drop_index("ix_policy_rules_policy_name", table_name="policy_rules")
