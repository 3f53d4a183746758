"""district issuer keys

What each table is for:
- district_issuer_key: each district's Ed25519 key (a did:key) that signs the Open Badges 3.0
  credentials teachers export from their wallet; the private key is stored Fernet-encrypted.

Revision ID: 0002_ob3_export
Revises: 0002_rollups
Create Date: 2026-11-28 18:55:28.521914
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_ob3_export"
down_revision: str | Sequence[str] | None = "0002_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "district_issuer_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("did", sa.String(length=128), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_district_issuer_key_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_issuer_key")),
        sa.UniqueConstraint("district_id", name=op.f("uq_district_issuer_key_district_id")),
    )


def downgrade() -> None:
    op.drop_table("district_issuer_key")
