"""journal of changes to pushed tables (dstabledeltas)

Revision ID: 9d4f0c2b7e15
Revises: 5b1e2a7c9d30
Create Date: 2026-12-05 08:30:00

A push that changes a few rows of a big persisted table stores only those rows, as an entry of
``dstabledeltas``; the table's ``dstabledata`` row is rewritten when the journal grows past half
the table. Existing ``dstabledata`` rows stay valid (a table with no journal entry is its row).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = "9d4f0c2b7e15"
down_revision = "5b1e2a7c9d30"
branch_labels = None
depends_on = None

MYSQL = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_row_format": "DYNAMIC",
}


def _longtext():
    return sa.Text().with_variant(mysql.LONGTEXT(), "mysql").with_variant(mysql.LONGTEXT(),
                                                                           "mariadb")


def upgrade():
    op.create_table(
        "dstabledeltas",
        sa.Column("ds_id", sa.String(36), nullable=False),
        sa.Column("tablename", sa.String(255), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("nrows", sa.Integer(), nullable=False),
        sa.Column("added", _longtext(), nullable=False),
        sa.Column("removed", _longtext(), nullable=False),
        sa.PrimaryKeyConstraint("ds_id", "tablename", "seq", name="pk_dstabledeltas"),
        **MYSQL,
    )


def downgrade():
    # A journal not yet compacted into dstabledata would be lost: fold it in first.
    # (not possible when only SQL is written: a journal must be empty for that downgrade)
    if not op.get_context().as_sql:
        from congress.db import tabledata
        tabledata.compact_all(op.get_bind())
    op.drop_table("dstabledeltas")
