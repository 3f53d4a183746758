"""The teacher's counted records as Open Badges 3.0 credentials signed by the district: a download."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ler_plugin.districts.models import District
from ler_plugin.issuing import credentials as export
from ler_plugin.issuing.keys import district_issuer
from ler_plugin.wallet import service as wallets
from ler_plugin.web.render import PageContext, page


async def _signed(ctx: PageContext) -> tuple[export.Ob3Issuer, list[dict[str, Any]], str]:
    """The district as issuer, the teacher's counted records signed by it, the teacher's name."""
    wallet = await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    teacher = await wallets.get_teacher(session=ctx.session, teacher_id=wallet.teacher_id)
    district = await ctx.session.get(District, teacher.district_id)
    assert district is not None
    # The recipient is named by a salted hash of a verified (LMS-given) email, if there is one.
    email = next(iter(await wallets.verified_emails(ctx.session, teacher.id)), None)
    issuer = await district_issuer(session=ctx.session, settings=ctx.settings, district=district)
    records = await wallets.all_records(session=ctx.session, wallet=wallet)
    credentials = export.export_ob3(
        records, issuer=issuer, base_url=ctx.settings.base_url, recipient_email=email
    )
    return issuer, credentials, teacher.display_name


def _download(body: dict[str, Any], filename: str) -> Response:
    return Response(
        json.dumps(body, indent=2),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@page
async def export_ob3_json(ctx: PageContext) -> Response:
    issuer, credentials, _ = await _signed(ctx)
    return _download(
        {"issuer": issuer.id, "credentials": credentials}, "my-learning-wallet.ob3.json"
    )


@page
async def export_clr_json(ctx: PageContext) -> Response:
    """The same credentials in one signed CLR 2.0 transcript (the name left out on request)."""
    issuer, credentials, name = await _signed(ctx)
    clr = export.export_clr(
        credentials,
        issuer=issuer,
        base_url=ctx.settings.base_url,
        learner_name=None if ctx.request.query_params.get("hide_name") else name,
    )
    return _download(clr, "my-learning-record.clr.json")


def routes() -> list[BaseRoute]:
    return [
        Route("/app/wallet/export.ob3.json", export_ob3_json, methods=["GET"]),
        Route("/app/wallet/export.clr.json", export_clr_json, methods=["GET"]),
    ]
