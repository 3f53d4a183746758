"""The district admin's pages: the dashboard landing and the approval queue of self-reports."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ler_plugin.districts.models import District
from ler_plugin.wallet import approvals
from ler_plugin.wallet.errors import WalletError
from ler_plugin.web.pages import LABELS
from ler_plugin.web.render import PageContext, page

NOTICES = {
    "approved": "Approved: it now counts in the teacher's wallet.",
    "rejected": "Rejected: the teacher sees your reason.",
}


@page
async def dashboard_page(ctx: PageContext) -> Response:
    """SLOT (rollups): the district rollups and compliance belong on this page."""
    waiting = await approvals.pending_count(session=ctx.session, principal=ctx.principal)
    district = await ctx.session.get(District, ctx.principal.district_id)
    return ctx.render("dashboard.html", waiting=waiting, district=district)


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
        Route("/app/dashboard/approvals", approvals_page, methods=["GET"]),
        Route("/app/dashboard/approvals/{record_id:int}", decide, methods=["POST"]),
    ]
