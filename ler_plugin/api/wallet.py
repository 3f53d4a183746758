"""The teacher's own wallet as GraphQL: types shaped from the domain, resolvers that only ask."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from ler_plugin.api.context import Info
from ler_plugin.wallet import models, service

RecordKind = strawberry.enum(models.RecordKind, name="RecordKind")
RecordSource = strawberry.enum(models.RecordSource, name="RecordSource")
RecordStatus = strawberry.enum(models.RecordStatus, name="RecordStatus")
Visibility = strawberry.enum(models.Visibility, name="Visibility")
ReviewState = strawberry.enum(
    models.ReviewState,
    name="ReviewState",
    description="Whether a person should check the record's credit (reviewNote says why).",
)


@strawberry.type
class Record:
    id: strawberry.ID
    kind: RecordKind  # type: ignore[valid-type]
    source: RecordSource  # type: ignore[valid-type]
    status: RecordStatus  # type: ignore[valid-type]
    visibility: Visibility  # type: ignore[valid-type]
    title: str
    description: str | None
    provider_name: str | None
    category: str | None
    skills: list[str]
    started_on: dt.date | None
    completed_on: dt.date
    clock_hours: Decimal | None
    ceus: Decimal | None
    status_reason: str | None
    review: ReviewState  # type: ignore[valid-type]
    review_note: str | None

    @classmethod
    def from_model(cls, record: models.Record) -> Record:
        return cls(
            id=strawberry.ID(str(record.id)),
            kind=record.kind,
            source=record.source,
            status=record.status,
            visibility=record.visibility,
            title=record.title,
            description=record.description,
            provider_name=record.provider_name,
            category=record.category,
            skills=list(record.skills or []),
            started_on=record.started_on,
            completed_on=record.completed_on,
            clock_hours=record.clock_hours,
            ceus=record.ceus,
            status_reason=record.status_reason,
            review=record.review,
            review_note=record.review_note,
        )


@strawberry.type
class RecordEdge:
    cursor: str
    node: Record


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class RecordConnection:
    edges: list[RecordEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class WalletTotals:
    records: int
    clock_hours: Decimal
    ceus: Decimal
    badges: int


@strawberry.type
class TeacherProfile:
    id: strawberry.ID
    display_name: str


@strawberry.type
class Wallet:
    id: strawberry.ID
    owner: TeacherProfile
    wallet_id: strawberry.Private[int]

    @strawberry.field(
        description="What the wallet holds, not counting rejected, revoked or expired records."
    )
    async def totals(self, info: Info) -> WalletTotals:
        session = info.context.session
        wallet = await session.get(models.Wallet, self.wallet_id)
        assert wallet is not None
        t = await service.totals(session=session, wallet=wallet)
        return WalletTotals(
            records=t.records, clock_hours=t.clock_hours, ceus=t.ceus, badges=t.badges
        )

    @strawberry.field(description="Records, newest first. `first` is 1 to 100.")
    async def records(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        kinds: list[RecordKind] | None = None,  # type: ignore[valid-type]
        search: str | None = None,
    ) -> RecordConnection:
        session = info.context.session
        wallet = await session.get(models.Wallet, self.wallet_id)
        assert wallet is not None
        page = await service.list_records(
            session=session,
            wallet=wallet,
            first=first,
            after=after,
            kinds=list(kinds or []),
            search=search,
        )
        edges = [
            RecordEdge(cursor=c, node=Record.from_model(r))
            for r, c in zip(page.items, page.cursors, strict=True)
        ]
        return RecordConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=page.cursors[-1] if page.cursors else None
            ),
            total_count=page.total,
        )


async def _my_wallet(info: Info) -> Wallet:
    principal = info.context.need_principal()
    session = info.context.session
    wallet = await service.wallet_of(session=session, principal=principal)
    teacher = await service.get_teacher(session=session, teacher_id=wallet.teacher_id)
    return Wallet(
        id=strawberry.ID(str(wallet.id)),
        owner=TeacherProfile(id=strawberry.ID(str(teacher.id)), display_name=teacher.display_name),
        wallet_id=wallet.id,
    )


@strawberry.type
class WalletQuery:
    wallet: Wallet = strawberry.field(
        resolver=_my_wallet, description="The signed-in teacher's own wallet."
    )
