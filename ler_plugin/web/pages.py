"""The teacher's wallet pages: the wallet, adding one's own learning, visibility, exports.

Every page is plain server-rendered HTML; links and forms carry the session (see
`ler_plugin.web.session`) and every form a CSRF token (see `ler_plugin.web.security`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ler_plugin.credit.categories import CATEGORIES
from ler_plugin.districts.models import District
from ler_plugin.licences import reminders, tracking
from ler_plugin.wallet import evidence as evidence_files
from ler_plugin.wallet import export
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import (
    Evidence,
    License,
    Record,
    RecordKind,
    RecordSource,
    RecordStatus,
    Teacher,
    Visibility,
    Wallet,
)
from ler_plugin.web import slots
from ler_plugin.web.render import STATIC, PageContext, page

PAGE_SIZE = 20
KINDS = {
    RecordKind.PD_HOURS: "PD hours",
    RecordKind.CEU: "CEUs",
    RecordKind.BADGE: "Badges",
    RecordKind.MICRO_CREDENTIAL: "Micro-credentials",
}
STATUS_LABELS = {
    RecordStatus.SELF_REPORTED: "Self-reported",
    RecordStatus.SUBMITTED: "Waiting for approval",
    RecordStatus.APPROVED: "Approved",
    RecordStatus.REJECTED: "Rejected",
    RecordStatus.VERIFIED: "Verified",
    RecordStatus.REVOKED: "Revoked",
    RecordStatus.EXPIRED: "Expired",
}
VISIBILITY_LABELS = {
    Visibility.PRIVATE: "Only me",
    Visibility.DISTRICT: "My district",
    Visibility.PUBLIC: "Public (can be shared)",
}
NOTICES = {
    "reminders_on": "You will get an email before your licence expires or your cycle ends.",
    "reminders_off": "No more reminder emails: you can turn them back on here.",
    "added": "Your learning was added and sent to your district for approval.",
    "visibility": "Who can see that record was updated.",
}
SKILLS_MAX = 20
SKILL_LENGTH = 80
TEXT_MAX = 4000


# The names templates show for enum values.
LABELS: dict[str, Any] = {
    "kinds": KINDS,
    "status_labels": STATUS_LABELS,
    "visibility_labels": VISIBILITY_LABELS,
    "category_labels": CATEGORIES,
}


async def _owner(ctx: PageContext, wallet: Wallet) -> tuple[Teacher, District]:
    teacher = await wallets.get_teacher(session=ctx.session, teacher_id=wallet.teacher_id)
    district = await ctx.session.get(District, teacher.district_id)
    assert district is not None
    return teacher, district


async def evidence_for(ctx: PageContext, records: list[Record]) -> dict[int, list[Evidence]]:
    found: dict[int, list[Evidence]] = {}
    if records:
        rows = await ctx.session.scalars(
            select(Evidence)
            .where(Evidence.record_id.in_([r.id for r in records]))
            .order_by(Evidence.id)
        )
        for item in rows:
            found.setdefault(item.record_id, []).append(item)
    return found


@page
async def wallet_page(ctx: PageContext) -> Response:
    wallet = await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    teacher, district = await _owner(ctx, wallet)
    params = ctx.request.query_params
    kind_param = params.get("kind", "")
    kind = RecordKind(kind_param) if kind_param in RecordKind._value2member_map_ else None
    search = params.get("q", "").strip()[:200] or None
    records = await wallets.list_records(
        session=ctx.session,
        wallet=wallet,
        first=PAGE_SIZE,
        after=params.get("after") or None,
        kinds=[kind] if kind else None,
        search=search,
    )
    compliance = await slots.compliance_for(
        session=ctx.session, principal=ctx.principal, teacher=teacher
    )
    today = dt.date.today()
    licences = await tracking.teacher_licences(
        session=ctx.session, principal=ctx.principal, teacher_id=teacher.id
    )
    return ctx.render(
        "wallet.html",
        deadlines=tracking.licence_deadlines(licences, today),
        reminders_on=not await reminders.opted_out(session=ctx.session, teacher_id=teacher.id),
        **LABELS,
        teacher=teacher,
        district=district,
        totals=await wallets.totals(session=ctx.session, wallet=wallet),
        skills=await wallets.skills_summary(session=ctx.session, wallet=wallet),
        progress=slots.renewal_progress(compliance),
        records=records,
        explanations=slots.explain_records(records.items, compliance),
        badges=await slots.badges_for(session=ctx.session, records=records.items),
        evidence=await evidence_for(ctx, records.items),
        kind=kind.value if kind else "",
        search=search or "",
        next_after=records.cursors[-1] if records.has_next else None,
        notice=NOTICES.get(params.get("notice", "")),
    )


@dataclass
class SelfReport:
    data: wallets.RecordInput | None
    file: evidence_files.EvidenceFile | None
    url: str | None
    errors: dict[str, str]


def _date(ctx: PageContext, name: str, label: str, errors: dict[str, str]) -> dt.date | None:
    text = ctx.field(name).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{label} must be a date like 2026-03-01"
        return None


async def read_self_report(ctx: PageContext) -> SelfReport:
    """Check every field of the form, collecting one message per field that is wrong."""
    errors: dict[str, str] = {}
    title = ctx.field("title").strip()
    if not title:
        errors["title"] = "Give the activity a title"
    elif len(title) > wallets.TITLE_MAX:
        errors["title"] = f"The title is longer than {wallets.TITLE_MAX} characters"
    provider = ctx.field("provider").strip()[:255] or None
    started_on = _date(ctx, "started_on", "The start date", errors)
    completed_on = _date(ctx, "completed_on", "The completion date", errors)
    if completed_on is None and "completed_on" not in errors:
        errors["completed_on"] = "Say when you completed it"
    quantities = {}
    for name in ("clock_hours", "ceus"):
        try:
            quantities[name] = wallets.quantity(ctx.field(name).strip(), name)
        except WalletError as exc:
            errors[name] = _sentence(exc.message)
    hours, ceus = quantities.get("clock_hours"), quantities.get("ceus")
    if not errors.keys() & {"clock_hours", "ceus"} and not hours and not ceus:
        errors["clock_hours"] = "Give the clock hours or the CEUs it earned"
    category = ctx.field("category")
    if category and category not in CATEGORIES:
        errors["category"] = "Choose one of the listed topics"
    skills = [s.strip() for s in ctx.field("skills").split(",") if s.strip()]
    if len(skills) > SKILLS_MAX or any(len(s) > SKILL_LENGTH for s in skills):
        errors["skills"] = f"At most {SKILLS_MAX} skills of up to {SKILL_LENGTH} characters each"
    reflection = ctx.field("reflection").strip() or None
    if reflection and len(reflection) > TEXT_MAX:
        errors["reflection"] = f"The reflection is longer than {TEXT_MAX} characters"
    visibility_value = ctx.field("visibility") or Visibility.DISTRICT.value
    if visibility_value not in Visibility._value2member_map_:
        errors["visibility"] = "Choose who can see it"
    file = await _evidence_file(ctx, errors)
    url = None
    if ctx.field("evidence_url").strip():
        try:
            url = evidence_files.check_url(ctx.field("evidence_url"))
        except WalletError as exc:
            errors["evidence_url"] = _sentence(exc.message)
    if completed_on is None:
        return SelfReport(data=None, file=file, url=url, errors=errors)
    data = wallets.RecordInput(
        kind=RecordKind.CEU if ceus and not hours else RecordKind.PD_HOURS,
        title=title,
        completed_on=completed_on,
        started_on=started_on,
        source=RecordSource.SELF_REPORT,
        status=RecordStatus.SUBMITTED,
        clock_hours=hours,
        ceus=ceus,
        provider_name=provider,
        category=category or None,
        skills=skills,
        reflection=reflection,
        visibility=Visibility(visibility_value)
        if "visibility" not in errors
        else Visibility.DISTRICT,
    )
    try:
        # The wallet's own rules, dates included, even when the title is already reported missing.
        wallets.validate(replace(data, title=title or "untitled"))
    except WalletError as exc:
        late_start = started_on is not None and started_on > completed_on
        field = "started_on" if exc.code == "bad_dates" and late_start else "completed_on"
        errors.setdefault({"bad_title": "title"}.get(exc.code, field), _sentence(exc.message))
    return SelfReport(data=None if errors else data, file=file, url=url, errors=errors)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


async def _evidence_file(
    ctx: PageContext, errors: dict[str, str]
) -> evidence_files.EvidenceFile | None:
    upload = ctx.form.get("evidence_file") if ctx.form is not None else None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(evidence_files.MAX_BYTES + 1)
    try:
        return evidence_files.check_file(upload.filename, data)
    except WalletError as exc:
        errors["evidence_file"] = _sentence(exc.message)
        return None


@page
async def add_learning(ctx: PageContext) -> Response:
    await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    if ctx.request.method == "GET":
        return ctx.render("add.html", errors={}, **LABELS)
    report = await read_self_report(ctx)
    if report.data is None:
        return ctx.render("add.html", status=400, errors=report.errors, **LABELS)
    wallet = await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    landed = await wallets.land_record(
        session=ctx.session,
        principal=ctx.principal,
        teacher_id=wallet.teacher_id,
        data=report.data,
    )
    await evidence_files.attach(
        session=ctx.session,
        principal=ctx.principal,
        data_dir=ctx.settings.data_dir,
        record=landed.record,
        file=report.file,
        url=report.url,
    )
    return ctx.redirect("/app/wallet", notice="added")


@page
async def update_visibility(ctx: PageContext) -> Response:
    value = ctx.field("visibility")
    if value not in Visibility._value2member_map_:
        raise WalletError("bad_visibility", "choose private, district or public")
    await wallets.set_visibility(
        session=ctx.session,
        principal=ctx.principal,
        record_id=int(ctx.request.path_params["record_id"]),
        visibility=Visibility(value),
    )
    back = ctx.field("back")
    return ctx.redirect(
        "/app/wallet" if back != "shares" else "/app/wallet/shares", notice="visibility"
    )


@page
async def set_reminders(ctx: PageContext) -> Response:
    wanted = ctx.field("reminders") == "on"
    await reminders.set_reminders(session=ctx.session, principal=ctx.principal, wanted=wanted)
    return ctx.redirect("/app/wallet", notice="reminders_on" if wanted else "reminders_off")


@page
async def evidence_download(ctx: PageContext) -> Response:
    """An uploaded evidence file, to its teacher or to an admin of the record's district."""
    item = await ctx.session.get(Evidence, int(ctx.request.path_params["evidence_id"]))
    record = await ctx.session.get(Record, item.record_id) if item else None
    missing = WalletError("evidence_not_found", "no such evidence file", status=404)
    if item is None or record is None:
        raise missing
    if not (ctx.is_admin and ctx.principal.district_id == record.district_id):
        await wallets.own_record(session=ctx.session, principal=ctx.principal, record_id=record.id)
    path = evidence_files.stored_path(ctx.settings.data_dir, item)
    if path is None:
        raise missing
    ctx.extra_headers["content-security-policy"] = "sandbox; default-src 'none'"
    return FileResponse(
        path,
        media_type=item.content_type or "application/octet-stream",
        filename=item.filename or "evidence",
    )


@page
async def export_csv(ctx: PageContext) -> Response:
    wallet = await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    records = await wallets.all_records(session=ctx.session, wallet=wallet)
    return Response(
        export.wallet_csv(records),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="my-learning-wallet.csv"'},
    )


@page
async def transcript_page(ctx: PageContext) -> Response:
    wallet = await wallets.wallet_of(session=ctx.session, principal=ctx.principal)
    teacher, district = await _owner(ctx, wallet)
    license = await ctx.session.scalar(
        select(License)
        .where(License.teacher_id == teacher.id)
        .order_by(License.primary.desc(), License.id.desc())
        .limit(1)
    )
    records = await wallets.all_records(session=ctx.session, wallet=wallet)
    return ctx.render(
        "transcript.html",
        **LABELS,
        transcript=export.transcript(
            teacher_name=teacher.display_name,
            district_name=district.name,
            license=license,
            records=records,
        ),
    )


def routes() -> list[BaseRoute]:
    from ler_plugin.web import dashboard, licences, share

    return [
        Route("/app/wallet", wallet_page, methods=["GET"]),
        Route("/app/wallet/add", add_learning, methods=["GET", "POST"]),
        Route(
            "/app/wallet/records/{record_id:int}/visibility", update_visibility, methods=["POST"]
        ),
        Route("/app/wallet/evidence/{evidence_id:int}", evidence_download, methods=["GET"]),
        Route("/app/wallet/reminders", set_reminders, methods=["POST"]),
        Route("/app/wallet/export.csv", export_csv, methods=["GET"]),
        Route("/app/wallet/transcript", transcript_page, methods=["GET"]),
        *share.routes(),
        *dashboard.routes(),
        *licences.routes(),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
