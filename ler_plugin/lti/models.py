"""LMS platform registrations, their deployments, logins in flight, platform and tool keys."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, str_enum, utcnow


class DeploymentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Platform(Base):
    """An LMS registration, keyed by (issuer, client_id): Canvas shares one issuer everywhere."""

    __tablename__ = "lti_platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None]
    issuer: Mapped[str] = mapped_column(String(512))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    # Brightspace wants a different `aud` in the client assertion than the token URL.
    auth_audience: Mapped[str | None] = mapped_column(String(1024))
    jwks_url: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """A deployment id of a platform; unknown ones wait as pending until a district admin approves."""

    __tablename__ = "lti_deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[DeploymentStatus] = mapped_column(
        str_enum(DeploymentStatus, "deployment_status"), default=DeploymentStatus.PENDING
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoginState(Base):
    """One OIDC login in flight: the state and nonce we sent, bound to the browser that asked.

    Used once (``used_at`` is set by one conditional UPDATE, so two workers cannot both accept it)
    and only for a few minutes; the browser proves it is the same one with a secret whose hash is
    kept here (sent back as a cookie or read from the platform's postMessage storage).
    """

    __tablename__ = "lti_login_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    browser_hash: Mapped[str] = mapped_column(String(64))
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"))
    # The platform's postMessage storage frame, when it offered one (lti_storage_target).
    storage_target: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]


class PlatformKeyset(Base):
    """The last JWKS fetched from a platform, shared by every worker process.

    ``forced_at`` is when a token with an unknown kid last made us refetch: such refetches are
    rate-limited per platform, so forged kids cannot make us hammer an LMS.
    """

    __tablename__ = "lti_platform_keyset"

    platform_id: Mapped[int] = mapped_column(
        ForeignKey("lti_platform.id", ondelete="CASCADE"), primary_key=True
    )
    jwks: Mapped[dict[str, Any]]
    fetched_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    forced_at: Mapped[dt.datetime | None]


class ToolKey(Base):
    """A signing key of the tool itself (client assertions, deep-linking responses).

    The private key is stored encrypted with a key derived from the settings' secret. The
    newest key signs; the one before it stays published in /lti/jwks until the next rotation.
    """

    __tablename__ = "lti_tool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None]
