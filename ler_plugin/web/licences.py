"""The licences page: a district admin lists, adds, edits and ends the district's teachers'
licences (the licences room does the work and writes the audit events)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ler_plugin.districts.models import District
from ler_plugin.licences import service, tracking
from ler_plugin.licences.errors import LicenceError
from ler_plugin.wallet.models import Teacher, TeacherEmail
from ler_plugin.web.dashboard import admin_district
from ler_plugin.web.render import PageContext, page

NOTICES = {
    "added": "Licence added.",
    "saved": "Licence saved.",
    "ended": "Licence ended: it no longer counts from that day.",
}
FIELDS = ("licence_type", "number", "state", "issued", "expires")


async def _district(ctx: PageContext) -> District:
    district = await ctx.session.get(District, admin_district(ctx.principal))
    assert district is not None
    return district


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


async def _read(
    ctx: PageContext, district: District, errors: dict[str, str]
) -> service.LicenceInput | None:
    """The form's licence, or None with one message per field that is wrong."""
    classes = await service.credential_classes(ctx.session, district)
    try:
        return service.check(
            credential_class=ctx.field("licence_type"),
            state=ctx.field("state"),
            issued=ctx.field("issued"),
            expires=ctx.field("expires"),
            number=ctx.field("number"),
            national_board=ctx.field("national_board") == "yes",
            classes=classes,
            default_state=district.state,
        )
    except LicenceError as exc:
        field = {
            "bad_licence_type": "licence_type",
            "bad_state": "state",
            "bad_issued": "issued",
            "bad_expires": "expires",
            "bad_number": "number",
        }.get(exc.code, "issued")
        errors[field] = _sentence(exc.message)
        return None


async def _teacher(ctx: PageContext, district_id: int, who: str) -> Teacher | None:
    """The teacher a staff id or email names in the district."""
    who = who.strip()
    if not who:
        return None
    found = await ctx.session.scalar(
        select(Teacher).where(Teacher.district_id == district_id, Teacher.staff_id == who)
    )
    if found is None:
        found = await ctx.session.scalar(
            select(Teacher)
            .join(TeacherEmail, TeacherEmail.teacher_id == Teacher.id)
            .where(TeacherEmail.district_id == district_id, TeacherEmail.email == who.lower())
        )
    return found


async def _list(
    ctx: PageContext, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    district = await _district(ctx)
    search = ctx.request.query_params.get("q", "").strip()[:100]
    return ctx.render(
        "licences.html",
        status=status,
        district=district,
        rows=await service.list_licences(
            session=ctx.session, principal=ctx.principal, district_id=district.id, search=search
        ),
        classes=await service.credential_classes(ctx.session, district),
        search=search,
        errors=errors or {},
        today=dt.date.today(),
        ends_on=tracking.ends_on,
        in_days=tracking.in_days,
        class_label=tracking.class_label,
        notice=NOTICES.get(ctx.request.query_params.get("notice", "")),
    )


@page
async def licences_page(ctx: PageContext) -> Response:
    if ctx.request.method == "GET":
        return await _list(ctx)
    district = await _district(ctx)
    errors: dict[str, str] = {}
    teacher = await _teacher(ctx, district.id, ctx.field("teacher"))
    if teacher is None:
        errors["teacher"] = "No teacher of the district has that staff id or email"
    data = await _read(ctx, district, errors)
    if errors or data is None or teacher is None:
        return await _list(ctx, status=400, errors=errors)
    try:
        await service.add(
            session=ctx.session,
            principal=ctx.principal,
            district_id=district.id,
            teacher_id=teacher.id,
            data=data,
        )
    except LicenceError as exc:
        if exc.status != 400:
            raise
        return await _list(ctx, status=400, errors={"number": _sentence(exc.message)})
    return ctx.redirect("/app/dashboard/licences", notice="added")


@page
async def edit_page(ctx: PageContext) -> Response:
    licence = await service.get(
        session=ctx.session,
        principal=ctx.principal,
        licence_id=int(ctx.request.path_params["licence_id"]),
    )
    district = await _district(ctx)
    teacher = await ctx.session.get(Teacher, licence.teacher_id)
    errors: dict[str, str] = {}
    if ctx.request.method == "POST":
        data = await _read(ctx, district, errors)
        if data is not None:
            await service.edit(
                session=ctx.session, principal=ctx.principal, licence_id=licence.id, data=data
            )
            return ctx.redirect("/app/dashboard/licences", notice="saved")
    return ctx.render(
        "licence_edit.html",
        status=400 if errors else 200,
        licence=licence,
        teacher=teacher,
        classes=await service.credential_classes(ctx.session, district),
        errors=errors,
        class_label=tracking.class_label,
    )


@page
async def end_licence(ctx: PageContext) -> Response:
    text = ctx.field("ended_on").strip()
    try:
        on = dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise LicenceError("bad_end", "the end date must be a date like 2026-08-01") from None
    await service.end(
        session=ctx.session,
        principal=ctx.principal,
        licence_id=int(ctx.request.path_params["licence_id"]),
        on=on,
    )
    return ctx.redirect("/app/dashboard/licences", notice="ended")


def routes() -> list[BaseRoute]:
    return [
        Route("/app/dashboard/licences", licences_page, methods=["GET", "POST"]),
        Route("/app/dashboard/licences/{licence_id:int}", edit_page, methods=["GET", "POST"]),
        Route("/app/dashboard/licences/{licence_id:int}/end", end_licence, methods=["POST"]),
    ]
