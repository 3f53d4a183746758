"""The district admin's pages: the dashboard (hours by month, category and school as charts,
compliance, the approval queue, LMS deployments waiting for a decision, CSV downloads) and the
approval queue of self-reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ler_plugin.credit.categories import category_label
from ler_plugin.districts import service as districts
from ler_plugin.districts.models import District
from ler_plugin.errors import Forbidden
from ler_plugin.licences import tracking
from ler_plugin.lti import service as lti_service
from ler_plugin.lti.models import Deployment, Platform
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import compliance as rollup_compliance
from ler_plugin.rollups import links, periods
from ler_plugin.rollups import service as rollups
from ler_plugin.wallet import approvals
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import (
    RecordStatus,
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
# What the charts count: credit that stands (approved or verified); the rollups room adds its own
# rule, records the teacher shared with the district or that the district itself awarded.
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
    at_risk: list[tuple[str, str, str, dt.date | None]]  # teacher, school, status, cycle end


def admin_district(principal: Principal) -> int:
    principal.require(Role.DISTRICT_ADMIN)
    if principal.district_id is None:
        raise Forbidden("forbidden", "the dashboard belongs to a district")
    return principal.district_id


async def _grouped(
    session: AsyncSession, principal: Principal, district_id: int, by: str, since: dt.date
) -> list[rollups.RollupRow]:
    query = rollups.RollupQuery(by=(by,), date_from=since, statuses=tuple(s.value for s in COUNTED))
    found: list[rollups.RollupRow] = []
    async for chunk in rollups.stream(
        session=session, principal=principal, district_id=district_id, query=query
    ):
        found.extend(chunk)
    return found


def _bar(label: str, row: rollups.RollupRow | None) -> Bar:
    if row is None:
        return Bar(label, Decimal("0.00"), 0, 0)
    return Bar(label, row.clock_hours.quantize(Decimal("0.01")), row.records, row.teachers)


def _ranked(bars: list[Bar]) -> list[Bar]:
    return sorted(bars, key=lambda b: (-b.hours, b.label))


async def charts(*, session: AsyncSession, principal: Principal, today: dt.date) -> list[Chart]:
    """Clock hours of the last twelve months by month, by category and by school, from the
    rollups room (its summary tables answer these without reading every record)."""
    district_id = admin_district(principal)
    since = _month_start(today, MONTHS - 1)
    by_month = {
        row.key[0]: row for row in await _grouped(session, principal, district_id, "month", since)
    }
    months = [
        _bar(f"{start:%b} {start.year}", by_month.get(periods.month_key(start)))
        for start in (_month_start(today, back) for back in range(MONTHS - 1, -1, -1))
    ]
    categories = [
        _bar(category_label(str(row.key[0])) if row.key[0] else NO_CATEGORY, row)
        for row in await _grouped(session, principal, district_id, "category", since)
    ]
    schools = [
        _bar(row.labels[0] if row.key[0] else NO_SCHOOL, row)
        for row in await _grouped(session, principal, district_id, "school", since)
    ]
    return [
        Chart("month", "Clock hours by month", "Month", months),
        Chart("category", "Clock hours by category", "Category", _ranked(categories)),
        Chart("school", "Clock hours by school", "School", _ranked(schools)),
    ]


def _month_start(today: dt.date, back: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


async def compliance(*, session: AsyncSession, principal: Principal) -> Compliance:
    """Compliance by school and the teachers at risk, from the rollups room's compliance."""
    district_id = admin_district(principal)
    counts = await rollup_compliance.counts_by_school(
        session=session, principal=principal, district_id=district_id
    )
    names = await districts.school_names(session=session, district_id=district_id)
    at_risk = []
    for status in AT_RISK:
        found = await rollup_compliance.district_compliance(
            session=session, principal=principal, district_id=district_id, status=status, first=100
        )
        at_risk += [
            (
                c.display_name,
                names.get(c.school_id, NO_SCHOOL),
                COMPLIANCE_LABELS[status],
                c.result.cycle.end if c.result else None,
            )
            for c in found.items
        ]
    return Compliance(
        statuses=list(rollup_compliance.STATUSES),
        by_school=sorted((names.get(k, NO_SCHOOL), v) for k, v in counts.items()),
        at_risk=at_risk,
    )


async def pending_deployments(
    *, session: AsyncSession, principal: Principal
) -> list[PendingDeployment]:
    found = await lti_service.pending_deployments(
        session=session, principal=principal, district_id=admin_district(principal)
    )
    return [PendingDeployment(d, p) for d, p in found]


@page
async def dashboard_page(ctx: PageContext) -> Response:
    district_id = admin_district(ctx.principal)
    today = dt.date.today()
    figures = await charts(session=ctx.session, principal=ctx.principal, today=today)
    return ctx.render(
        "dashboard.html",
        district=await ctx.session.get(District, district_id),
        waiting=await approvals.pending_count(session=ctx.session, principal=ctx.principal),
        charts=figures,
        compliance=await compliance(session=ctx.session, principal=ctx.principal),
        compliance_labels=COMPLIANCE_LABELS,
        downloads=downloads(ctx, district_id, today),
        deployments=await pending_deployments(session=ctx.session, principal=ctx.principal),
        expiring=await tracking.expiring(
            session=ctx.session, principal=ctx.principal, district_id=district_id, today=today
        ),
        soon=tracking.SOON,
        notice=NOTICES.get(ctx.request.query_params.get("notice", "")),
    )


@page
async def decide_deployment(ctx: PageContext) -> Response:
    district_id = admin_district(ctx.principal)
    decision = ctx.field("decision")
    if decision not in ("approve", "reject"):
        raise WalletError("bad_decision", "choose approve or reject")
    await lti_service.decide_deployment_by_id(
        session=ctx.session,
        principal=ctx.principal,
        district_id=district_id,
        deployment_pk=int(ctx.request.path_params["deployment_id"]),
        approve=decision == "approve",
    )
    return ctx.redirect("/app/dashboard", notice=f"deployment_{decision}d")


def downloads(ctx: PageContext, district_id: int, today: dt.date) -> dict[str, str]:
    """Signed CSV links (the rollups room's /exports) for each chart and the compliance table:
    the same figures, grouped the same way, over the same months and statuses."""
    since = _month_start(today, MONTHS - 1).isoformat()
    found = {
        name: links.sign(
            ctx.settings,
            ctx.principal,
            "rollup",
            district_id,
            {"by": [name], "from": since, "statuses": [s.value for s in COUNTED]},
        )
        for name in ("month", "category", "school")
    }
    found["compliance"] = links.sign(ctx.settings, ctx.principal, "compliance", district_id, {})
    # The session travels with the link: inside an LMS iframe the cookie may not.
    return {name: f"{url}&{urlencode({'session': ctx.token})}" for name, url in found.items()}


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
        Route("/app/dashboard/approvals", approvals_page, methods=["GET"]),
        Route("/app/dashboard/approvals/{record_id:int}", decide, methods=["POST"]),
    ]
