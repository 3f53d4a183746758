"""The audit log as GraphQL: district admins read their district's events; teachers see who
opened their share links."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from ler_plugin import audit
from ler_plugin.api.context import Info
from ler_plugin.api.wallet import PageInfo
from ler_plugin.db import aware
from ler_plugin.pagination import Page
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet import sharing


@strawberry.type(description="One audit event: who did what to what, when and from where.")
class AuditEvent:
    id: strawberry.ID
    occurred_at: dt.datetime
    tag: str = strawberry.field(description="source:subject:action, e.g. share:link:revoke.")
    actor_kind: str
    actor_id: str | None
    district_id: strawberry.ID | None
    subject_type: str | None
    subject_id: str | None
    ip: str | None = strawberry.field(description="Client address (share views: its network).")
    request_id: str | None
    data: JSON

    @classmethod
    def from_model(cls, event: audit.AuditEvent) -> AuditEvent:
        return cls(
            id=strawberry.ID(str(event.id)),
            occurred_at=aware(event.occurred_at),
            tag=event.tag,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            district_id=strawberry.ID(str(event.district_id)) if event.district_id else None,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            ip=event.ip,
            request_id=event.request_id,
            data=JSON(event.data),
        )


@strawberry.type
class AuditEventEdge:
    cursor: str
    node: AuditEvent


@strawberry.type
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo


def _connection(page: Page[audit.AuditEvent]) -> AuditEventConnection:
    return AuditEventConnection(
        edges=[
            AuditEventEdge(cursor=c, node=AuditEvent.from_model(e))
            for e, c in zip(page.items, page.cursors, strict=True)
        ],
        page_info=PageInfo(
            has_next_page=page.has_next, end_cursor=page.cursors[-1] if page.cursors else None
        ),
    )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Audit events newest first: a district admin sees their district's, the "
        "operator every district's. `tag` ending in ':' matches as a prefix ('share:'); "
        "`from` is inclusive, `to` exclusive. `first` is 1 to 100."
    )
    async def audit_events(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        tag: str | None = None,
        subject_type: str | None = None,
        from_: Annotated[dt.datetime | None, strawberry.argument(name="from")] = None,
        to: dt.datetime | None = None,
    ) -> AuditEventConnection:
        principal = info.context.need_principal()
        page = await audit.list_events(
            session=info.context.session,
            principal=principal,
            first=first,
            after=after,
            tag=tag,
            subject_type=subject_type,
            since=from_,
            until=to,
        )
        return _connection(page)

    @strawberry.field(
        description="Opens of the signed-in teacher's share links, newest first; `subjectId` is "
        "the link, `ip` the viewer's network (IPv4 /24, IPv6 /48)."
    )
    async def my_share_views(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> AuditEventConnection:
        principal = info.context.need_principal()
        session = info.context.session
        wallet = await wallets.wallet_of(session=session, principal=principal)
        page = await sharing.link_views(
            session=session, principal=principal, wallet=wallet, first=first, after=after
        )
        return _connection(page)
