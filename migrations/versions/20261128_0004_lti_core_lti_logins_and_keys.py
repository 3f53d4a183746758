"""LTI logins in flight, platform key cache, tool signing keys.

- lti_login_state: one row per OIDC login initiation (state, nonce, hash of the browser's secret),
  consumed once at launch, expiring after 10 minutes.
- lti_platform_keyset: the last JWKS fetched from each platform, shared by all worker processes,
  with when an unknown kid last forced a refetch (rate limit).
- lti_tool_key: the tool's own RSA signing keys (private key encrypted with a key derived from
  LER_SECRET_KEY); the newest signs, the previous one stays published.

Revision ID: 0002_lti_core
Revises: 0002_pages
Create Date: 2026-11-28 17:35:23.208972
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_lti_core"
down_revision: str | Sequence[str] | None = "0002_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_tool_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_tool_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_lti_tool_key_kid")),
    )
    op.create_table(
        "lti_login_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("storage_target", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
            name=op.f("fk_lti_login_state_platform_id_lti_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_login_state")),
        sa.UniqueConstraint("state", name=op.f("uq_lti_login_state_state")),
    )
    with op.batch_alter_table("lti_login_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_login_state_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "lti_platform_keyset",
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
            name=op.f("fk_lti_platform_keyset_platform_id_lti_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("platform_id", name=op.f("pk_lti_platform_keyset")),
    )


def downgrade() -> None:
    op.drop_table("lti_platform_keyset")
    with op.batch_alter_table("lti_login_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_login_state_expires_at"))

    op.drop_table("lti_login_state")
    op.drop_table("lti_tool_key")
