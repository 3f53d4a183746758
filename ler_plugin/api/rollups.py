"""District rollups and compliance as GraphQL: `district { rollup compliance complianceCounts }`
for district staff, and `myCompliance` for the signed-in teacher. Resolvers only ask the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from ler_plugin.api.context import Info
from ler_plugin.api.wallet import PageInfo, RecordStatus
from ler_plugin.districts import service as districts
from ler_plugin.districts.models import District
from ler_plugin.errors import Forbidden
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import compliance as compliance_service
from ler_plugin.rollups import links, service
from ler_plugin.rollups.errors import RollupError


@strawberry.type
class RollupKey:
    dimension: str
    value: str = strawberry.field(description="The group's key: an id, a period or a name.")
    label: str


@strawberry.type
class RollupGroup:
    keys: list[RollupKey]
    records: int
    teachers: int
    clock_hours: Decimal
    ceus: Decimal
    hours_equivalent: Decimal = strawberry.field(description="Clock hours plus ten per CEU.")

    @classmethod
    def from_row(cls, row: service.RollupRow) -> RollupGroup:
        return cls(
            keys=[
                RollupKey(dimension=d, value=str(k), label=label)
                for d, k, label in zip(row.by, row.key, row.labels, strict=True)
            ],
            records=row.records,
            teachers=row.teachers,
            clock_hours=row.clock_hours,
            ceus=row.ceus,
            hours_equivalent=row.hours_equivalent,
        )


@strawberry.type
class RollupEdge:
    cursor: str
    node: RollupGroup


@strawberry.type
class RollupConnection:
    edges: list[RollupEdge]
    page_info: PageInfo
    totals: RollupGroup = strawberry.field(description="All groups together, teachers once.")
    district_id: strawberry.Private[int]
    params: strawberry.Private[dict[str, Any]]

    @strawberry.field(
        description="Signed, short-lived link to the whole rollup as CSV (for this user only); "
        "groups of fewer than `minTeachers` teachers are masked (small-cell suppression)."
    )
    def csv_url(self, info: Info, min_teachers: int = 0) -> str:
        if not 0 <= min_teachers <= 1000:
            raise RollupError("bad_min_teachers", "minTeachers must be between 0 and 1000")
        principal = info.context.need_principal()
        params = {**self.params, "min_teachers": min_teachers}
        return links.sign(info.context.settings, principal, "rollup", self.district_id, params)


@strawberry.type
class CategoryStanding:
    category: str
    label: str
    earned: Decimal
    minimum: Decimal | None
    cap: Decimal | None


@strawberry.type
class RecordReason:
    record_id: strawberry.ID
    reason: str = strawberry.field(
        description="counted, capped, carried_over, carried_in, outside_cycle, not_verified, "
        "revoked, rejected, provider_not_approved, no_credit, not_shared or expired."
    )
    credited: Decimal


@strawberry.type
class Compliance:
    teacher_id: strawberry.ID
    teacher: str
    school_id: strawberry.ID | None
    status: str = strawberry.field(
        description="complete, on_track, at_risk, behind, exempt, no_credential or not_evaluated."
    )
    problem: str | None
    unit: str | None
    cycle_start: dt.date | None
    cycle_end: dt.date | None
    required: Decimal | None
    earned: Decimal | None
    remaining: Decimal | None
    categories: list[CategoryStanding]
    records: list[RecordReason] = strawberry.field(description="What became of each record.")

    @classmethod
    def from_result(cls, c: compliance_service.TeacherCompliance, detail: bool) -> Compliance:
        r = c.result
        reasons = []
        if detail:
            if r is not None:
                reasons = [
                    RecordReason(
                        record_id=strawberry.ID(o.record_id), reason=o.reason, credited=o.credited
                    )
                    for o in r.outcomes
                ]
            reasons += [
                RecordReason(record_id=strawberry.ID(i), reason=why, credited=Decimal(0))
                for i, why in c.withheld
            ]
        return cls(
            teacher_id=strawberry.ID(str(c.teacher_id)),
            teacher=c.display_name,
            school_id=strawberry.ID(str(c.school_id)) if c.school_id else None,
            status=c.status,
            problem=c.problem,
            unit=r.unit if r else None,
            cycle_start=r.cycle.start if r else None,
            cycle_end=r.cycle.end if r else None,
            required=r.required if r else None,
            earned=r.earned if r else None,
            remaining=r.remaining if r else None,
            categories=[
                CategoryStanding(
                    category=g.category,
                    label=g.label,
                    earned=g.earned,
                    minimum=g.minimum,
                    cap=g.cap,
                )
                for g in (r.categories if r else ())
            ],
            records=reasons,
        )


@strawberry.type
class ComplianceEdge:
    cursor: str
    node: Compliance


@strawberry.type
class ComplianceConnection:
    edges: list[ComplianceEdge]
    page_info: PageInfo
    csv_url: str


@strawberry.type
class StatusCount:
    status: str
    teachers: int


@strawberry.type
class SchoolCompliance:
    school_id: strawberry.ID | None
    school: str
    counts: list[StatusCount]


def _id(value: strawberry.ID | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise RollupError(f"bad_{name}", f"{name} must be an id") from None


@strawberry.type
class DistrictView:
    id: strawberry.ID
    name: str
    district_id: strawberry.Private[int]

    @strawberry.field(
        description="Shared and district-issued records grouped by any of school, category, "
        "provider, kind, source, teacher, month, quarter, school_year. `first` is 1 to 100."
    )
    async def rollup(
        self,
        info: Info,
        by: list[str],
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
        schools: list[strawberry.ID] | None = None,
        categories: list[str] | None = None,
        providers: list[str] | None = None,
        statuses: list[RecordStatus] | None = None,  # type: ignore[valid-type]
        first: int = 50,
        after: str | None = None,
    ) -> RollupConnection:
        principal = info.context.need_principal()
        session = info.context.session
        query = service.RollupQuery(
            by=service.parse_by(by),
            date_from=from_,
            date_to=to,
            schools=tuple(_id(s, "school") or 0 for s in schools or ()),
            categories=tuple(categories or ()),
            providers=tuple(providers or ()),
            statuses=tuple(str(getattr(s, "value", s)) for s in statuses or ()),
        )
        page = await service.rollup(
            session=session,
            principal=principal,
            district_id=self.district_id,
            query=query,
            first=first,
            after=after,
        )
        total = await service.totals(
            session=session, principal=principal, district_id=self.district_id, query=query
        )
        params = {
            "by": list(query.by),
            "from": from_.isoformat() if from_ else None,
            "to": to.isoformat() if to else None,
            "schools": list(query.schools),
            "categories": list(query.categories),
            "providers": list(query.providers),
            "statuses": list(query.statuses),
        }
        return RollupConnection(
            edges=[
                RollupEdge(cursor=c, node=RollupGroup.from_row(r))
                for r, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=page.cursors[-1] if page.cursors else None
            ),
            totals=RollupGroup.from_row(total),
            district_id=self.district_id,
            params=params,
        )

    @strawberry.field(description="Each teacher's standing in their renewal cycle, teacher order.")
    async def compliance(
        self,
        info: Info,
        school: strawberry.ID | None = None,
        status: str | None = None,
        on: dt.date | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ComplianceConnection:
        principal = info.context.need_principal()
        school_id = _id(school, "school")
        page = await compliance_service.district_compliance(
            session=info.context.session,
            principal=principal,
            district_id=self.district_id,
            on=on,
            school_id=school_id,
            status=status,
            first=first,
            after=after,
        )
        params = {"school": school_id, "status": status, "on": on.isoformat() if on else None}
        return ComplianceConnection(
            edges=[
                ComplianceEdge(cursor=cursor, node=Compliance.from_result(c, detail=False))
                for c, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=page.cursors[-1] if page.cursors else None
            ),
            csv_url=links.sign(
                info.context.settings, principal, "compliance", self.district_id, params
            ),
        )

    @strawberry.field(description="How many teachers of each school stand at each status.")
    async def compliance_counts(
        self, info: Info, on: dt.date | None = None
    ) -> list[SchoolCompliance]:
        principal = info.context.need_principal()
        session = info.context.session
        counts = await compliance_service.counts_by_school(
            session=session, principal=principal, district_id=self.district_id, on=on
        )
        names = await districts.school_names(session=session, district_id=self.district_id)
        return [
            SchoolCompliance(
                school_id=strawberry.ID(str(school_id)) if school_id else None,
                school=names.get(school_id, "(no school)"),
                counts=[StatusCount(status=s, teachers=n) for s, n in per_status.items()],
            )
            for school_id, per_status in sorted(counts.items())
        ]

    @strawberry.field(description="Signed, short-lived link to every visible record as CSV.")
    def records_csv_url(self, info: Info) -> str:
        principal = info.context.need_principal()
        service.authorize(principal, self.district_id)
        return links.sign(info.context.settings, principal, "records", self.district_id, {})


async def _district(info: Info) -> DistrictView:
    principal: Principal = info.context.need_principal()
    principal.require(Role.DISTRICT_ADMIN)
    if principal.district_id is None:
        raise Forbidden("forbidden", "this needs a district: sign in through your district's LMS")
    district = await info.context.session.get(District, principal.district_id)
    if district is None:
        raise Forbidden("forbidden", "your district no longer exists")
    return DistrictView(
        id=strawberry.ID(str(district.id)), name=district.name, district_id=district.id
    )


async def _my_compliance(info: Info, on: dt.date | None = None) -> Compliance:
    principal = info.context.need_principal()
    if principal.teacher_id is None:
        raise Forbidden("forbidden", "only a teacher has a compliance standing")
    result = await compliance_service.teacher_compliance(
        session=info.context.session, principal=principal, teacher_id=principal.teacher_id, on=on
    )
    return Compliance.from_result(result, detail=True)


@strawberry.type
class RollupsQuery:
    district: DistrictView = strawberry.field(
        resolver=_district, description="The signed-in district staff member's own district."
    )
    my_compliance: Compliance = strawberry.field(
        resolver=_my_compliance,
        description="The signed-in teacher's standing in the renewal cycle containing `on` "
        "(default today), with what became of each record.",
    )
