"""LMS platform registrations and their deployments."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
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
