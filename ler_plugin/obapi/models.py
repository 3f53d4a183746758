"""OAuth 2.0 for the Open Badges API: registered clients, each teacher's grant to a client, and the
codes and tokens issued under a grant. Secrets, codes and tokens are stored as SHA-256 digests
only: a copy of the database opens no wallet."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, utcnow


class ObClient(Base):
    """An application registered by OAuth 2.0 Dynamic Client Registration (RFC 7591) with one
    district's Open Badges API; `client_metadata` is what it registered (names, URIs, scopes)."""

    __tablename__ = "ob_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    client_metadata: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ObGrant(Base):
    """A teacher's consent to one client: the scopes, which records it may read (the visibility
    levels allowed), and whether it may see the teacher's name. Revoking it ends every token."""

    __tablename__ = "ob_grant"
    __table_args__ = (UniqueConstraint("client_pk", "teacher_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("ob_client.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("teacher.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text)
    # The widest visibility the client may read: "public", or "district" (district and public).
    records: Mapped[str] = mapped_column(String(16))
    show_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]


class ObAuthorizationCode(Base):
    """A one-time authorization code (PKCE S256), bound to its client's redirect URI."""

    __tablename__ = "ob_authorization_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("ob_grant.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class ObToken(Base):
    """An access token (and its refresh token) issued under a grant."""

    __tablename__ = "ob_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("ob_grant.id", ondelete="CASCADE"), index=True)
    # The code it was first issued from: a code used twice revokes what it gave.
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("ob_authorization_code.id", ondelete="SET NULL"), index=True
    )
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    refresh_expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class ObProfile(Base):
    """What the teacher's Open Badges Profile shows the clients allowed to see it: a name and an
    email they chose (one of their verified emails), set on the wallet page or by `putProfile`."""

    __tablename__ = "ob_profile"

    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("teacher.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
