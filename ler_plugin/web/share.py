"""Sharing: the teacher's share links, and the public page a link opens (no session needed)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ler_plugin.config import Settings
from ler_plugin.districts.models import District
from ler_plugin.errors import LerError
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet import sharing
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import Visibility
from ler_plugin.web import slots
from ler_plugin.web.middleware import client_address, system_rows
from ler_plugin.web.pages import LABELS
from ler_plugin.web.render import PageContext, error_page, page, plain_page

NOTICES = {
    "created": "Your share link is ready: copy it from the list below.",
    "revoked": "That link no longer works.",
}


def share_url(settings: Settings, link: sharing.ShareLink) -> str:
    return f"{settings.base_url}/share/{sharing.token_for(settings, link)}"


async def _render(
    ctx: PageContext, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    wallet = await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    links = await sharing.list_links(session=ctx.session, wallet=wallet)
    views = await sharing.recent_views(session=ctx.session, links=[link for link, _ in links])
    chosen = {v for v in ctx.form.getlist("record") if isinstance(v, str)} if ctx.form else set()
    return ctx.render(
        "shares.html",
        status=status,
        **LABELS,
        links=[
            (link, count, share_url(ctx.settings, link), sharing.is_active(link))
            for link, count in links
        ],
        views=views,
        records=await wallets.all_records(session=ctx.session, wallet=wallet),
        chosen=chosen,
        expiry_choices=sharing.EXPIRY_CHOICES_DAYS,
        private=Visibility.PRIVATE,
        errors=errors or {},
        notice=NOTICES.get(ctx.request.query_params.get("notice", "")),
        new_link=ctx.request.query_params.get("new", ""),
    )


@page
async def shares_page(ctx: PageContext) -> Response:
    if ctx.request.method == "GET":
        return await _render(ctx)
    wallet = await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    errors: dict[str, str] = {}
    try:
        record_ids = [int(str(v)) for v in ctx.form.getlist("record")] if ctx.form else []
    except ValueError:
        record_ids = []
        errors["records"] = "Choose records from the list"
    try:
        days = int(ctx.field("expires_in_days"))
    except ValueError:
        days = 0
    if not errors:
        try:
            link, _token = await sharing.create_link(
                session=ctx.session,
                settings=ctx.settings,
                principal=ctx.principal,
                wallet=wallet,
                record_ids=record_ids,
                expires_in_days=days,
                hide_identity=ctx.field("hide_identity") == "yes",
                label=ctx.field("label"),
            )
            return ctx.redirect("/app/wallet/shares", notice="created", new=link.id)
        except WalletError as exc:
            if exc.status != 400:
                raise
            field = {"bad_expiry": "expires_in_days", "bad_label": "label"}.get(exc.code, "records")
            errors[field] = exc.message[0].upper() + exc.message[1:]
    return await _render(ctx, status=400, errors=errors)


@page
async def revoke(ctx: PageContext) -> Response:
    wallet = await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    await sharing.revoke_link(
        session=ctx.session,
        principal=ctx.principal,
        wallet=wallet,
        link_id=int(ctx.request.path_params["link_id"]),
    )
    return ctx.redirect("/app/wallet/shares", notice="revoked")


async def shared_page(request: Request) -> Response:
    """The public page of a share link: its records and nothing else of the wallet."""
    settings: Settings = request.app.state.settings
    async with request.app.state.session_factory() as session:
        try:
            view = await sharing.open_link(
                session=session,
                token=request.path_params["token"],
                viewer_ip=client_address(request),
            )
            await session.commit()
        except LerError as exc:
            return error_page(settings, exc.status, exc.message)
        district = await session.get(District, view.link.district_id)
        badges = await slots.badges_for(session=session, records=view.records)
    # Outside the session: no connection is held while issuers are fetched.
    checks = await slots.reverify_badges(settings=settings, badges=list(badges.values()))
    response = plain_page(
        settings,
        "shared.html",
        status=200,
        view=view,
        district_name=district.name if district else "their district",
        badges=badges,
        checks=checks,
        **LABELS,
    )
    response.headers["x-robots-tag"] = "noindex, nofollow"
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/app/wallet/shares", shares_page, methods=["GET", "POST"]),
        Route("/app/wallet/shares/{link_id:int}/revoke", revoke, methods=["POST"]),
        Route("/share/{token}", system_rows(shared_page), methods=["GET"]),
    ]
