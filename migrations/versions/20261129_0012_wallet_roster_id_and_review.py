"""teacher.sourced_id and record.review: one person across roster and LMS; review as a state

No new table; new columns only (safe while the previous release still serves):
- teacher.sourced_id: the district's own id for the person (OneRoster `sourcedId`, the LMS's
  `lis_person_sourcedid`), unique in the district, so a roster row and an LMS launch find the
  same teacher (`wallet.service.find_or_create_teacher`);
- record.review / record.review_note: whether a person should check the record's credit, as an
  enum, with the reason. It was text in `status_reason` ("needs review: ..."); those rows move.

Revision ID: 0006_wallet_roster_review
Revises: 0005_rollup_cell_cover
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_wallet_roster_review"
down_revision: str | Sequence[str] | None = "0005_rollup_cell_cover"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "needs review: "


def upgrade() -> None:
    with op.batch_alter_table("teacher", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sourced_id", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_teacher_district_id_sourced_id"), ["district_id", "sourced_id"]
        )
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "review",
                sa.Enum(
                    "none",
                    "needed",
                    name="record_review",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                server_default="none",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=True))
    record = sa.table(
        "record",
        sa.column("status_reason", sa.Text()),
        sa.column("review", sa.String()),
        sa.column("review_note", sa.Text()),
    )
    op.execute(
        record.update()
        .where(record.c.status_reason.like(PREFIX + "%"))
        .values(
            review="needed",
            review_note=sa.func.substr(record.c.status_reason, len(PREFIX) + 1),
            status_reason=None,
        )
    )


def downgrade() -> None:
    record = sa.table(
        "record",
        sa.column("status_reason", sa.Text()),
        sa.column("review", sa.String()),
        sa.column("review_note", sa.Text()),
    )
    op.execute(
        record.update()
        .where(record.c.review == "needed", record.c.status_reason.is_(None))
        .values(status_reason=PREFIX + sa.func.coalesce(record.c.review_note, ""))
    )
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_column("review_note")
        batch_op.drop_constraint(op.f("ck_record_record_review"), type_="check")
        batch_op.drop_column("review")
    with op.batch_alter_table("teacher", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_teacher_district_id_sourced_id"), type_="unique")
        batch_op.drop_column("sourced_id")
