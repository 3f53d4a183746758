"""roster: how the district's systems know teachers and schools; ended licences; reminders

- `teacher.staff_id` (employee number in HR files; the sourcedId came with the wallet's 0007),
  unique per district, and `teacher.active` (false once a full roster import no longer lists the person: never deleted).
- `school.sourced_id`: the org's sourcedId (Ed-Fi: schoolId), unique per district.
- `license.ended_on`: the district ended the licence before its expiry.
- `reminder`: each licence-expiry or cycle-end reminder written, unique per teacher, kind, due day
  and window, so a second `ler-plugin notify` sends nothing new; `reminder_opt_out`: teachers who
  asked for none. Both walled by district on PostgreSQL.

Revision ID: 0008_roster
Revises: 0007_wallet_roster_review
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_roster"
down_revision: str | Sequence[str] | None = "0007_wallet_roster_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WALL = (
    "current_setting('ler.system', true) = 'on' OR "
    "district_id = nullif(current_setting('ler.district_id', true), '')::bigint"
)
WALLED = ("reminder", "reminder_opt_out")


# Plain ALTER TABLE on both databases, never SQLite's batch copy: rebuilding `teacher` drops the
# old table, and with foreign keys on that deletes every wallet and record hanging from it.
INDEXES = {
    "ix_teacher_district_staff_id": ("teacher", ["district_id", "staff_id"]),
    "ix_school_district_sourced_id": ("school", ["district_id", "sourced_id"]),
}


def upgrade() -> None:
    op.add_column("teacher", sa.Column("staff_id", sa.String(length=64), nullable=True))
    op.add_column(
        "teacher", sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.add_column("school", sa.Column("sourced_id", sa.String(length=255), nullable=True))
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=True)
    op.add_column("license", sa.Column("ended_on", sa.Date(), nullable=True))
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_reminder_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teacher.id"],
            name=op.f("fk_reminder_teacher_id_teacher"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
        sa.UniqueConstraint(
            "teacher_id",
            "kind",
            "due_on",
            "window_days",
            name=op.f("uq_reminder_teacher_id_kind_due_on_window_days"),
        ),
    )
    op.create_index(op.f("ix_reminder_district_id"), "reminder", ["district_id"], unique=False)
    op.create_table(
        "reminder_opt_out",
        sa.Column("teacher_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_reminder_opt_out_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teacher.id"],
            name=op.f("fk_reminder_opt_out_teacher_id_teacher"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("teacher_id", name=op.f("pk_reminder_opt_out")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in WALLED:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY district_wall ON {table} USING ({WALL})")


def downgrade() -> None:
    op.drop_table("reminder_opt_out")
    op.drop_index(op.f("ix_reminder_district_id"), table_name="reminder")
    op.drop_table("reminder")
    op.drop_column("license", "ended_on")
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
    op.drop_column("school", "sourced_id")
    op.drop_column("teacher", "active")
    op.drop_column("teacher", "staff_id")
