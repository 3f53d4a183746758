"""Append-only audit events: who did what to what, when and from where.

Tags read ``source:subject:action`` (``record:badge:verify``, ``share:link:revoke``). An event
is written with `record_event` in the same session, so it commits or rolls back with the change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_district_time", "district_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id", ondelete="SET NULL"))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    tag: Mapped[str] = mapped_column(String(64))
    actor_kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(255))
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


def record_event(
    session: AsyncSession,
    tag: str,
    *,
    actor_kind: str,
    actor_id: str | int | None,
    district_id: int | None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    ip: str | None = None,
    request_id: str | None = None,
    **data: Any,
) -> AuditEvent:
    event = AuditEvent(
        tag=tag,
        actor_kind=actor_kind,
        actor_id=None if actor_id is None else str(actor_id),
        district_id=district_id,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        ip=ip,
        request_id=request_id,
        data=data,
    )
    session.add(event)
    return event
