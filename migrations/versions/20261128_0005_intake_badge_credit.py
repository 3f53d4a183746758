"""badge credit and revocation reason

No new table. New nullable columns on badge (safe while the previous release still serves):
- clock_hours, ceus, category: the credit accepted when the badge was taken in, so a badge that
  waits as a pending claim counts the same when it lands in a wallet;
- credit_note: why that credit needs a person's review (a teacher's own figure, a converted unit);
- revoked_reason: the reason the issuer or provider gave when revoking it, shown to the teacher.

Revision ID: 0002_intake
Revises: 0002_lti_core
Create Date: 2026-11-28 17:37:24.725117
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_intake"
down_revision: str | Sequence[str] | None = "0002_lti_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("badge", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clock_hours", sa.Numeric(precision=10, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column("ceus", sa.Numeric(precision=10, scale=2), nullable=True))
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("credit_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("revoked_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("badge", schema=None) as batch_op:
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("credit_note")
        batch_op.drop_column("category")
        batch_op.drop_column("ceus")
        batch_op.drop_column("clock_hours")
