"""rollup summaries

What each table is for:
- rollup_cell: sums of a teacher's shared records per month x category x provider x kind x source x
  status (records, clock hours, CEUs, hours-equivalent), kept equal to the records in the same
  transaction as each record change, so district rollups read cells, not records.
- rollup_teacher_year: a teacher's standing (not rejected, revoked or expired) shared credit per school
  year x category, kept with the cells; district rollups by school, category, teacher and school year
  over whole school years read these few rows per teacher.
- rollup_school_span: per school x category x run of school years (up to six), how many distinct teachers
  have credit in it (category '*': in any), plus per-school-year sums; district rollups by school,
  category and school year over a renewal cycle read a few thousand of these rows.

Revision ID: 0002_rollups
Revises: 0002_intake
Create Date: 2026-11-28 17:36:50.953486
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_rollups"
down_revision: str | Sequence[str] | None = "0002_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_cell",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("clock_hours", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("ceus", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("hours_equivalent", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_rollup_cell_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teacher.id"],
            name=op.f("fk_rollup_cell_teacher_id_teacher"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_cell")),
        sa.UniqueConstraint(
            "teacher_id",
            "month",
            "category",
            "provider",
            "kind",
            "source",
            "status",
            name="uq_rollup_cell_key",
        ),
    )
    with op.batch_alter_table("rollup_cell", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rollup_cell_district_month", ["district_id", "month"], unique=False
        )
    op.create_table(
        "rollup_teacher_year",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("clock_hours", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("ceus", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("hours_equivalent", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_rollup_teacher_year_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teacher.id"],
            name=op.f("fk_rollup_teacher_year_teacher_id_teacher"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_teacher_year")),
        sa.UniqueConstraint(
            "teacher_id", "school_year", "category", name="uq_rollup_teacher_year_key"
        ),
    )
    with op.batch_alter_table("rollup_teacher_year", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rollup_teacher_year_district_year", ["district_id", "school_year"], unique=False
        )
    op.create_table(
        "rollup_school_span",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.Column("teachers", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("clock_hours", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("ceus", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("hours_equivalent", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_rollup_school_span_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_school_span")),
        sa.UniqueConstraint(
            "district_id",
            "first_year",
            "last_year",
            "school_id",
            "category",
            name="uq_rollup_school_span_key",
        ),
    )


def downgrade() -> None:
    op.drop_table("rollup_school_span")
    with op.batch_alter_table("rollup_teacher_year", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_teacher_year_district_year")

    op.drop_table("rollup_teacher_year")
    with op.batch_alter_table("rollup_cell", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_cell_district_month")

    op.drop_table("rollup_cell")
