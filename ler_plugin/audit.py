"""Append-only audit events: who did what to what, when and from where.

Tags read ``source:subject:action`` (``record:badge:verify``, ``share:link:revoke``). An event
is written with `record_event` in the same session, so it commits or rolls back with the change.

Where from: during an HTTP request, `RequestMiddleware` binds the client address and request id
with `bind_request`, a context variable each request's task sees alone; `record_event` fills
``ip`` and ``request_id`` from it unless the caller gives them. Outside a request (CLI, jobs)
both stay empty, which is the truth.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, Index, String, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, aware, utcnow
from ler_plugin.errors import LerError
from ler_plugin.pagination import Page, check_first, decode_cursor, encode_cursor
from ler_plugin.principal import Principal, Role


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None
    request_id: str | None


_origin: ContextVar[RequestOrigin | None] = ContextVar("audit_request_origin", default=None)


def bind_request(ip: str | None, request_id: str | None) -> None:
    """Say where the current request comes from; events written while it runs carry it."""
    _origin.set(RequestOrigin(ip=ip, request_id=request_id))


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_district_time", "district_id", "occurred_at"),
        # A teacher's share views: events about given subjects, newest first.
        Index("ix_audit_event_subject_time", "subject_type", "subject_id", "occurred_at"),
    )

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
    origin = _origin.get()
    if origin is not None:
        ip = ip if ip is not None else origin.ip
        request_id = request_id if request_id is not None else origin.request_id
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


class AuditError(LerError):
    pass


async def list_events(
    *,
    session: AsyncSession,
    principal: Principal,
    first: int = 50,
    after: str | None = None,
    tag: str | None = None,
    subject_type: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    district_id: int | None = None,
) -> Page[AuditEvent]:
    """Events newest first. A district admin sees their own district's; the operator any, or
    one district's when `district_id` is given. `tag` matches exactly, or as a prefix when it
    ends with ``:`` (``share:`` is every share event). `since`/`until` bound `occurred_at`
    (inclusive, exclusive)."""
    principal.require(Role.DISTRICT_ADMIN)
    check_first(first)
    query = select(AuditEvent)
    if Role.OPERATOR not in principal.roles:
        if principal.district_id is None:
            raise AuditError("forbidden", "this needs a district", status=403)
        if district_id is not None and district_id != principal.district_id:
            raise AuditError("forbidden", "that belongs to another district", status=403)
        district_id = principal.district_id
    if district_id is not None:
        query = query.where(AuditEvent.district_id == district_id)
    if tag:
        if tag.endswith(":"):
            query = query.where(AuditEvent.tag.startswith(tag, autoescape=True))
        else:
            query = query.where(AuditEvent.tag == tag)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    return await _page(session, query, first, after)


async def _page(
    session: AsyncSession, query: Any, first: int, after: str | None
) -> Page[AuditEvent]:
    if after:
        moment, event_id = decode_cursor(after, 2)
        try:
            at = aware(dt.datetime.fromisoformat(str(moment)))
            key = int(event_id)
        except (TypeError, ValueError):
            raise AuditError("bad_cursor", "the cursor is not one this server gave out") from None
        query = query.where(
            or_(
                AuditEvent.occurred_at < at,
                and_(AuditEvent.occurred_at == at, AuditEvent.id < key),
            )
        )
    rows = list(
        await session.scalars(
            query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(first + 1)
        )
    )
    items = rows[:first]
    cursors = [encode_cursor([aware(e.occurred_at).isoformat(), e.id]) for e in items]
    # The total of an unbounded log is not worth a count per page; -1 says "not counted".
    return Page(items=items, cursors=cursors, has_next=len(rows) > first, total=-1)


async def list_subject_events(
    *,
    session: AsyncSession,
    tag: str,
    subject_type: str,
    subject_ids: list[str],
    first: int = 50,
    after: str | None = None,
) -> Page[AuditEvent]:
    """Events of one tag about the given subjects, newest first: the caller has already decided
    the principal may see those subjects (a teacher's own share links)."""
    check_first(first)
    query = select(AuditEvent).where(
        AuditEvent.tag == tag,
        AuditEvent.subject_type == subject_type,
        AuditEvent.subject_id.in_(subject_ids or ["-"]),
    )
    return await _page(session, query, first, after)
