"""Badges as received and verified, and badges waiting for a teacher to claim them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, utcnow


class Badge(Base):
    """One Open Badge (2.0 assertion or 3.0 / CLR credential) with its full verification report."""

    __tablename__ = "badge"
    # The same assertion posted twice (or fifty times at once) is one badge.
    __table_args__ = (UniqueConstraint("district_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), index=True
    )
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id", ondelete="SET NULL"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))
    # sha256 of the assertion id (hosted) or of the canonical credential (signed).
    fingerprint: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str | None] = mapped_column(String(2048))
    assertion_id: Mapped[str | None] = mapped_column(String(2048))
    issuer_id: Mapped[str | None] = mapped_column(String(2048))
    issuer_name: Mapped[str | None]
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(4000))
    image_url: Mapped[str | None] = mapped_column(String(2048))
    recipient_identity: Mapped[str | None] = mapped_column(String(512))
    valid: Mapped[bool] = mapped_column(Boolean)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[dt.datetime | None]
    issued_at: Mapped[dt.datetime | None]
    verified_at: Mapped[dt.datetime]
    report: Mapped[dict[str, Any]]
    credential: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The credit accepted at intake, kept here so a claim that lands later counts the same.
    clock_hours: Mapped[Decimal | None]
    ceus: Mapped[Decimal | None]
    category: Mapped[str | None] = mapped_column(String(64))
    # Why the credit needs a person's review (a teacher's own figure, a converted unit).
    credit_note: Mapped[str | None] = mapped_column(Text)
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class PendingClaim(Base):
    """A verified badge for an email no teacher holds yet; it lands when that teacher first launches."""

    __tablename__ = "pending_claim"
    __table_args__ = (UniqueConstraint("badge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), index=True
    )
    badge_id: Mapped[int] = mapped_column(ForeignKey("badge.id", ondelete="CASCADE"))
    recipient_email: Mapped[str | None] = mapped_column(String(320), index=True)
    recipient_hash: Mapped[str | None] = mapped_column(String(255))
    recipient_salt: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    declined_at: Mapped[dt.datetime | None]
