"""The district admin's pages: the dashboard (hours by month, category and school as charts,
compliance, the approval queue, LMS deployments waiting for a decision, CSV downloads) and the
approval queue of self-reports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ler_plugin.credit.categories import category_label
from ler_plugin.districts.models import District, School
from ler_plugin.errors import Forbidden
from ler_plugin.lti import service as lti_service
from ler_plugin.lti.models import Deployment, DeploymentStatus, Platform
from ler_plugin.principal import Principal, Role
from ler_plugin.wallet import approvals
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import (
    Record,
    RecordSource,
    RecordStatus,
    SchoolMembership,
    Visibility,
    Wallet,
)
from ler_plugin.web.pages import LABELS
from ler_plugin.web.render import PageContext, page

NOTICES = {
    "approved": "Approved: it now counts in the teacher's wallet.",
    "rejected": "Rejected: the teacher sees your reason.",
    "deployment_approved": "Deployment approved: launches from it are let in now.",
    "deployment_rejected": "Deployment refused: launches from it stay out.",
}
MONTHS = 12
# What the charts count: credit that stands (approved or verified), of records the teacher shared
# with the district or that the district itself awarded: the rule the rollups room counts by.
COUNTED = (RecordStatus.APPROVED, RecordStatus.VERIFIED)
NO_SCHOOL = "No school recorded"
NO_CATEGORY = "No category"
COMPLIANCE_LABELS = {
    "complete": "Complete",
    "on_track": "On track",
    "at_risk": "At risk",
    "behind": "Behind",
    "exempt": "Exempt",
    "no_credential": "No licence on file",
    "not_evaluated": "Not evaluated",
}
AT_RISK = ("behind", "at_risk")


@dataclass(frozen=True)
class Bar:
    label: str
    hours: Decimal
    records: int
    teachers: int


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    heading: str  # the first column's heading in the table equivalent
    bars: list[Bar]

    @property
    def maximum(self) -> Decimal:
        return max((b.hours for b in self.bars), default=Decimal(0))

    @property
    def total(self) -> Decimal:
        return sum((b.hours for b in self.bars), Decimal(0))

    def width(self, bar: Bar) -> int:
        """The bar's length out of 100 (the chart's viewBox width for bars)."""
        top = self.maximum
        return 0 if top <= 0 else max(1, int(bar.hours * 100 / top)) if bar.hours else 0


@dataclass(frozen=True)
class PendingDeployment:
    deployment: Deployment
    platform: Platform


@dataclass(frozen=True)
class Compliance:
    """From the rollups room: per school, teachers at each status; and who is at risk."""

    statuses: list[str]
    by_school: list[tuple[str, dict[str, int]]]
    at_risk: list[tuple[str, str, str]]  # teacher, school, status label


def admin_district(principal: Principal) -> int:
    principal.require(Role.DISTRICT_ADMIN)
    if principal.district_id is None:
        raise Forbidden("forbidden", "the dashboard belongs to a district")
    return principal.district_id


def _counted(district_id: int, since: dt.date) -> list[Any]:
    return [
        Record.district_id == district_id,
        Record.status.in_(COUNTED),
        Record.visibility.in_((Visibility.DISTRICT, Visibility.PUBLIC))
        | (Record.source == RecordSource.LMS_AWARD),
        Record.completed_on >= since,
    ]


def _bars(rows: Sequence[Any], label: Any) -> list[Bar]:
    return [
        Bar(label(row[0]), Decimal(row[1] or 0).quantize(Decimal("0.01")), row[2], row[3])
        for row in rows
    ]


async def charts(*, session: AsyncSession, principal: Principal, today: dt.date) -> list[Chart]:
    """Clock hours of the last twelve months by month, by category and by school.

    SLOT (rollups): `rollups.service.rollup` answers these from its summary tables; until that
    room is merged the same sums come straight from the records."""
    district_id = admin_district(principal)
    first = _month_start(today, MONTHS - 1)
    where = _counted(district_id, first)
    sums = (
        func.sum(Record.clock_hours),
        func.count(Record.id),
        func.count(func.distinct(Wallet.teacher_id)),
    )
    year = func.extract("year", Record.completed_on)
    month = func.extract("month", Record.completed_on)
    by_month = {
        (int(r[0]), int(r[1])): r
        for r in await session.execute(
            select(year, month, *sums)
            .join(Wallet, Wallet.id == Record.wallet_id)
            .where(*where)
            .group_by(year, month)
        )
    }
    months = []
    for back in range(MONTHS - 1, -1, -1):
        start = _month_start(today, back)
        row = by_month.get((start.year, start.month))
        months.append(
            Bar(
                f"{start:%b} {start.year}",
                Decimal(row[2] or 0).quantize(Decimal("0.01")) if row else Decimal("0.00"),
                row[3] if row else 0,
                row[4] if row else 0,
            )
        )
    categories = await session.execute(
        select(Record.category, *sums)
        .join(Wallet, Wallet.id == Record.wallet_id)
        .where(*where)
        .group_by(Record.category)
        .order_by(func.sum(Record.clock_hours).desc())
    )
    schools = await session.execute(
        select(School.name, *sums)
        .join(Wallet, Wallet.id == Record.wallet_id)
        .outerjoin(
            SchoolMembership,
            (SchoolMembership.teacher_id == Wallet.teacher_id) & SchoolMembership.primary,
        )
        .outerjoin(School, School.id == SchoolMembership.school_id)
        .where(*where)
        .group_by(School.name)
        .order_by(func.sum(Record.clock_hours).desc())
    )
    return [
        Chart("month", "Clock hours by month", "Month", months),
        Chart(
            "category",
            "Clock hours by category",
            "Category",
            _bars(list(categories), lambda c: category_label(c) if c else NO_CATEGORY),
        ),
        Chart(
            "school",
            "Clock hours by school",
            "School",
            _bars(list(schools), lambda s: s or NO_SCHOOL),
        ),
    ]


def _month_start(today: dt.date, back: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


async def compliance(*, session: AsyncSession, principal: Principal) -> Compliance | None:
    """SLOT (rollups): compliance by school and the teachers at risk, from the rollups room's
    compliance service once it is merged (None until then: the page says so)."""
    district_id = admin_district(principal)
    try:
        from ler_plugin.rollups import compliance as rollup_compliance  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    counts = await rollup_compliance.counts_by_school(
        session=session, principal=principal, district_id=district_id
    )
    names = await _school_names(session, district_id)
    at_risk = []
    for status in AT_RISK:
        found = await rollup_compliance.district_compliance(
            session=session, principal=principal, district_id=district_id, status=status, first=100
        )
        at_risk += [
            (c.display_name, names.get(c.school_id, NO_SCHOOL), COMPLIANCE_LABELS[status])
            for c in found.items
        ]
    return Compliance(
        statuses=list(rollup_compliance.STATUSES),
        by_school=sorted((names.get(k, NO_SCHOOL), v) for k, v in counts.items()),
        at_risk=at_risk,
    )


async def _school_names(session: AsyncSession, district_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(School.id, School.name).where(School.district_id == district_id)
    )
    return {row[0]: row[1] for row in rows}


async def pending_deployments(
    *, session: AsyncSession, principal: Principal
) -> list[PendingDeployment]:
    district_id = admin_district(principal)
    rows = await session.execute(
        select(Deployment, Platform)
        .join(Platform, Platform.id == Deployment.platform_id)
        .where(Platform.district_id == district_id, Deployment.status == DeploymentStatus.PENDING)
        .order_by(Deployment.created_at, Deployment.id)
    )
    return [PendingDeployment(d, p) for d, p in rows.tuples()]


@page
async def dashboard_page(ctx: PageContext) -> Response:
    district_id = admin_district(ctx.principal)
    figures = await charts(session=ctx.session, principal=ctx.principal, today=dt.date.today())
    return ctx.render(
        "dashboard.html",
        district=await ctx.session.get(District, district_id),
        waiting=await approvals.pending_count(session=ctx.session, principal=ctx.principal),
        charts=figures,
        compliance=await compliance(session=ctx.session, principal=ctx.principal),
        compliance_labels=COMPLIANCE_LABELS,
        deployments=await pending_deployments(session=ctx.session, principal=ctx.principal),
        notice=NOTICES.get(ctx.request.query_params.get("notice", "")),
    )


@page
async def decide_deployment(ctx: PageContext) -> Response:
    district_id = admin_district(ctx.principal)
    decision = ctx.field("decision")
    if decision not in ("approve", "reject"):
        raise WalletError("bad_decision", "choose approve or reject")
    found = (
        await ctx.session.execute(
            select(Deployment, Platform)
            .join(Platform, Platform.id == Deployment.platform_id)
            .where(Deployment.id == int(ctx.request.path_params["deployment_id"]))
        )
    ).first()
    if found is None or found[1].district_id != district_id:
        raise WalletError("deployment_not_found", "no such deployment", status=404)
    deployment, platform = found
    await lti_service.decide_deployment(
        session=ctx.session,
        principal=ctx.principal,
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_id=deployment.deployment_id,
        approve=decision == "approve",
    )
    return ctx.redirect("/app/dashboard", notice=f"deployment_{decision}d")


@page
async def export_csv(ctx: PageContext) -> Response:
    """What a chart or table on the dashboard shows, as CSV."""
    name = ctx.request.path_params["name"]
    out = io.StringIO()
    writer = csv.writer(out)
    if name == "compliance":
        found = await compliance(session=ctx.session, principal=ctx.principal)
        if found is None:
            raise WalletError("no_compliance", "compliance is not available yet", status=404)
        writer.writerow(["School", *(COMPLIANCE_LABELS[s] for s in found.statuses)])
        for school, counts in found.by_school:
            writer.writerow([school, *(counts.get(s, 0) for s in found.statuses)])
    else:
        chart = next(
            (
                c
                for c in await charts(
                    session=ctx.session, principal=ctx.principal, today=dt.date.today()
                )
                if c.name == name
            ),
            None,
        )
        if chart is None:
            raise WalletError("no_such_export", f"no dashboard export named {name!r}", status=404)
        writer.writerow([chart.heading, "Clock hours", "Records", "Teachers"])
        for bar in chart.bars:
            writer.writerow([_cell(bar.label), bar.hours, bar.records, bar.teachers])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="dashboard-{name}.csv"'},
    )


def _cell(text: str) -> str:
    """No spreadsheet formulas from names people typed."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def _queue(
    ctx: PageContext, status: int = 200, errors: dict[int, str] | None = None
) -> Response:
    return ctx.render(
        "approvals.html",
        status=status,
        **LABELS,
        submissions=await approvals.queue(session=ctx.session, principal=ctx.principal),
        waiting=await approvals.pending_count(session=ctx.session, principal=ctx.principal),
        errors=errors or {},
        notice=NOTICES.get(ctx.request.query_params.get("notice", "")),
    )


@page
async def approvals_page(ctx: PageContext) -> Response:
    return await _queue(ctx)


@page
async def decide(ctx: PageContext) -> Response:
    record_id = int(ctx.request.path_params["record_id"])
    decision = ctx.field("decision")
    if decision not in ("approve", "reject"):
        raise WalletError("bad_decision", "choose approve or reject")
    try:
        await approvals.decide(
            session=ctx.session,
            principal=ctx.principal,
            record_id=record_id,
            approve=decision == "approve",
            reason=ctx.field("reason"),
        )
    except WalletError as exc:
        if exc.status != 400:
            raise
        return await _queue(ctx, status=400, errors={record_id: exc.message})
    return ctx.redirect(
        "/app/dashboard/approvals", notice="approved" if decision == "approve" else "rejected"
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/app/dashboard", dashboard_page, methods=["GET"]),
        Route(
            "/app/dashboard/deployments/{deployment_id:int}", decide_deployment, methods=["POST"]
        ),
        Route("/app/dashboard/export/{name:str}.csv", export_csv, methods=["GET"]),
        Route("/app/dashboard/approvals", approvals_page, methods=["GET"]),
        Route("/app/dashboard/approvals/{record_id:int}", decide, methods=["POST"]),
    ]
