"""PD provider organisations, the issuers they may speak for, and their API credentials."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, utcnow


class Provider(Base):
    """An organisation that delivers PD to a district's teachers and may post badges."""

    __tablename__ = "provider"
    __table_args__ = (UniqueConstraint("district_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str]
    # Unit of `creditsEarned` in this provider's badges: clock_hour, ceu or semester_hour.
    credit_unit: Mapped[str | None] = mapped_column(String(32))
    approved: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProviderIssuer(Base):
    """An Open Badges issuer id (URL or DID) this provider may post badges for."""

    __tablename__ = "provider_issuer"
    __table_args__ = (UniqueConstraint("provider_id", "issuer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(1024))


class ProviderCredential(Base):
    """An OAuth2 client the provider uses for tokens; the secret is stored hashed only."""

    __tablename__ = "provider_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("provider.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
