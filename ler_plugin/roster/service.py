"""One apply step for every source: a `Roster` into schools, teachers and school memberships.

Idempotent: a roster applied twice changes nothing the second time; a changed one changes only
the rows that changed. People are matched on the source's sourcedId, then on a verified email
(a teacher who arrived from the LMS first is the same person), and are never deleted: a full
roster marks the roster people it no longer lists inactive, wallet and all kept. Rows go in with
bulk statements (20,000 staff in seconds); the caller owns the transaction, so a dry run is the
same work rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.districts.models import District, School
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import summary
from ler_plugin.roster.errors import RosterError
from ler_plugin.roster.rows import Progress, Refusal, Roster, SchoolRow, StaffRow, Where
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.models import Record, SchoolMembership, Teacher, TeacherEmail, Wallet

# More teachers than this with a changed school: rebuild the district's summaries at once.
REBUILD_ONE_BY_ONE = 200
CHUNK = 1000


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0


@dataclass
class ImportSummary:
    source: str
    full: bool
    schools: Counts = field(default_factory=Counts)
    staff: Counts = field(default_factory=Counts)
    memberships_added: int = 0
    memberships_removed: int = 0
    not_staff: int = 0
    refused: list[Refusal] = field(default_factory=list)


@dataclass
class _Known:
    """A teacher of the district as stored, with what the roster may change."""

    id: int
    sourced_id: str | None
    staff_id: str | None
    given_name: str | None
    family_name: str | None
    display_name: str
    active: bool
    emails: set[str] = field(default_factory=set)
    schools: list[tuple[int, int, bool]] = field(default_factory=list)  # (row id, school, primary)


async def apply(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    roster: Roster,
    progress: Progress | None = None,
) -> ImportSummary:
    """Apply a roster to a district in the caller's transaction; what changed, and what not."""
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)
    if await session.get(District, district_id) is None:
        raise RosterError("district_not_found", "no such district", status=404)
    result = ImportSummary(
        source=roster.source,
        full=roster.full,
        not_staff=roster.not_staff,
        refused=list(roster.refused),
    )
    school_ids = await _schools(session, district_id, roster.schools, result)
    await _staff(session, principal, district_id, roster, school_ids, result, progress)
    record_event(
        session,
        "roster:import:apply",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="district",
        subject_id=district_id,
        source=roster.source,
        full=roster.full,
        schools=vars(result.schools),
        staff=vars(result.staff),
        memberships_added=result.memberships_added,
        memberships_removed=result.memberships_removed,
        refused=len(result.refused),
    )
    await session.flush()
    return result


async def import_sample(
    *, session: AsyncSession, principal: Principal, district_id: int
) -> ImportSummary:
    """The shipped OneRoster 1.2 sample into a district: the demo district's roster (its schools
    and teachers are matched by name and email, three more staff join)."""
    from ler_plugin.roster.sources import sample

    return await apply(
        session=session,
        principal=principal,
        district_id=district_id,
        roster=await sample().read(),
    )


# --- schools ----------------------------------------------------------------------------------


async def _schools(
    session: AsyncSession, district_id: int, rows: Sequence[SchoolRow], result: ImportSummary
) -> dict[str, int]:
    """Create or update the roster's schools; every school id by sourcedId."""
    stored = list(await session.scalars(select(School).where(School.district_id == district_id)))
    by_source = {s.sourced_id: s for s in stored if s.sourced_id}
    by_name = {s.name: s for s in stored}
    for row in rows:
        school = by_source.get(row.sourced_id)
        if school is None:
            named = by_name.get(row.name)
            if named is not None and named.sourced_id is None:
                school = named  # a school made by hand or by the LMS: the roster now keeps it
            elif named is not None:
                result.refused.append(
                    Refusal(
                        row.where,
                        f"a school named {row.name!r} is already the district's, with sourcedId "
                        f"{named.sourced_id!r}",
                    )
                )
                continue
        if school is None:
            school = School(
                district_id=district_id, name=row.name, code=row.code, sourced_id=row.sourced_id
            )
            session.add(school)
            result.schools.created += 1
        else:
            clash = by_name.get(row.name)
            if clash is not None and clash is not school:
                result.refused.append(
                    Refusal(row.where, f"another school of the district is named {row.name!r}")
                )
                continue
            if (school.name, school.code, school.sourced_id) == (
                row.name,
                row.code,
                row.sourced_id,
            ):
                result.schools.unchanged += 1
            else:
                by_name.pop(school.name, None)
                school.name, school.code, school.sourced_id = row.name, row.code, row.sourced_id
                result.schools.updated += 1
        by_source[row.sourced_id] = by_name[row.name] = school
    await session.flush()
    return {sourced: school.id for sourced, school in by_source.items()}


# --- staff ------------------------------------------------------------------------------------


async def _known(session: AsyncSession, district_id: int) -> list[_Known]:
    teachers = {
        row.id: _Known(
            row.id,
            row.sourced_id,
            row.staff_id,
            row.given_name,
            row.family_name,
            row.display_name,
            row.active,
        )
        for row in await session.execute(
            select(
                Teacher.id,
                Teacher.sourced_id,
                Teacher.staff_id,
                Teacher.given_name,
                Teacher.family_name,
                Teacher.display_name,
                Teacher.active,
            ).where(Teacher.district_id == district_id)
        )
    }
    for teacher_id, email in await session.execute(
        select(TeacherEmail.teacher_id, TeacherEmail.email).where(
            TeacherEmail.district_id == district_id, TeacherEmail.verified.is_(True)
        )
    ):
        teachers[teacher_id].emails.add(email)
    for row_id, teacher_id, school_id, primary in await session.execute(
        select(
            SchoolMembership.id,
            SchoolMembership.teacher_id,
            SchoolMembership.school_id,
            SchoolMembership.primary,
        )
        .join(Teacher, Teacher.id == SchoolMembership.teacher_id)
        .where(Teacher.district_id == district_id)
        .order_by(SchoolMembership.id)
    ):
        teachers[teacher_id].schools.append((row_id, school_id, primary))
    return list(teachers.values())


async def _all_emails(session: AsyncSession, district_id: int) -> dict[str, tuple[int, bool]]:
    """Every email held in the district: who holds it, and whether it is verified."""
    rows = await session.execute(
        select(TeacherEmail.email, TeacherEmail.teacher_id, TeacherEmail.verified).where(
            TeacherEmail.district_id == district_id
        )
    )
    return {email: (teacher_id, verified) for email, teacher_id, verified in rows}


def _refuse(result: ImportSummary, where: Where, reason: str) -> None:
    result.refused.append(Refusal(where, reason))


async def _staff(
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    roster: Roster,
    school_ids: dict[str, int],
    result: ImportSummary,
    progress: Progress | None,
) -> None:
    known = await _known(session, district_id)
    by_id = {k.id: k for k in known}
    by_staff_id = {k.staff_id: k for k in known if k.staff_id}
    emails = await _all_emails(session, district_id)
    creates: list[tuple[StaffRow, list[int] | None]] = []
    updates: list[dict[str, Any]] = []
    new_emails: list[dict[str, Any]] = []
    school_changes: dict[int, list[int]] = {}
    changed_facts: set[int] = set()
    total = len(roster.staff)
    # Who each person is: the wallet's rules (roster id, then a verified email), in bulk.
    matches = await wallets.match_people(
        session=session, district_id=district_id, people=[_person(row) for row in roster.staff]
    )
    for done, (row, match) in enumerate(zip(roster.staff, matches, strict=True), 1):
        if progress and done % CHUNK == 0:
            progress(done, total, "matching staff")
        teacher = by_id[match.teacher_id] if match is not None else None
        if teacher is not None and teacher.sourced_id not in (None, row.sourced_id):
            _refuse(
                result,
                row.where,
                f"email {row.email} belongs to another teacher of the district "
                f"({teacher.display_name}, sourcedId {teacher.sourced_id})",
            )
            continue
        held = emails.get(row.email) if row.email else None
        if held is not None and (teacher is None or held[0] != teacher.id):
            other = by_id.get(held[0])
            _refuse(
                result,
                row.where,
                f"email {row.email} belongs to another teacher of the district"
                + (
                    f" ({other.display_name}, sourcedId {other.sourced_id or 'none'})"
                    if other
                    else ""
                ),
            )
            continue
        staff_holder = by_staff_id.get(row.staff_id) if row.staff_id else None
        if staff_holder is not None and staff_holder is not teacher:
            _refuse(
                result,
                row.where,
                f"staff id {row.staff_id} belongs to another teacher of the district "
                f"({staff_holder.display_name}, sourcedId {staff_holder.sourced_id or 'none'})",
            )
            continue
        schools = _resolve_schools(row, school_ids, result)
        if teacher is None:
            creates.append((row, schools))
            if row.email:
                emails[row.email] = (-1, True)
            continue
        if row.staff_id:
            by_staff_id[row.staff_id] = teacher
        values = {
            "sourced_id": row.sourced_id,
            "staff_id": row.staff_id or teacher.staff_id,
            "given_name": row.given_name,
            "family_name": row.family_name,
            "display_name": row.display_name,
            "active": row.active,
        }
        current = {name: getattr(teacher, name) for name in values}
        changed = values != current
        if changed:
            updates.append({"id": teacher.id, **values})
            if row.active != teacher.active:
                changed_facts.add(teacher.id)
                if not row.active:
                    _deactivated(session, principal, district_id, teacher.id, roster.source)
        if row.email and row.email not in teacher.emails:
            new_emails.append(_email(district_id, teacher.id, row.email))
            changed = True
        if schools is not None and _membership_differs(teacher.schools, schools):
            school_changes[teacher.id] = schools
            changed = True
        if not changed:
            result.staff.unchanged += 1
        elif not row.active and teacher.active:
            result.staff.deactivated += 1
        else:
            result.staff.updated += 1
    if roster.full:
        for teacher in known:
            if teacher.sourced_id and teacher.active and teacher.sourced_id not in roster.listed:
                updates.append({"id": teacher.id, "active": False})
                changed_facts.add(teacher.id)
                result.staff.deactivated += 1
                _deactivated(session, principal, district_id, teacher.id, roster.source)
    for chunk in _chunks(updates):
        await session.execute(update(Teacher), chunk)
    await _create(session, district_id, creates, result, progress)
    for chunk in _chunks(new_emails):
        await session.execute(insert(TeacherEmail), chunk)
    await _move(session, district_id, by_id, school_changes, result)
    changed_facts |= set(school_changes)
    dialect = (await session.connection()).dialect.name
    for ids in _chunks(sorted(changed_facts)):
        await session.execute(
            summary.changed(dialect, select(Teacher.id).where(Teacher.id.in_(ids)))
        )


def _resolve_schools(
    row: StaffRow, school_ids: dict[str, int], result: ImportSummary
) -> list[int] | None:
    """The row's school ids, primary first; None (memberships left alone) when it names schools
    and none of them is known."""
    found = []
    for sourced in row.schools:
        school_id = school_ids.get(sourced)
        if school_id is None:
            _refuse(
                result,
                row.where,
                f"{row.display_name}: no school with sourcedId {sourced!r} (not in this roster nor "
                "loaded before); imported without it",
            )
        elif school_id not in found:
            found.append(school_id)
    if row.schools and not found:
        return None
    return found


def _membership_differs(current: list[tuple[int, int, bool]], wanted: list[int]) -> bool:
    have = {school for _, school, _ in current}
    primary = next((school for _, school, is_primary in current if is_primary), None)
    return have != set(wanted) or (bool(wanted) and primary != wanted[0])


def _email(district_id: int, teacher_id: int, email: str) -> dict[str, Any]:
    # The district's own system vouches for the address, as the LMS does: badges match on it.
    return {
        "district_id": district_id,
        "teacher_id": teacher_id,
        "email": email,
        "verified": True,
        "source": "roster",
    }


def _deactivated(
    session: AsyncSession, principal: Principal, district_id: int, teacher_id: int, source: str
) -> None:
    record_event(
        session,
        "roster:teacher:deactivate",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="teacher",
        subject_id=teacher_id,
        source=source,
    )


def _table(model: Any) -> Table:
    # Core statements on the tables: the ORM's bulk path costs several times more per row.
    table: Table = model.__table__
    return table


def _chunks(rows: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _person(row: StaffRow) -> wallets.Person:
    return wallets.Person(
        display_name=row.display_name,
        given_name=row.given_name,
        family_name=row.family_name,
        email=row.email,
        sourced_id=row.sourced_id,
        staff_id=row.staff_id,
    )


async def _create(
    session: AsyncSession,
    district_id: int,
    creates: list[tuple[StaffRow, list[int] | None]],
    result: ImportSummary,
    progress: Progress | None,
) -> None:
    """New teachers (the wallet makes them, wallet and email, in bulk), with their schools."""
    for done, chunk in enumerate(_chunks(creates), 1):
        ids = await wallets.create_teachers(
            session=session, district_id=district_id, people=[_person(row) for row, _ in chunk]
        )
        gone = [
            {"id": i, "active": False}
            for i, (row, _) in zip(ids, chunk, strict=True)
            if not row.active
        ]
        if gone:
            await session.execute(update(Teacher), gone)
        memberships = [
            {"teacher_id": i, "school_id": school, "primary": n == 0}
            for i, (_, schools) in zip(ids, chunk, strict=True)
            for n, school in enumerate(schools or ())
        ]
        if memberships:
            await session.execute(insert(_table(SchoolMembership)), memberships)
        result.memberships_added += len(memberships)
        result.staff.created += len(ids)
        if progress:
            progress(min(done * CHUNK, len(creates)), len(creates), "creating teachers")


async def _move(
    session: AsyncSession,
    district_id: int,
    by_id: dict[int, _Known],
    changes: dict[int, list[int]],
    result: ImportSummary,
) -> None:
    """Set each teacher's schools to the roster's; their records' rollups follow them."""
    if not changes:
        return
    removed: list[int] = []
    added: list[dict[str, Any]] = []
    primaries: list[dict[str, Any]] = []
    for teacher_id, wanted in changes.items():
        current = by_id[teacher_id].schools
        for row_id, school, primary in current:
            if school not in wanted:
                removed.append(row_id)
            elif primary != (school == wanted[0]):
                primaries.append({"id": row_id, "primary": school == wanted[0]})
        have = {school for _, school, _ in current}
        added += [
            {"teacher_id": teacher_id, "school_id": s, "primary": s == wanted[0]}
            for s in wanted
            if s not in have
        ]
    for chunk in _chunks(removed):
        await session.execute(delete(SchoolMembership).where(SchoolMembership.id.in_(chunk)))
    for chunk in _chunks(primaries):
        await session.execute(update(SchoolMembership), chunk)
    for chunk in _chunks(added):
        await session.execute(insert(SchoolMembership), chunk)
    result.memberships_added += len(added)
    result.memberships_removed += len(removed)
    # A record's school is taken when it is written: teachers with records take theirs along.
    with_records = list(
        await session.scalars(
            select(Wallet.teacher_id)
            .where(Wallet.teacher_id.in_(list(changes)))
            .where(select(literal(1)).where(Record.wallet_id == Wallet.id).exists())
        )
    )
    if len(with_records) > REBUILD_ONE_BY_ONE:
        await summary.rebuild_district(session=session, district_id=district_id)
    else:
        for teacher_id in with_records:
            await summary.rebuild_teacher(session=session, teacher_id=teacher_id)
