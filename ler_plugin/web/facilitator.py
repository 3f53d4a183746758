"""The facilitator's pages: award PD credit to a course's attendees, and add a PD credit activity
to a course through the LMS's content picker (deep linking)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from decimal import Decimal

import httpx
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from ler_plugin.courses import awards
from ler_plugin.courses.errors import CourseError
from ler_plugin.credit.categories import CATEGORIES
from ler_plugin.lti import deep_linking
from ler_plugin.lti.keys import SigningKey, current_signing_key
from ler_plugin.lti.models import Platform
from ler_plugin.lti.services import LtiServiceError
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.errors import WalletError
from ler_plugin.web.render import PageContext, page
from ler_plugin.web.security import frame_ancestors, origin_of

# Roster pages (NRPS caps them at 1000), a token or two, the line item, a score per attendee.
FIELDS = {
    "bad_title": "title",
    "bad_clock_hours": "clock_hours",
    "bad_ceus": "ceus",
    "bad_category": "category",
    "bad_badge_name": "badge_name",
    "bad_dates": "completed_on",
    "nobody_selected": "members",
}


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


async def signing_key(ctx: PageContext) -> SigningKey:
    """Our signing key, committed on its own first: the platform checks our signature against
    the JWKS we publish, which must already show a key made just now."""
    async with ctx.request.app.state.session_factory() as session:
        key = await current_signing_key(session=session, settings=ctx.settings)
        await session.commit()
    return key


def _read_award(ctx: PageContext, errors: dict[str, str]) -> awards.AwardInput | None:
    """The award form's fields; each problem is noted against its field."""
    values: dict[str, Decimal | None] = {}
    for name in ("clock_hours", "ceus"):
        try:
            values[name] = wallets.quantity(ctx.field(name).strip(), name)
        except WalletError as exc:
            errors[name] = _sentence(exc.message)
    try:
        completed_on = dt.date.fromisoformat(ctx.field("completed_on").strip())
    except ValueError:
        errors["completed_on"] = "The session date must be a date like 2026-03-01"
        completed_on = dt.date.today()
    data = awards.AwardInput(
        title=ctx.field("title"),
        clock_hours=values.get("clock_hours") or Decimal(0),
        ceus=values.get("ceus"),
        completed_on=completed_on,
        category=ctx.field("category") or None,
        badge_name=ctx.field("badge_name") or None,
    )
    try:
        data = awards.check_input(data)
    except CourseError as exc:
        errors.setdefault(FIELDS.get(exc.code, "title"), _sentence(exc.message))
    return None if errors else data


@page
async def facilitator_page(ctx: PageContext) -> Response:
    course = await awards.course_of(session=ctx.session, principal=ctx.principal)
    # The app's one guarded client: every call to the LMS goes through the fetch rules.
    return await _facilitator(ctx, course, ctx.request.app.state.http_client)


async def _facilitator(
    ctx: PageContext, course: awards.Course, client: httpx.AsyncClient
) -> Response:
    access = awards.service_access(
        platform=course.platform,
        key=await signing_key(ctx),
        client=client,
        tokens=ctx.request.app.state.lti_tokens,
    )
    roster_error = None
    try:
        members = await awards.roster(access, course)
    except (LtiServiceError, CourseError) as exc:
        members, roster_error = [], exc.message
    errors: dict[str, str] = {}
    result = None
    chosen = {m.user_id for m in members if awards.is_learner(m)}
    if ctx.request.method == "POST" and ctx.form is not None:
        chosen = {v for v in ctx.form.getlist("member") if isinstance(v, str)}
        data = _read_award(ctx, errors)
        selected = [m for m in members if m.user_id in chosen]
        if data is not None and not selected and roster_error is None:
            errors["members"] = "Tick at least one attendee to award"
        if data is not None and selected:
            result = await awards.award(
                session=ctx.session,
                principal=ctx.principal,
                course=course,
                members=selected,
                data=data,
            )
            # The records stand before the gradebook hears of them.
            await ctx.session.commit()
            await awards.send_scores(access, course, data, result)
    return ctx.render(
        "facilitator.html",
        status=400 if errors else 200,
        course=course,
        members=members,
        chosen=chosen,
        roster_error=roster_error,
        errors=errors,
        result=result,
        categories=CATEGORIES,
        today=dt.date.today().isoformat(),
        preset=_preset(ctx),
        is_learner=awards.is_learner,
        display_name=awards.display_name,
    )


def _preset(ctx: PageContext) -> dict[str, str]:
    """The activity a deep-linked link names in its custom parameters (pd_title, pd_hours,
    pd_category), when the launch kept them in the session as ``custom_<name>``."""
    context = ctx.principal.context
    return {
        name: context.get(f"custom_pd_{key}", "")
        for name, key in (("title", "title"), ("clock_hours", "hours"), ("category", "category"))
    }


_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


@page
async def deep_link_page(ctx: PageContext) -> Response:
    awards.require_facilitator(ctx.principal)
    context = ctx.principal.context
    return_url = context.get("deep_link_return_url")
    platform_id = context.get("platform_id", "")
    if not return_url or not platform_id.isdigit():
        raise WalletError(
            "not_deep_linking",
            "this page answers the LMS's content picker: choose the Teacher Wallet activity "
            "when adding content to the course",
        )
    platform = await ctx.session.get(Platform, int(platform_id))
    if platform is None:
        raise WalletError("no_course", "the LMS this launch came from is no longer registered")
    ctx.principal.require_district(platform.district_id)
    errors: dict[str, str] = {}
    if ctx.request.method == "POST":
        hours = None
        try:
            hours = wallets.quantity(ctx.field("clock_hours").strip(), "clock_hours")
        except WalletError as exc:
            errors["clock_hours"] = _sentence(exc.message)
        if hours is None and "clock_hours" not in errors:
            errors["clock_hours"] = "Give the clock hours the activity earns (above 0)"
        title = ctx.field("title").strip()
        if not title:
            errors["title"] = "Name the activity"
        elif len(title) > 255:
            errors["title"] = "The name is longer than 255 characters"
        category = ctx.field("category")
        if category and category not in CATEGORIES:
            errors["category"] = "Choose one of the listed categories"
        if not errors and hours:
            return await _answer_platform(ctx, platform, title, hours, category, return_url)
    return ctx.render(
        "deep_link.html",
        status=400 if errors else 200,
        errors=errors,
        categories=CATEGORIES,
        course_title=context.get("context_title"),
    )


async def _answer_platform(
    ctx: PageContext,
    platform: Platform,
    title: str,
    hours: Decimal,
    category: str,
    return_url: str,
) -> Response:
    """The signed deep linking response, posted to the LMS by the browser."""
    context = ctx.principal.context
    item = deep_linking.pd_credit_link(
        title=title,
        url=f"{ctx.settings.base_url}/lti/launch",
        text=f"{hours} PD clock hours recorded in the Teacher Wallet",
        custom={"pd_title": title, "pd_hours": str(hours), "pd_category": category},
        score_maximum=hours,
        resource_id=f"ler-pd:{awards.activity_key(title)}",
        line_item_label=f"PD credit: {title}"[:255],
    )
    token = deep_linking.response_jwt(
        deep_linking.DeepLinkReturn(
            client_id=platform.client_id,
            platform_issuer=platform.issuer,
            deployment_id=context.get("deployment_id", ""),
            return_url=return_url,
            data=context.get("deep_link_data"),
        ),
        [item],
        await signing_key(ctx),
        message=f"Added “{title}” ({hours} PD clock hours)",
    )
    body = deep_linking.auto_submit_form(return_url, token)
    # This one page posts to the LMS, with one known script: allow exactly that.
    scripts = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _SCRIPT.findall(body)
    )
    ancestors = await frame_ancestors(ctx.session, ctx.principal)
    ctx.extra_headers["content-security-policy"] = "; ".join(
        (
            "default-src 'none'",
            f"script-src {scripts}",
            f"form-action {origin_of(return_url) or 'none'}",
            "base-uri 'none'",
            "frame-ancestors " + " ".join(ancestors),
        )
    )
    return HTMLResponse(body)


def routes() -> list[BaseRoute]:
    return [
        Route("/app/facilitator", facilitator_page, methods=["GET", "POST"]),
        Route("/app/deep-link", deep_link_page, methods=["GET", "POST"]),
    ]
