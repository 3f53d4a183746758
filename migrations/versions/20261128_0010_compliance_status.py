"""compliance_status: each teacher's compliance as last evaluated

District compliance counts and status lists read this table instead of evaluating every teacher
(212 s for 77,000 teachers and 10M records, measured). A row is current while it was evaluated for
the day asked, under the ruleset version in force, and `changes` (bumped with every change to the
teacher's records, licences, schools or birth month, in the same transaction) equals
`evaluated_changes`. Walled by district on PostgreSQL like every district table.

Revision ID: 0004_compliance_status
Revises: 0003_row_level_security
Create Date: 2026-11-28 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_compliance_status"
down_revision: str | Sequence[str] | None = "0003_row_level_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WALL = (
    "current_setting('ler.system', true) = 'on' OR "
    "district_id = nullif(current_setting('ler.district_id', true), '')::bigint"
)


def upgrade() -> None:
    op.create_table(
        "compliance_status",
        sa.Column("teacher_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=True),
        sa.Column("ruleset", sa.String(length=128), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("evaluated_changes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_compliance_status_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teacher.id"],
            name=op.f("fk_compliance_status_teacher_id_teacher"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("teacher_id", name=op.f("pk_compliance_status")),
    )
    op.create_index(
        "ix_compliance_status_district_status",
        "compliance_status",
        ["district_id", "status"],
        unique=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE compliance_status ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE compliance_status FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY district_wall ON compliance_status USING ({WALL})")


def downgrade() -> None:
    op.drop_index("ix_compliance_status_district_status", table_name="compliance_status")
    op.drop_table("compliance_status")
