"""share links

What each new table is for:
- share_link: a link a teacher made to show chosen records of their wallet to anyone holding it.
  Only the SHA-256 of the token is stored (for lookup) with the nonce the token is derived from
  under the service secret; it has an expiry, can be revoked, and may hide the teacher's identity.
- share_link_record: which records a share link shows.

New tables only: the previous release keeps running while this migration applies.

Revision ID: 0002_pages
Revises: 0002_core
Create Date: 2026-11-28 17:40:12.902451
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_pages"
down_revision: str | Sequence[str] | None = "0002_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("hide_identity", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_share_link_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallet.id"],
            name=op.f("fk_share_link_wallet_id_wallet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_link_token_hash")),
    )
    with op.batch_alter_table("share_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_link_wallet_id"), ["wallet_id"], unique=False)

    op.create_table(
        "share_link_record",
        sa.Column("share_link_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["record.id"],
            name=op.f("fk_share_link_record_record_id_record"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["share_link_id"],
            ["share_link.id"],
            name=op.f("fk_share_link_record_share_link_id_share_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("share_link_id", "record_id", name=op.f("pk_share_link_record")),
    )
    with op.batch_alter_table("share_link_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_link_record_record_id"), ["record_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("share_link_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_link_record_record_id"))

    op.drop_table("share_link_record")
    with op.batch_alter_table("share_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_link_wallet_id"))

    op.drop_table("share_link")
