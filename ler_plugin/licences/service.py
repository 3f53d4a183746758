"""Teachers' licences: read from the district's CSV file (`ler-plugin licences import`), listed,
added, edited and ended by the district's admins (the licences page). Each licence names its
teacher (staff id or email), its class in the district's ruleset, number, state and dates.

A file import is idempotent like the roster: a licence is known by (teacher, state, number), or
(teacher, state, class) when it has no number; a second import of the same file changes nothing.
Every change bumps the teacher's compliance change counter in the same transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.districts.models import District
from ler_plugin.districts.service import US_STATES
from ler_plugin.licences import tracking
from ler_plugin.licences.errors import LicenceError
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import compliance, summary
from ler_plugin.roster.rows import Refusal, Where
from ler_plugin.wallet.models import License, Teacher, TeacherEmail

COLUMNS = ("staff_id", "email", "licence_type", "number", "state", "issued", "expires")
OPTIONAL = ("staff_id", "email", "number", "state", "expires", "national_board", "birth_month")
TRUE = frozenset({"true", "yes", "1", "y"})
FALSE = frozenset({"false", "no", "0", "n", ""})
CHUNK = 1000
WIDTH = "__width__"


@dataclass(frozen=True)
class LicenceInput:
    """One licence as a person or a file gives it, checked."""

    credential_class: str
    state: str
    issued_on: dt.date
    number: str | None = None
    expires_on: dt.date | None = None
    national_board: bool = False


@dataclass
class LicenceImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Teachers whose birth month the file gave or changed (cycles of some states end in it).
    birth_months: int = 0
    refused: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class LicenceRow:
    """A licence as the licences page lists it."""

    licence: License
    teacher_id: int
    teacher_name: str
    staff_id: str | None
    school: str | None
    active: bool


async def credential_classes(session: AsyncSession, district: District) -> list[str]:
    """The licence types the district's ruleset knows (every version's classes)."""
    ruleset = await compliance.ruleset_for(session=session, district=district, on=dt.date.today())
    return sorted({name for v in ruleset.versions for name in v.credential_classes})


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LicenceError(
            f"bad_{name}", f"{name} {value!r} is not a date like 2026-08-01"
        ) from None


def check(
    *,
    credential_class: str,
    state: str,
    issued: str,
    expires: str = "",
    number: str = "",
    national_board: bool = False,
    classes: Sequence[str],
    default_state: str,
) -> LicenceInput:
    """The fields of a licence, each checked; `LicenceError` naming the first that is wrong."""
    credential_class = credential_class.strip()
    if credential_class not in classes:
        raise LicenceError(
            "bad_licence_type",
            f"licence type {credential_class!r} is not one of the district's ruleset "
            f"({', '.join(classes)})",
        )
    state = (state.strip() or default_state).upper()
    if state not in US_STATES:
        raise LicenceError("bad_state", f"{state!r} is not a US state or territory code")
    if not issued.strip():
        raise LicenceError("bad_issued", "the licence needs its issue date")
    issued_on = _date(issued.strip(), "issued")
    expires_on = _date(expires.strip(), "expires") if expires.strip() else None
    if expires_on is not None and expires_on < issued_on:
        raise LicenceError("bad_expires", "the licence expires before it was issued")
    if issued_on > dt.date.today() + dt.timedelta(days=366):
        raise LicenceError("bad_issued", "the issue date is more than a year ahead")
    number = number.strip()
    if len(number) > 64:
        raise LicenceError("bad_number", "the licence number is longer than 64 characters")
    return LicenceInput(
        credential_class, state, issued_on, number or None, expires_on, national_board
    )


def _key(teacher_id: int, data: LicenceInput | License) -> tuple[int, str, str]:
    return (teacher_id, data.state, data.number or f"class:{data.credential_class}")


def _values(data: LicenceInput) -> dict[str, Any]:
    return {
        "credential_class": data.credential_class,
        "state": data.state,
        "number": data.number,
        "issued_on": data.issued_on,
        "expires_on": data.expires_on,
        "national_board": data.national_board,
    }


async def _district(session: AsyncSession, principal: Principal, district_id: int) -> District:
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)
    district = await session.get(District, district_id)
    if district is None:
        raise LicenceError("district_not_found", "no such district", status=404)
    return district


def read_csv(text: str) -> list[tuple[Where, dict[str, str]]]:
    """The rows of a licence file with their lines; `LicenceError` when the header is wrong."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise LicenceError("empty_file", "the licence file is empty") from None
    missing = [c for c in COLUMNS if c not in header and c not in OPTIONAL]
    if missing or ("staff_id" not in header and "email" not in header):
        raise LicenceError(
            "bad_header",
            f"the licence file needs the columns {', '.join(COLUMNS)} (staff_id or email may be "
            f"left out, not both); its header is {header}",
        )
    rows = []
    line = reader.line_num + 1
    try:
        for values in reader:
            where, line = Where("licences", line), reader.line_num + 1
            if len(values) != len(header) and any(v.strip() for v in values):
                rows.append(
                    (where, {WIDTH: f"{len(values)} fields where the header has {len(header)}"})
                )
            elif any(v.strip() for v in values):
                rows.append((where, dict(zip(header, values, strict=True))))
    except csv.Error as exc:
        raise LicenceError("bad_csv", f"line {line}: {exc}") from None
    return rows


async def import_file(
    *, session: AsyncSession, principal: Principal, district_id: int, name: str, text: str
) -> LicenceImport:
    """Create or update the file's licences in the caller's transaction."""
    district = await _district(session, principal, district_id)
    classes = await credential_classes(session, district)
    result = LicenceImport()
    by_staff_id: dict[str, int] = {}
    months: dict[int, int | None] = {}
    for known_id, known_staff_id, month in await session.execute(
        select(Teacher.id, Teacher.staff_id, Teacher.birth_month).where(
            Teacher.district_id == district_id
        )
    ):
        months[known_id] = month
        if known_staff_id:
            by_staff_id[known_staff_id] = known_id
    by_email = dict(
        (
            await session.execute(
                select(TeacherEmail.email, TeacherEmail.teacher_id).where(
                    TeacherEmail.district_id == district_id
                )
            )
        )
        .tuples()
        .all()
    )
    stored = {
        _key(lic.teacher_id, lic): lic
        for lic in await session.scalars(
            select(License)
            .join(Teacher, Teacher.id == License.teacher_id)
            .where(Teacher.district_id == district_id)
        )
    }
    has_primary = {lic.teacher_id for lic in stored.values() if lic.primary}
    seen: dict[tuple[int, str, str], Where] = {}
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changed: set[int] = set()
    birth_months: dict[int, int] = {}
    for where, row in read_csv(text):
        where = Where(name, where.line)
        if WIDTH in row:
            result.refused.append(Refusal(where, row[WIDTH]))
            continue
        staff_id, email = row.get("staff_id", "").strip(), row.get("email", "").strip().lower()
        teacher_id: int | None = by_staff_id.get(staff_id) if staff_id else None
        if teacher_id is None and email:
            teacher_id = by_email.get(email)
        if teacher_id is None:
            result.refused.append(
                Refusal(
                    where,
                    f"no teacher with staff id {staff_id!r} or email {email!r}: import the roster first",
                )
            )
            continue
        board = row.get("national_board", "").strip().lower()
        if board not in TRUE | FALSE:
            result.refused.append(Refusal(where, f"national_board {board!r} is not true or false"))
            continue
        month_text = row.get("birth_month", "").strip()
        if month_text and not (month_text.isdigit() and 1 <= int(month_text) <= 12):
            result.refused.append(Refusal(where, f"birth_month {month_text!r} is not 1 to 12"))
            continue
        try:
            data = check(
                credential_class=row.get("licence_type", ""),
                state=row.get("state", ""),
                issued=row.get("issued", ""),
                expires=row.get("expires", ""),
                number=row.get("number", ""),
                national_board=board in TRUE,
                classes=classes,
                default_state=district.state,
            )
        except LicenceError as exc:
            result.refused.append(Refusal(where, exc.message))
            continue
        key = _key(teacher_id, data)
        if key in seen:
            result.refused.append(Refusal(where, f"the same licence is already on {seen[key]}"))
            continue
        seen[key] = where
        if month_text and months[teacher_id] != int(month_text):
            months[teacher_id] = int(month_text)
            birth_months[teacher_id] = int(month_text)
            changed.add(teacher_id)
        found = stored.get(key)
        if found is None:
            creates.append(
                {
                    "teacher_id": teacher_id,
                    "primary": teacher_id not in has_primary,
                    **_values(data),
                }
            )
            has_primary.add(teacher_id)
            changed.add(teacher_id)
            result.created += 1
        elif {k: getattr(found, k) for k in _values(data)} == _values(data):
            result.unchanged += 1
        else:
            # An end the district recorded on the page stands: the file does not undo it.
            updates.append({"id": found.id, **_values(data)})
            changed.add(teacher_id)
            result.updated += 1
    for chunk in _chunks(creates):
        await session.execute(insert(License), chunk)
    for chunk in _chunks(updates):
        await session.execute(update(License), chunk)
    months_given = [{"id": t, "birth_month": m} for t, m in birth_months.items()]
    for chunk in _chunks(months_given):
        await session.execute(update(Teacher), chunk)
    result.birth_months = len(months_given)
    dialect = (await session.connection()).dialect.name
    for ids in _chunks(sorted(changed)):
        await session.execute(
            summary.changed(dialect, select(Teacher.id).where(Teacher.id.in_(ids)))
        )
    record_event(
        session,
        "licence:import:apply",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="district",
        subject_id=district_id,
        file=name,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        refused=len(result.refused),
    )
    await session.flush()
    return result


def _chunks(rows: Sequence[Any]) -> list[Sequence[Any]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


# --- the licences page ------------------------------------------------------------------------


async def list_licences(
    *, session: AsyncSession, principal: Principal, district_id: int, search: str = ""
) -> list[LicenceRow]:
    """The district's licences, by teacher name; `search` matches a name, staff id or number."""
    await _district(session, principal, district_id)
    school = tracking.school_name()
    query = (
        select(License, Teacher.id, Teacher.display_name, Teacher.staff_id, school, Teacher.active)
        .join(Teacher, Teacher.id == License.teacher_id)
        .where(Teacher.district_id == district_id)
        .order_by(Teacher.display_name, Teacher.id, License.issued_on.desc())
    )
    if search.strip():
        pattern = (
            "%" + search.strip().lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
        )
        query = query.where(
            func.lower(Teacher.display_name).like(pattern)
            | func.lower(func.coalesce(Teacher.staff_id, "")).like(pattern)
            | func.lower(func.coalesce(License.number, "")).like(pattern)
        )
    return [LicenceRow(*row) for row in await session.execute(query.limit(500))]


async def teachers(
    *, session: AsyncSession, principal: Principal, district_id: int
) -> list[tuple[int, str, str | None]]:
    """(id, name, staff id) of the district's active teachers, for the add form's choice."""
    await _district(session, principal, district_id)
    rows = await session.execute(
        select(Teacher.id, Teacher.display_name, Teacher.staff_id)
        .where(Teacher.district_id == district_id, Teacher.active.is_(True))
        .order_by(Teacher.display_name, Teacher.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def get(*, session: AsyncSession, principal: Principal, licence_id: int) -> License:
    licence = await session.get(License, licence_id)
    teacher = await session.get(Teacher, licence.teacher_id) if licence else None
    if licence is None or teacher is None:
        raise LicenceError("licence_not_found", "no such licence", status=404)
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(teacher.district_id)
    return licence


def _event(
    session: AsyncSession,
    principal: Principal,
    tag: str,
    licence: License,
    district_id: int,
    **data: Any,
) -> None:
    record_event(
        session,
        tag,
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="license",
        subject_id=licence.id,
        teacher_id=licence.teacher_id,
        **data,
    )


async def add(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    teacher_id: int,
    data: LicenceInput,
) -> License:
    await _district(session, principal, district_id)
    teacher = await session.get(Teacher, teacher_id)
    if teacher is None or teacher.district_id != district_id:
        raise LicenceError("teacher_not_found", "no such teacher in the district", status=404)
    held = list(await session.scalars(select(License).where(License.teacher_id == teacher_id)))
    if any(_key(teacher_id, lic) == _key(teacher_id, data) for lic in held):
        raise LicenceError(
            "licence_exists", "the teacher already holds that licence: edit it instead"
        )
    licence = License(
        teacher_id=teacher_id, primary=not any(lic.primary for lic in held), **_values(data)
    )
    session.add(licence)
    await session.flush()
    _event(session, principal, "licence:licence:create", licence, district_id)
    return licence


async def edit(
    *, session: AsyncSession, principal: Principal, licence_id: int, data: LicenceInput
) -> License:
    licence = await get(session=session, principal=principal, licence_id=licence_id)
    before = {k: str(getattr(licence, k)) for k in _values(data)}
    for name, value in _values(data).items():
        setattr(licence, name, value)
    await session.flush()
    teacher = await session.get(Teacher, licence.teacher_id)
    assert teacher is not None
    _event(
        session, principal, "licence:licence:update", licence, teacher.district_id, before=before
    )
    return licence


async def end(
    *, session: AsyncSession, principal: Principal, licence_id: int, on: dt.date | None = None
) -> License:
    """The licence is not held from `on` (today by default): surrendered, revoked, replaced."""
    licence = await get(session=session, principal=principal, licence_id=licence_id)
    on = on or dt.date.today()
    if on < licence.issued_on:
        raise LicenceError("bad_end", "a licence cannot end before it was issued")
    licence.ended_on = on
    await session.flush()
    teacher = await session.get(Teacher, licence.teacher_id)
    assert teacher is not None
    _event(
        session,
        principal,
        "licence:licence:end",
        licence,
        teacher.district_id,
        ended_on=on.isoformat(),
    )
    return licence
