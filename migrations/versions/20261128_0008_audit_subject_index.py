"""audit events by subject

No new table: an index on audit_event (subject_type, subject_id, occurred_at) so a teacher's
share-link views (events about their links, newest first) are found without scanning the log.

Revision ID: 0002_audit
Revises: 0002_ob3_export
Create Date: 2026-11-28 19:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_audit"
down_revision: str | Sequence[str] | None = "0002_ob3_export"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_event_subject_time",
        "audit_event",
        ["subject_type", "subject_id", "occurred_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_event_subject_time", table_name="audit_event")
