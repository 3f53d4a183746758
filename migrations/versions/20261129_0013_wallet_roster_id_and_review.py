"""teacher.sourced_id and record.review: one person across roster and LMS; review as a state

No new table; new columns only (safe while the previous release still serves):
- teacher.sourced_id: the district's own id for the person (OneRoster `sourcedId`, the LMS's
  `lis_person_sourcedid`), unique in the district, so a roster row and an LMS launch find the
  same teacher (`wallet.service.find_or_create_teacher`);
- record.review / record.review_note: whether a person should check the record's credit, as an
  enum, with the reason. It was text in `status_reason` ("needs review: ..."); those rows move.

Revision ID: 0007_wallet_roster_review
Revises: 0006_obapi_oauth
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_wallet_roster_review"
down_revision: str | Sequence[str] | None = "0006_obapi_oauth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "needs review: "


CHECK = "review IN ('none', 'needed')"
CHECK_NAME = "ck_record_record_review"
INDEX = "ix_teacher_district_sourced_id"

# Plain ALTER TABLE on both databases, never SQLite's batch copy: rebuilding `teacher` or
# `record` drops the old table, and with foreign keys on that deletes every wallet, record and
# evidence row hanging from it (ON DELETE CASCADE).


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column("teacher", sa.Column("sourced_id", sa.String(length=255), nullable=True))
    op.create_index(INDEX, "teacher", ["district_id", "sourced_id"], unique=True)
    if sqlite:  # SQLite adds a CHECK only with the column
        op.execute(
            "ALTER TABLE record ADD COLUMN review VARCHAR(32) DEFAULT 'none' NOT NULL "
            f"CONSTRAINT {CHECK_NAME} CHECK ({CHECK})"
        )
    else:
        op.add_column(
            "record",
            sa.Column("review", sa.String(length=32), server_default="none", nullable=False),
        )
        op.create_check_constraint(CHECK_NAME, "record", CHECK)
    op.add_column("record", sa.Column("review_note", sa.Text(), nullable=True))
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
    sqlite = op.get_bind().dialect.name == "sqlite"
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
    if not sqlite:
        op.drop_constraint(CHECK_NAME, "record", type_="check")
    op.drop_index(INDEX, table_name="teacher")
    for table, column in (
        ("record", "review_note"),
        ("record", "review"),
        ("teacher", "sourced_id"),
    ):
        if sqlite:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
