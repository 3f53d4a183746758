"""Teachers, their wallets and the records in them.

A wallet belongs to its teacher: only that teacher reads it whole. District staff see what the
teacher shared with the district (and what the district issued) through the rollups.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Table, and_, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from ler_plugin.audit import record_event
from ler_plugin.db import utcnow
from ler_plugin.errors import Forbidden
from ler_plugin.pagination import Page, PageError, check_first, decode_cursor, encode_cursor
from ler_plugin.principal import Principal, Role
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import (
    Record,
    RecordKind,
    RecordSource,
    RecordStatus,
    ReviewState,
    Teacher,
    TeacherEmail,
    TeacherIdentity,
    Visibility,
    Wallet,
)

log = logging.getLogger(__name__)

MAX_QUANTITY = Decimal("1000")
TITLE_MAX = 500


@dataclass(frozen=True)
class RecordInput:
    kind: RecordKind
    title: str
    completed_on: dt.date
    source: RecordSource
    status: RecordStatus
    clock_hours: Decimal | None = None
    ceus: Decimal | None = None
    started_on: dt.date | None = None
    description: str | None = None
    provider_id: int | None = None
    provider_name: str | None = None
    category: str | None = None
    skills: list[str] = field(default_factory=list)
    reflection: str | None = None
    visibility: Visibility = Visibility.DISTRICT
    source_key: str | None = None
    # Why a person should check this record's credit (a badge's credit notes); None: no need.
    review_note: str | None = None


@dataclass(frozen=True)
class WalletTotals:
    records: int
    clock_hours: Decimal
    ceus: Decimal
    badges: int


def quantity(value: object, name: str) -> Decimal | None:
    """Parse hours or CEUs: exact decimals, not negative, at most two places, within reason."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise WalletError(f"bad_{name}", f"{name.replace('_', ' ')} must be a number") from None
    if not number.is_finite() or number < 0 or number > MAX_QUANTITY:
        raise WalletError(
            f"bad_{name}", f"{name.replace('_', ' ')} must be between 0 and {MAX_QUANTITY}"
        )
    if number != number.quantize(Decimal("0.01")):
        raise WalletError(f"bad_{name}", f"{name.replace('_', ' ')} has at most two decimals")
    return number.quantize(Decimal("0.01"))


def validate(data: RecordInput) -> None:
    if not data.title.strip():
        raise WalletError("bad_title", "a record needs a title")
    if len(data.title) > TITLE_MAX:
        raise WalletError("bad_title", f"the title is longer than {TITLE_MAX} characters")
    if data.started_on and data.started_on > data.completed_on:
        raise WalletError("bad_dates", "the start date is after the completion date")
    if data.completed_on > dt.date.today() + dt.timedelta(days=1):
        raise WalletError("bad_dates", "the completion date is in the future")
    for name in ("clock_hours", "ceus"):
        quantity(getattr(data, name), name)


async def wallet_of(
    *, session: AsyncSession, principal: Principal, teacher_id: int | None = None
) -> Wallet:
    """The wallet a principal may read whole: their own (or any, for the operator)."""
    teacher_id = teacher_id or principal.teacher_id
    if teacher_id is None:
        raise Forbidden("forbidden", "only a teacher has a wallet")
    if teacher_id != principal.teacher_id and Role.OPERATOR not in principal.roles:
        raise Forbidden("forbidden", "a wallet is readable only by its teacher")
    wallet = await session.scalar(select(Wallet).where(Wallet.teacher_id == teacher_id))
    if wallet is None:
        raise WalletError("wallet_not_found", "no wallet for that teacher", status=404)
    return wallet


async def get_teacher(*, session: AsyncSession, teacher_id: int) -> Teacher:
    teacher = await session.get(Teacher, teacher_id)
    if teacher is None:
        raise WalletError("teacher_not_found", "no such teacher", status=404)
    return teacher


# --- teachers: one person, however they arrive -------------------------------------------------


@dataclass(frozen=True)
class LmsIdentity:
    """How an LMS knows the person: the platform registration (which carries the issuer) and the
    token's or the roster's ``sub`` / ``user_id``. `launched`: this is a launch (noted on it)."""

    platform_id: int
    issuer: str
    subject: str
    launched: bool = False


@dataclass(frozen=True)
class Person:
    """What a source (an LTI launch, an LMS course roster, the district's roster) says about a
    person. `email` is an address the source vouches for: the district registered the LMS and
    runs the roster, so both are taken as verified. `sourced_id` is the district's own id for
    the person (OneRoster ``sourcedId``, LTI ``lis.person_sourcedid``); `staff_id` the employee
    number the district's HR files carry (OneRoster ``identifier``), given to a teacher made."""

    display_name: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    sourced_id: str | None = None
    lms: LmsIdentity | None = None
    staff_id: str | None = None

    def cleaned(self) -> Person:
        given = (self.given_name or "").strip()[:255] or None
        family = (self.family_name or "").strip()[:255] or None
        display = self.display_name.strip() or " ".join(p for p in (given, family) if p)
        email = (self.email or "").strip().lower()
        lms = self.lms
        if lms is not None:
            lms = LmsIdentity(lms.platform_id, lms.issuer, lms.subject[:255], lms.launched)
        return Person(
            display_name=(display or "Teacher")[:255],
            given_name=given,
            family_name=family,
            email=email[:320] if "@" in email else None,
            sourced_id=(self.sourced_id or "").strip()[:255] or None,
            lms=lms,
            staff_id=(self.staff_id or "").strip()[:64] or None,
        )


@dataclass(frozen=True)
class FoundTeacher:
    """The teacher, whether they were made now, and which rule found them (``lms``, ``roster``,
    ``email``; None when made)."""

    teacher: Teacher
    created: bool
    matched_by: str | None


async def find_or_create_teacher(
    *, session: AsyncSession, district_id: int, person: Person
) -> FoundTeacher:
    """The district's teacher this person is, found by the first rule that matches, else made
    (with their wallet); what the source knows and the teacher lacks is then linked to them.

    The rules, in order (the only place they are written):
    1. the LMS identity (platform registration + ``sub``);
    2. the roster identity: the district's ``sourced_id`` for the person;
    3. a verified email, held by a teacher with no other account on the same LMS (two accounts
       of one LMS are two people, whatever addresses they claim).
    An identity, sourced id or email another teacher already holds is never moved.

    Race-safe on both databases: the same person arriving twice at once (two tabs, a launch
    during a roster import) meets the unique keys on identities, sourced ids and emails; the
    loser's savepoint rolls back and it finds the winner's teacher. Names of a found teacher are
    left as they are (the roster import updates them deliberately). The caller audits."""
    person = person.cleaned()
    found = await _match(session, district_id, person)
    if found is None:
        try:
            async with session.begin_nested():
                teacher = Teacher(
                    district_id=district_id,
                    sourced_id=person.sourced_id,
                    staff_id=person.staff_id,
                    display_name=person.display_name,
                    given_name=person.given_name,
                    family_name=person.family_name,
                )
                session.add(teacher)
                await session.flush()
                session.add(Wallet(teacher_id=teacher.id))
                if person.lms is not None:
                    session.add(_identity(teacher, person.lms))
                await session.flush()
        except IntegrityError:
            found = await _match(session, district_id, person)
            if found is None:  # a key held in another district (hidden by its wall)
                raise WalletError(
                    "teacher_conflict",
                    "this person's LMS account or roster id is already linked to a teacher "
                    "the district cannot see; ask the district's administrator to check it",
                    status=409,
                ) from None
        else:
            result = FoundTeacher(teacher, created=True, matched_by=None)
            if person.email:
                await record_verified_email(session=session, teacher=teacher, email=person.email)
            return result
    await _link(session, found.teacher, person)
    return found


async def _match(session: AsyncSession, district_id: int, person: Person) -> FoundTeacher | None:
    if person.lms is not None:
        teacher = await session.scalar(
            select(Teacher)
            .join(TeacherIdentity, TeacherIdentity.teacher_id == Teacher.id)
            .where(
                TeacherIdentity.platform_id == person.lms.platform_id,
                TeacherIdentity.subject == person.lms.subject,
                Teacher.district_id == district_id,
            )
        )
        if teacher is not None:
            return FoundTeacher(teacher, created=False, matched_by="lms")
    if person.sourced_id is not None:
        teacher = await session.scalar(
            select(Teacher).where(
                Teacher.district_id == district_id, Teacher.sourced_id == person.sourced_id
            )
        )
        if teacher is not None:
            return FoundTeacher(teacher, created=False, matched_by="roster")
    if person.email is not None:
        query = (
            select(Teacher)
            .join(TeacherEmail, TeacherEmail.teacher_id == Teacher.id)
            .where(
                TeacherEmail.district_id == district_id,
                TeacherEmail.email == person.email,
                TeacherEmail.verified.is_(True),
            )
        )
        if person.lms is not None:
            query = query.where(
                ~select(TeacherIdentity.id)
                .where(
                    TeacherIdentity.teacher_id == Teacher.id,
                    TeacherIdentity.platform_id == person.lms.platform_id,
                )
                .exists()
            )
        teacher = await session.scalar(query)
        if teacher is not None:
            return FoundTeacher(teacher, created=False, matched_by="email")
    return None


def _identity(teacher: Teacher, lms: LmsIdentity) -> TeacherIdentity:
    return TeacherIdentity(
        teacher_id=teacher.id,
        platform_id=lms.platform_id,
        issuer=lms.issuer,
        subject=lms.subject,
        last_launch_at=utcnow() if lms.launched else None,
    )


async def _link(session: AsyncSession, teacher: Teacher, person: Person) -> None:
    """Give a found teacher what the source knows and they lack; keys held elsewhere stay."""
    if person.lms is not None:
        lms = person.lms
        identity = await session.scalar(
            select(TeacherIdentity).where(
                TeacherIdentity.platform_id == lms.platform_id,
                TeacherIdentity.subject == lms.subject,
            )
        )
        if identity is None:
            try:
                async with session.begin_nested():
                    session.add(_identity(teacher, lms))
                    await session.flush()
            except IntegrityError:
                pass  # linked at the same moment by the same person's other request
        elif identity.teacher_id == teacher.id and lms.launched:
            identity.last_launch_at = utcnow()
    if person.sourced_id is not None and teacher.sourced_id is None:
        try:
            async with session.begin_nested():
                teacher.sourced_id = person.sourced_id
                await session.flush()
        except IntegrityError:
            # Another teacher holds it: not moved (the savepoint put the attribute back).
            log.warning("sourced id of teacher %s held by another teacher; not moved", teacher.id)
    if person.email is not None and not await record_verified_email(
        session=session, teacher=teacher, email=person.email
    ):
        log.warning("an email of teacher %s is held by another teacher; not moved", teacher.id)


@dataclass(frozen=True)
class Match:
    teacher_id: int
    matched_by: str  # "roster" or "email", as `FoundTeacher.matched_by`


MANY = 1000  # people per statement in the bulk faces below


async def match_people(
    *, session: AsyncSession, district_id: int, people: Sequence[Person]
) -> list[Match | None]:
    """`find_or_create_teacher`'s rules 2 and 3 for many people at once (a roster import): the
    roster identity, then a verified email; one query per rule and thousand people, not per
    person. People who arrive with an LMS identity go through `find_or_create_teacher`."""
    people = [p.cleaned() for p in people]
    by_source: dict[str, int] = {}
    by_email: dict[str, int] = {}
    sourced = sorted({p.sourced_id for p in people if p.sourced_id})
    emails = sorted({p.email for p in people if p.email})
    for start in range(0, len(sourced), MANY):
        rows = await session.execute(
            select(Teacher.sourced_id, Teacher.id).where(
                Teacher.district_id == district_id,
                Teacher.sourced_id.in_(sourced[start : start + MANY]),
            )
        )
        by_source.update({key: teacher_id for key, teacher_id in rows if key})
    for start in range(0, len(emails), MANY):
        rows = await session.execute(
            select(TeacherEmail.email, TeacherEmail.teacher_id).where(
                TeacherEmail.district_id == district_id,
                TeacherEmail.verified.is_(True),
                TeacherEmail.email.in_(emails[start : start + MANY]),
            )
        )
        by_email.update({email: teacher_id for email, teacher_id in rows if email})
    found: list[Match | None] = []
    for person in people:
        if person.sourced_id in by_source:
            found.append(Match(by_source[person.sourced_id], "roster"))
        elif person.email in by_email:
            found.append(Match(by_email[person.email], "email"))
        else:
            found.append(None)
    return found


async def create_teachers(
    *, session: AsyncSession, district_id: int, people: Sequence[Person]
) -> list[int]:
    """New teachers for people `match_people` did not find, each with their wallet and the email
    their source vouches for, in bulk statements (a roster's first import: 20,000 in seconds);
    their ids, in order. The unique keys hold against anyone arriving at the same moment: the
    statement fails, and the caller's transaction with it. The caller audits."""
    people = [p.cleaned() for p in people]
    teachers, wallets, emails = (_table(m) for m in (Teacher, Wallet, TeacherEmail))
    ids: list[int] = []
    for start in range(0, len(people), MANY):
        chunk = people[start : start + MANY]
        made = list(
            await session.scalars(
                insert(teachers).returning(teachers.c.id, sort_by_parameter_order=True),
                [
                    {
                        "district_id": district_id,
                        "display_name": p.display_name,
                        "given_name": p.given_name,
                        "family_name": p.family_name,
                        "sourced_id": p.sourced_id,
                        "staff_id": p.staff_id,
                    }
                    for p in chunk
                ],
            )
        )
        await session.execute(insert(wallets), [{"teacher_id": i} for i in made])
        vouched = [
            {
                "district_id": district_id,
                "teacher_id": i,
                "email": p.email,
                "verified": True,
                "source": "roster",
            }
            for i, p in zip(made, chunk, strict=True)
            if p.email
        ]
        if vouched:
            await session.execute(insert(emails), vouched)
        ids += made
    return ids


def _table(model: Any) -> Table:
    # Core statements on the tables: the ORM's bulk path costs several times more per row.
    table: Table = model.__table__
    return table


# --- records: one way in ------------------------------------------------------------------------


@dataclass(frozen=True)
class Landed:
    """The record, and whether it was written now (False: its `source_key` was already there)."""

    record: Record
    created: bool


async def land_record(
    *,
    session: AsyncSession,
    principal: Principal,
    teacher_id: int,
    data: RecordInput,
    audit: bool = True,
) -> Landed:
    """Write a record into a teacher's wallet: the one way every record arrives (launch claims,
    provider posts, badge imports, facilitator awards, self-reports; the seed alone bulk-inserts).

    Checks the input and that the principal acts in the teacher's district. A record with a
    `source_key` lands once per wallet: sent again (or twice at once) it is found, not doubled.
    Rollup summaries and the compliance counter follow in this flush: the rollups room keeps
    them from the record events it registered on the engine (`rollups.install`). Writes the
    audit event ``record:<source>:create`` unless `audit` is False (a facilitator's award audits
    the whole batch once). Flushes; the caller's edge commits."""
    validate(data)
    row = (
        await session.execute(
            select(Wallet, Teacher.district_id)
            .join(Teacher, Teacher.id == Wallet.teacher_id)
            .where(Wallet.teacher_id == teacher_id)
        )
    ).one_or_none()
    if row is None:
        raise WalletError("wallet_not_found", "no wallet for that teacher", status=404)
    wallet, district_id = row.tuple()
    principal.require_district(district_id)
    if data.source_key is not None:
        held = await _by_source_key(session, wallet.id, data.source_key)
        if held is not None:
            return Landed(held, created=False)
    record = Record(
        wallet_id=wallet.id,
        district_id=district_id,
        kind=data.kind,
        source=data.source,
        status=data.status,
        visibility=data.visibility,
        title=data.title.strip(),
        description=data.description,
        provider_id=data.provider_id,
        provider_name=data.provider_name,
        category=data.category,
        skills=list(data.skills),
        started_on=data.started_on,
        completed_on=data.completed_on,
        clock_hours=quantity(data.clock_hours, "clock_hours"),
        ceus=quantity(data.ceus, "ceus"),
        reflection=data.reflection,
        review=ReviewState.NEEDED if data.review_note else ReviewState.NONE,
        review_note=data.review_note,
        source_key=data.source_key,
    )
    try:
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError:
        held = None
        if data.source_key is not None:  # the same record landed at the same moment
            held = await _by_source_key(session, wallet.id, data.source_key)
        if held is None:
            raise
        return Landed(held, created=False)
    if audit:
        record_event(
            session,
            f"record:{data.source.value}:create",
            actor_kind=principal.actor_kind,
            actor_id=principal.subject,
            district_id=district_id,
            subject_type="record",
            subject_id=record.id,
        )
    return Landed(record, created=True)


async def _by_source_key(session: AsyncSession, wallet_id: int, source_key: str) -> Record | None:
    return await session.scalar(
        select(Record).where(Record.wallet_id == wallet_id, Record.source_key == source_key)
    )


def _record_filter(
    wallet_id: int, kinds: list[RecordKind] | None, search: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Record.wallet_id == wallet_id]
    if kinds:
        conditions.append(Record.kind.in_(kinds))
    if search:
        pattern = (
            "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        conditions.append(
            or_(
                func.lower(Record.title).like(pattern, escape="\\"),
                func.lower(func.coalesce(Record.provider_name, "")).like(pattern, escape="\\"),
            )
        )
    return conditions


async def list_records(
    *,
    session: AsyncSession,
    wallet: Wallet,
    first: int = 20,
    after: str | None = None,
    kinds: list[RecordKind] | None = None,
    search: str | None = None,
) -> Page[Record]:
    """Newest first, by (completed_on, id): stable under inserts, one query per page."""
    first = check_first(first)
    conditions = _record_filter(wallet.id, kinds, search)
    total = await session.scalar(select(func.count()).select_from(Record).where(*conditions)) or 0
    query = select(Record).where(*conditions)
    if after:
        day, record_id = decode_cursor(after, 2)
        try:
            after_day = dt.date.fromisoformat(day)
            after_id = int(record_id)
        except (TypeError, ValueError):
            raise PageError("bad_cursor", "the cursor is not one this server gave out") from None
        query = query.where(
            or_(
                Record.completed_on < after_day,
                and_(Record.completed_on == after_day, Record.id < after_id),
            )
        )
    rows = list(
        await session.scalars(
            query.order_by(Record.completed_on.desc(), Record.id.desc()).limit(first + 1)
        )
    )
    items = rows[:first]
    cursors = [encode_cursor([r.completed_on.isoformat(), r.id]) for r in items]
    return Page(items=items, cursors=cursors, has_next=len(rows) > first, total=total)


async def totals(*, session: AsyncSession, wallet: Wallet) -> WalletTotals:
    """Everything in the wallet that is not rejected, revoked or expired."""
    live = Record.status.not_in([RecordStatus.REJECTED, RecordStatus.REVOKED, RecordStatus.EXPIRED])
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Record.clock_hours), 0),
                func.coalesce(func.sum(Record.ceus), 0),
                func.count().filter(Record.kind == RecordKind.BADGE),
            ).where(Record.wallet_id == wallet.id, live)
        )
    ).one()
    return WalletTotals(
        records=row[0],
        clock_hours=Decimal(str(row[1])).quantize(Decimal("0.01")),
        ceus=Decimal(str(row[2])).quantize(Decimal("0.01")),
        badges=row[3],
    )


LIVE_STATUSES = frozenset(
    {
        RecordStatus.SELF_REPORTED,
        RecordStatus.SUBMITTED,
        RecordStatus.APPROVED,
        RecordStatus.VERIFIED,
    }
)


async def own_record(*, session: AsyncSession, principal: Principal, record_id: int) -> Record:
    """One record of the principal's own wallet; anybody else's reads as not found."""
    wallet = await wallet_of(session=session, principal=principal)
    record = await session.get(Record, record_id)
    if record is None or record.wallet_id != wallet.id:
        raise WalletError("record_not_found", "no such record in your wallet", status=404)
    return record


async def set_visibility(
    *, session: AsyncSession, principal: Principal, record_id: int, visibility: Visibility
) -> Record:
    record = await own_record(session=session, principal=principal, record_id=record_id)
    if record.visibility != visibility:
        before = record.visibility
        record.visibility = visibility
        record_event(
            session,
            "record:visibility:update",
            actor_kind=principal.actor_kind,
            actor_id=principal.subject,
            district_id=record.district_id,
            subject_type="record",
            subject_id=record.id,
            before=before.value,
            after=visibility.value,
        )
        await session.flush()
    return record


async def all_records(*, session: AsyncSession, wallet: Wallet) -> list[Record]:
    """Every record of a wallet, newest first: exports and the transcript read the whole wallet."""
    return list(
        await session.scalars(
            select(Record)
            .where(Record.wallet_id == wallet.id)
            .order_by(Record.completed_on.desc(), Record.id.desc())
        )
    )


async def skills_summary(*, session: AsyncSession, wallet: Wallet) -> list[tuple[str, int]]:
    """Skills the live records show, with how many records show each; most shown first."""
    rows = await session.scalars(
        select(Record.skills).where(Record.wallet_id == wallet.id, Record.status.in_(LIVE_STATUSES))
    )
    counts: dict[str, int] = {}
    spelled: dict[str, str] = {}
    for skills in rows:
        for skill in {s.strip() for s in skills or [] if s and s.strip()}:
            key = skill.casefold()
            spelled.setdefault(key, skill)
            counts[key] = counts.get(key, 0) + 1
    return sorted(((spelled[k], n) for k, n in counts.items()), key=lambda p: (-p[1], p[0]))


async def verified_emails(session: AsyncSession, teacher_id: int) -> list[str]:
    """The teacher's verified emails, oldest first."""
    return list(
        await session.scalars(
            select(TeacherEmail.email)
            .where(TeacherEmail.teacher_id == teacher_id, TeacherEmail.verified.is_(True))
            .order_by(TeacherEmail.id)
        )
    )


async def record_verified_email(*, session: AsyncSession, teacher: Teacher, email: str) -> bool:
    """Note an email the LMS vouches for as the teacher's (verified): it matches badge recipients.
    An address another teacher of the district already holds is not moved; returns whether the
    teacher holds it now."""
    held = await session.scalar(
        select(TeacherEmail).where(
            TeacherEmail.district_id == teacher.district_id, TeacherEmail.email == email
        )
    )
    if held is not None:
        if held.teacher_id == teacher.id:
            held.verified = True
        return held.teacher_id == teacher.id
    try:
        async with session.begin_nested():
            session.add(
                TeacherEmail(
                    district_id=teacher.district_id,
                    teacher_id=teacher.id,
                    email=email,
                    verified=True,
                    source="lti",
                )
            )
            await session.flush()
    except IntegrityError:
        return False  # recorded at the same moment by a concurrent launch or award
    return True


# --- what other rooms ask of the wallet (they never read its tables) ---------------------------


async def get_record(*, session: AsyncSession, record_id: int) -> Record | None:
    return await session.get(Record, record_id)


async def owner_of_record(*, session: AsyncSession, record_id: int) -> int | None:
    """The id of the teacher whose wallet holds the record."""
    return await session.scalar(
        select(Wallet.teacher_id)
        .join(Record, Record.wallet_id == Wallet.id)
        .where(Record.id == record_id)
    )


async def set_record_status(
    *, session: AsyncSession, record_id: int, status: RecordStatus, reason: str
) -> Record | None:
    """A record's status changed by what stands behind it (its badge revoked or expired), with
    the reason the teacher reads. The caller audits; rollups follow in the flush."""
    record = await session.get(Record, record_id)
    if record is not None:
        record.status = status
        record.status_reason = reason
        await session.flush()
    return record


async def records_in_status(
    *, session: AsyncSession, record_ids: list[int], status: RecordStatus
) -> set[int]:
    if not record_ids:
        return set()
    return set(
        await session.scalars(
            select(Record.id).where(Record.id.in_(record_ids), Record.status == status)
        )
    )


async def teacher_with_verified_email(
    *, session: AsyncSession, district_id: int, email: str
) -> int | None:
    """The district's teacher holding this verified address, if any."""
    return await session.scalar(
        select(TeacherEmail.teacher_id).where(
            TeacherEmail.district_id == district_id,
            TeacherEmail.email == email.strip().lower(),
            TeacherEmail.verified.is_(True),
        )
    )


async def verified_addresses(*, session: AsyncSession, district_id: int) -> list[tuple[int, str]]:
    """Every verified (teacher id, address) of a district: for recipients named only by a hash."""
    rows = await session.execute(
        select(TeacherEmail.teacher_id, TeacherEmail.email).where(
            TeacherEmail.district_id == district_id, TeacherEmail.verified.is_(True)
        )
    )
    return [(int(teacher_id), email) for teacher_id, email in rows.tuples()]
