"""the Open Badges 3.0 API's OAuth 2.0 tables, walled by district

What each table is for:
- ob_client: applications registered with a district's Open Badges API (RFC 7591 dynamic client
  registration); the client secret is stored as its SHA-256 digest.
- ob_grant: a teacher's consent to one client (scopes, which records, whether it sees the name);
  revoking it ends every token issued under it.
- ob_authorization_code: one-time authorization codes (PKCE S256), stored as digests.
- ob_token: access and refresh tokens, stored as digests.
- ob_profile: the name and email a teacher shows in their Open Badges Profile.

Row-level security (PostgreSQL): clients and grants by their district, codes and tokens through
their grant, profiles through their teacher (as migration 0003_row_level_security does).

Revision ID: 0006_obapi_oauth
Revises: 0005_rollup_cell_cover
Create Date: 2026-12-06 19:58:48.848644
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_obapi_oauth"
down_revision: str | Sequence[str] | None = "0005_rollup_cell_cover"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SYSTEM = "current_setting('ler.system', true) = 'on'"
DISTRICT = "nullif(current_setting('ler.district_id', true), '')::bigint"
POLICY = "district_wall"
BY_DISTRICT = ("ob_client", "ob_grant")
# table -> (its foreign key column, the walled parent table it points to)
BY_PARENT = {
    "ob_authorization_code": ("grant_id", "ob_grant"),
    "ob_token": ("grant_id", "ob_grant"),
    "ob_profile": ("teacher_id", "teacher"),
}


def _wall() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no row-level security: one file is one deployment
    walls = {table: f"{SYSTEM} OR district_id = {DISTRICT}" for table in BY_DISTRICT}
    for table, (column, parent) in BY_PARENT.items():
        walls[table] = (
            f"{SYSTEM} OR EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {table}.{column})"  # noqa: S608 (constants above)
        )
    for table, condition in walls.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({condition})")


def upgrade() -> None:
    op.create_table(
        "ob_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("client_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_ob_client_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_ob_client_client_id")),
    )
    with op.batch_alter_table("ob_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ob_client_district_id"), ["district_id"], unique=False)

    op.create_table(
        "ob_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("records", sa.String(length=16), nullable=False),
        sa.Column("show_identity", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["ob_client.id"],
            name=op.f("fk_ob_grant_client_pk_ob_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_ob_grant_district_id_district"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teacher.id"],
            name=op.f("fk_ob_grant_teacher_id_teacher"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_grant")),
        sa.UniqueConstraint(
            "client_pk", "teacher_id", name=op.f("uq_ob_grant_client_pk_teacher_id")
        ),
    )
    with op.batch_alter_table("ob_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ob_grant_teacher_id"), ["teacher_id"], unique=False)

    op.create_table(
        "ob_profile",
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["teacher.id"],
            name=op.f("fk_ob_profile_teacher_id_teacher"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("teacher_id", name=op.f("pk_ob_profile")),
    )
    op.create_table(
        "ob_authorization_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2048), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["ob_grant.id"],
            name=op.f("fk_ob_authorization_code_grant_id_ob_grant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_authorization_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_ob_authorization_code_code_hash")),
    )
    with op.batch_alter_table("ob_authorization_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ob_authorization_code_grant_id"), ["grant_id"], unique=False
        )

    op.create_table(
        "ob_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("access_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_hash", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["ob_authorization_code.id"],
            name=op.f("fk_ob_token_code_id_ob_authorization_code"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["ob_grant.id"],
            name=op.f("fk_ob_token_grant_id_ob_grant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_token")),
        sa.UniqueConstraint("access_hash", name=op.f("uq_ob_token_access_hash")),
        sa.UniqueConstraint("refresh_hash", name=op.f("uq_ob_token_refresh_hash")),
    )
    with op.batch_alter_table("ob_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ob_token_code_id"), ["code_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ob_token_grant_id"), ["grant_id"], unique=False)

    _wall()


def downgrade() -> None:
    with op.batch_alter_table("ob_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ob_token_grant_id"))
        batch_op.drop_index(batch_op.f("ix_ob_token_code_id"))

    op.drop_table("ob_token")
    with op.batch_alter_table("ob_authorization_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ob_authorization_code_grant_id"))

    op.drop_table("ob_authorization_code")
    op.drop_table("ob_profile")
    with op.batch_alter_table("ob_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ob_grant_teacher_id"))

    op.drop_table("ob_grant")
    with op.batch_alter_table("ob_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ob_client_district_id"))

    op.drop_table("ob_client")
