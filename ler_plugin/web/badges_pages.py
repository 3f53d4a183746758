"""The teacher's badge pages: import an Open Badge one holds, and accept or decline pending claims.

An import is three steps (see `badges.service`): the page commits after the first, which only
read (so no transaction waits on an issuer's server while `check` fetches); its session has
``expire_on_commit=False``, and the `page` wrapper commits the rest (the badge, the record, the
audit event) when the handler returns.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ler_plugin.badges import service as badges
from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.parse import DEFAULT_MAX_IMAGE_BYTES, PNG_SIGNATURE
from ler_plugin.badges.report import ReportMessage
from ler_plugin.fetch import FetchPolicy
from ler_plugin.web.render import PageContext, page

URL_MAX = 2048
JSON_MAX = 512 * 1024
IMAGE_TYPES = {".png": "PNG", ".svg": "SVG"}
NOTICES = {
    "accepted": "The badge was added to your wallet.",
    "declined": "The badge was declined: it will not be added to your wallet.",
}
# Refusals that are about who holds the badge, not about the form: shown as a refused result.
REFUSAL_CODES = {"recipient_mismatch", "forbidden"}


@dataclass
class ImportForm:
    submission: badges.Submission | None
    field: str
    errors: dict[str, str]


async def _read_import(ctx: PageContext) -> ImportForm:
    """Exactly one of a hosted assertion URL, pasted JSON (or a signed JWS), or a baked image."""
    errors: dict[str, str] = {}
    url = ctx.field("url").strip()
    pasted = ctx.field("json").strip()
    upload = ctx.form.get("image") if ctx.form is not None else None
    image = upload if isinstance(upload, UploadFile) and upload.filename else None
    given = [name for name, value in (("url", url), ("json", pasted), ("image", image)) if value]
    if not given:
        errors["url"] = "Give the badge's web address, paste its JSON, or choose its image"
        return ImportForm(None, "url", errors)
    if len(given) > 1:
        errors[given[0]] = "Use only one way to bring the badge: an address, JSON or an image"
        return ImportForm(None, given[0], errors)
    field = given[0]
    if field == "url":
        if not url.lower().startswith(("https://", "http://")) or len(url) > URL_MAX:
            errors["url"] = f"The address must start with https:// and be at most {URL_MAX} long"
            return ImportForm(None, field, errors)
        return ImportForm(badges.Submission(url=url), field, errors)
    if field == "json":
        if len(pasted) > JSON_MAX:
            errors["json"] = f"The pasted badge is longer than {JSON_MAX // 1024} KB"
            return ImportForm(None, field, errors)
        if pasted.startswith("{"):
            try:
                json.loads(pasted)
            except json.JSONDecodeError as exc:
                errors["json"] = f"That is not valid JSON ({exc.msg} at line {exc.lineno})"
                return ImportForm(None, field, errors)
            except RecursionError:
                errors["json"] = "That JSON is nested too deeply to be a badge"
                return ImportForm(None, field, errors)
        return ImportForm(badges.Submission(json=pasted), field, errors)
    assert image is not None
    data = await _image_bytes(image, errors)
    if data is None:
        return ImportForm(None, field, errors)
    encoded = base64.b64encode(data).decode("ascii")
    return ImportForm(badges.Submission(image_base64=encoded), field, errors)


async def _image_bytes(image: UploadFile, errors: dict[str, str]) -> bytes | None:
    name = (image.filename or "").lower()
    suffix = name[name.rfind(".") :] if "." in name else ""
    data = await image.read(DEFAULT_MAX_IMAGE_BYTES + 1)
    if suffix not in IMAGE_TYPES:
        errors["image"] = "Choose a badge image: a .png or .svg file"
    elif len(data) > DEFAULT_MAX_IMAGE_BYTES:
        errors["image"] = f"The image is larger than {DEFAULT_MAX_IMAGE_BYTES // 1024 // 1024} MB"
    elif suffix == ".png" and not data.startswith(PNG_SIGNATURE):
        errors["image"] = "That file is not a PNG image"
    elif suffix == ".svg" and b"<svg" not in data[:4096]:
        errors["image"] = "That file is not an SVG image"
    else:
        return data
    return None


async def _badges_page(
    ctx: PageContext, *, errors: dict[str, str], status: int = 200, notice: str | None = None
) -> Response:
    claims = await badges.list_pending_claims(session=ctx.session, principal=ctx.principal)
    return ctx.render(
        "badges.html",
        status=status,
        claims=claims,
        errors=errors,
        notice=notice,
        image_max_mb=DEFAULT_MAX_IMAGE_BYTES // 1024 // 1024,
    )


@page
async def badges_page(ctx: PageContext) -> Response:
    notice = NOTICES.get(ctx.request.query_params.get("notice", ""))
    return await _badges_page(ctx, errors={}, notice=notice)


@page
async def import_page(ctx: PageContext) -> Response:
    form = await _read_import(ctx)
    if form.submission is None:
        return await _badges_page(ctx, errors=form.errors, status=400)
    try:
        received = await badges.receive_import(
            session=ctx.session, principal=ctx.principal, submission=form.submission
        )
        await ctx.session.commit()  # reads only: nothing is held while issuers are fetched
        checked = await badges.check(received, policy=FetchPolicy.from_settings(ctx.settings))
        result = await badges.import_badge(session=ctx.session, checked=checked)
    except BadgeError as exc:
        if exc.code not in REFUSAL_CODES:
            # The badge could not be read at all (not a badge, no baked assertion, unsafe SVG).
            message = f"{exc.message[:1].upper()}{exc.message[1:]} ({exc.code})"
            return await _badges_page(ctx, errors={form.field: message}, status=400)
        problems = [ReportMessage(exc.code, exc.message)]
        return ctx.render("badge_result.html", status=422, outcome="refused", problems=problems)
    if result.outcome == "refused":
        return ctx.render(
            "badge_result.html", status=422, outcome="refused", problems=result.report.errors
        )
    return ctx.render(
        "badge_result.html",
        outcome=result.outcome,
        badge=result.badge,
        record=result.record,
        report=result.report,
    )


@page
async def accept_page(ctx: PageContext) -> Response:
    await badges.accept_claim(
        session=ctx.session,
        principal=ctx.principal,
        claim_id=int(ctx.request.path_params["claim_id"]),
    )
    return ctx.redirect("/app/wallet/badges", notice="accepted")


@page
async def decline_page(ctx: PageContext) -> Response:
    await badges.decline_claim(
        session=ctx.session,
        principal=ctx.principal,
        claim_id=int(ctx.request.path_params["claim_id"]),
    )
    return ctx.redirect("/app/wallet/badges", notice="declined")


def routes() -> list[BaseRoute]:
    return [
        Route("/app/wallet/badges", badges_page, methods=["GET"]),
        Route("/app/wallet/badges/import", import_page, methods=["POST"]),
        Route("/app/wallet/badges/claims/{claim_id:int}/accept", accept_page, methods=["POST"]),
        Route("/app/wallet/badges/claims/{claim_id:int}/decline", decline_page, methods=["POST"]),
    ]
