"""Compliance from the database: a teacher's licences, birth month and records, mapped onto the
credit engine's inputs and evaluated for the renewal cycle containing a date.

Which records the engine sees: those shared with the district (visibility district or public) or
issued by it (source lms_award), so a teacher and their district read the same answer. The engine
itself counts verified and approved records and district awards, and gives each record its
reason; records it is not shown get ours: ``not_shared`` (private) and ``expired``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin import credit
from ler_plugin.audit import record_event
from ler_plugin.db import insert_for
from ler_plugin.districts.models import District, RulesetVersion
from ler_plugin.pagination import Page, PageError, check_first, decode_cursor, encode_cursor
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import summary
from ler_plugin.rollups.errors import RollupError
from ler_plugin.rollups.models import ComplianceStatus
from ler_plugin.wallet.models import License, Record, RecordStatus, Teacher, Wallet

NOT_SHARED = "not_shared"
EXPIRED = "expired"
NO_RULESET_KEY = "generic"
BATCH = 200
# The engine's statuses, and ours for a teacher it cannot evaluate (no licence, unknown class...).
STATUSES = ("complete", "on_track", "at_risk", "behind", "exempt", "no_credential", "not_evaluated")


@dataclass(frozen=True)
class TeacherCompliance:
    teacher_id: int
    display_name: str
    school_id: int
    status: str
    result: credit.Compliance | None
    # Records the engine was not shown, with our reason: (record id, reason).
    withheld: tuple[tuple[str, str], ...] = ()
    problem: str | None = None


# --- rulesets ---------------------------------------------------------------------------------


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


# Parsed rulesets by (key, version): a stored version never changes, and parsing costs more than
# a whole evaluation.
_PARSED: dict[tuple[str, str], credit.Ruleset] = {}


def _parse_stored(key: str, version: str, body: dict[str, Any]) -> credit.Ruleset:
    found = _PARSED.get((key, version))
    if found is None:
        data = json.loads(_canonical(body), parse_float=Decimal)
        found = _PARSED[(key, version)] = credit.parse_ruleset(data, origin=f"{key} ({version})")
    return found


@functools.cache
def _shipped(key: str) -> credit.Ruleset:
    return credit.load_ruleset(key)


def read_ruleset(source: str) -> tuple[credit.Ruleset, dict[str, Any]]:
    """A shipped ruleset by name or a file by path: checked by the engine, and its JSON as stored."""
    ruleset = credit.load_ruleset(source)
    if source in credit.shipped_rulesets():
        path = Path(credit.__file__).with_name("rulesets") / f"{source}.json"
    else:
        path = Path(source)
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return ruleset, body


async def load_rulesets(
    *, session: AsyncSession, principal: Principal, sources: Sequence[str]
) -> list[RulesetVersion]:
    """Store ruleset files (paths, or names of shipped rulesets; all shipped when none given).

    Each file is checked by the engine first; the same content is stored once. Its key is the
    ruleset's id and its effective date the newest version's, so later files supersede.
    """
    principal.require(Role.OPERATOR)
    stored = []
    for source in sources or credit.shipped_rulesets():
        ruleset, body = await asyncio.to_thread(read_ruleset, source)
        version = hashlib.sha256(_canonical(body).encode()).hexdigest()[:16]
        found = await session.scalar(
            select(RulesetVersion).where(
                RulesetVersion.key == ruleset.id, RulesetVersion.version == version
            )
        )
        if found is None:
            found = RulesetVersion(
                key=ruleset.id,
                version=version,
                effective_from=max(v.effective_from for v in ruleset.versions),
                body=body,
            )
            session.add(found)
            await session.flush()
            record_event(
                session,
                "credit:ruleset:load",
                actor_kind=principal.actor_kind,
                actor_id=principal.subject,
                district_id=None,
                subject_type="ruleset_version",
                subject_id=found.id,
                key=ruleset.id,
                version=version,
            )
        stored.append(found)
    return stored


async def known_ruleset_keys(session: AsyncSession) -> set[str]:
    stored = await session.scalars(select(RulesetVersion.key).distinct())
    return set(stored) | set(credit.shipped_rulesets())


def ruleset_key(district: District) -> str:
    return district.ruleset_key or district.state.lower()


async def set_district_ruleset(
    *, session: AsyncSession, principal: Principal, district: District, key: str | None
) -> District:
    """Choose the district's ruleset; None goes back to its state's own."""
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district.id)
    if key is not None:
        key = key.strip().lower()
        known = await known_ruleset_keys(session)
        if key not in known:
            raise RollupError(
                "unknown_ruleset",
                f"no ruleset {key!r}: load it first (known: {', '.join(sorted(known))})",
            )
    district.ruleset_key = key
    record_event(
        session,
        "credit:district:set-ruleset",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district.id,
        subject_type="district",
        subject_id=district.id,
        key=key,
    )
    await session.flush()
    return district


async def ruleset_for(*, session: AsyncSession, district: District, on: dt.date) -> credit.Ruleset:
    """The stored file in force on `on` (the newest effective by then, else the oldest), else the
    shipped one; a state with no ruleset of its own follows the generic one."""
    return (await _ruleset_in_force(session, district, on))[0]


async def _ruleset_in_force(
    session: AsyncSession, district: District, on: dt.date
) -> tuple[credit.Ruleset, str]:
    """`ruleset_for`, and a tag naming that exact version (stored statuses name what judged them)."""
    key = ruleset_key(district)
    candidates = select(RulesetVersion).where(RulesetVersion.key == key)
    chosen = await session.scalar(
        candidates.where(RulesetVersion.effective_from <= on).order_by(
            RulesetVersion.effective_from.desc(),
            RulesetVersion.loaded_at.desc(),
            RulesetVersion.id.desc(),
        )
    ) or await session.scalar(candidates.order_by(RulesetVersion.effective_from, RulesetVersion.id))
    if chosen is not None:
        return _parse_stored(key, chosen.version, chosen.body), f"{key}@{chosen.version}"
    shipped = shipped_key(district)
    return _shipped(shipped), f"{shipped}@shipped"


def shipped_key(district: District) -> str:
    """The shipped ruleset a district follows when none of its own is stored."""
    key = ruleset_key(district)
    return key if key in credit.shipped_rulesets() else NO_RULESET_KEY


# --- evaluation -------------------------------------------------------------------------------


def teacher_facts(teacher_birth_month: int | None, licenses: Sequence[Any]) -> credit.TeacherFacts:
    """What the engine is told of a teacher: their licences (an early end as the expiry) and
    birth month."""
    return credit.TeacherFacts(
        credentials=tuple(
            credit.Credential(
                credential_class=lic.credential_class,
                issued_on=lic.issued_on,
                # Ended early by the district: not held from that day on.
                expires_on=min(d for d in (lic.expires_on, lic.ended_on) if d)
                if lic.expires_on or lic.ended_on
                else None,
                national_board=lic.national_board,
                primary=lic.primary,
            )
            for lic in licenses
        ),
        birth_month=teacher_birth_month,
    )


RECORD_COLUMNS = (
    Record.id,
    Record.wallet_id,
    Record.kind,
    Record.source,
    Record.status,
    Record.visibility,
    Record.completed_on,
    Record.clock_hours,
    Record.ceus,
    Record.category,
    Record.provider_name,
)


def _split(rows: Sequence[Any]) -> tuple[list[credit.CreditRecord], list[tuple[str, str]]]:
    shown, withheld = [], []
    for row in rows:
        record_id = str(row.id)
        if not summary.counts(row.visibility.value, row.source.value):
            withheld.append((record_id, NOT_SHARED))
        elif row.status == RecordStatus.EXPIRED:
            withheld.append((record_id, EXPIRED))
        else:
            shown.append(
                credit.CreditRecord(
                    id=record_id,
                    kind=row.kind.value,
                    source=row.source.value,
                    status=row.status.value,
                    completed_on=row.completed_on,
                    clock_hours=row.clock_hours,
                    ceus=row.ceus,
                    category=row.category,
                    provider=row.provider_name,
                )
            )
    return shown, withheld


def _evaluate(
    ruleset: credit.Ruleset,
    teacher: Any,
    school_id: int,
    licenses: Sequence[Any],
    rows: Sequence[Any],
    on: dt.date,
) -> TeacherCompliance:
    shown, withheld = _split(rows)
    try:
        result = credit.evaluate(
            ruleset, teacher_facts(teacher.birth_month, licenses), shown, on=on
        )
    except credit.CreditError as exc:
        return TeacherCompliance(
            teacher.id,
            teacher.display_name,
            school_id,
            "no_credential",
            None,
            tuple(withheld),
            exc.message,
        )
    return TeacherCompliance(
        teacher.id, teacher.display_name, school_id, result.status, result, tuple(withheld)
    )


def _teachers(district_id: int) -> Select[Any]:
    return select(
        Teacher.id,
        Teacher.display_name,
        Teacher.birth_month,
        func.coalesce(summary.school_of(Teacher.id), 0).label("school_id"),
    ).where(Teacher.district_id == district_id)


async def _evaluate_batch(
    session: AsyncSession, ruleset: credit.Ruleset, teachers: Sequence[Any], on: dt.date
) -> list[TeacherCompliance]:
    ids = [t.id for t in teachers]
    licenses: dict[int, list[Any]] = {i: [] for i in ids}
    for lic in (
        await session.execute(select(License).where(License.teacher_id.in_(ids)))
    ).scalars():
        licenses[lic.teacher_id].append(lic)
    records: dict[int, list[Any]] = {i: [] for i in ids}
    rows = await session.execute(
        select(Wallet.teacher_id, *RECORD_COLUMNS)
        .join(Wallet, Wallet.id == Record.wallet_id)
        .where(Wallet.teacher_id.in_(ids))
    )
    for row in rows:
        records[row.teacher_id].append(row)
    return [_evaluate(ruleset, t, t.school_id, licenses[t.id], records[t.id], on) for t in teachers]


async def teacher_compliance(
    *, session: AsyncSession, principal: Principal, teacher_id: int, on: dt.date | None = None
) -> TeacherCompliance:
    """One teacher's standing: for the teacher themself, or their district's staff."""
    on = on or dt.date.today()
    teacher = await session.get(Teacher, teacher_id)
    if teacher is None:
        raise RollupError("teacher_not_found", "no such teacher", status=404)
    if principal.teacher_id != teacher_id:
        principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(teacher.district_id)
    district = await session.get(District, teacher.district_id)
    assert district is not None
    ruleset = await ruleset_for(session=session, district=district, on=on)
    row = (await session.execute(_teachers(district.id).where(Teacher.id == teacher_id))).one()
    return (await _evaluate_batch(session, ruleset, [row], on))[0]


def _check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise RollupError(
            "bad_status", f"unknown compliance status {status!r}: choose from {', '.join(STATUSES)}"
        )


async def _district(session: AsyncSession, principal: Principal, district_id: int) -> District:
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)
    district = await session.get(District, district_id)
    if district is None:
        raise RollupError("district_not_found", "no such district", status=404)
    return district


async def stream_district(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    on: dt.date | None = None,
    school_id: int | None = None,
    status: str | None = None,
    after_teacher: int = 0,
    batch: int = BATCH,
) -> AsyncIterator[list[TeacherCompliance]]:
    """Every teacher's standing in teacher order, a batch at a time (never the district at once)."""
    _check_status(status)
    on = on or dt.date.today()
    district = await _district(session, principal, district_id)
    ruleset = await ruleset_for(session=session, district=district, on=on)
    # The district's staff: people a full roster no longer lists are kept, but not counted.
    query = _teachers(district_id).where(Teacher.active.is_(True))
    if school_id is not None:
        query = query.where(summary.school_of(Teacher.id) == school_id)
    if status is not None and on == dt.date.today():
        # Only the teachers whose current stored status is this one (each still evaluated anew).
        await refresh(session=session, principal=principal, district_id=district_id, on=on)
        query = query.where(
            Teacher.id.in_(
                select(ComplianceStatus.teacher_id).where(
                    ComplianceStatus.district_id == district_id, ComplianceStatus.status == status
                )
            )
        )
    last = after_teacher
    while True:
        teachers = (
            await session.execute(query.where(Teacher.id > last).order_by(Teacher.id).limit(batch))
        ).all()
        if not teachers:
            return
        last = teachers[-1].id
        evaluated = await _evaluate_batch(session, ruleset, teachers, on)
        yield [c for c in evaluated if status is None or c.status == status]


async def district_compliance(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    on: dt.date | None = None,
    school_id: int | None = None,
    status: str | None = None,
    first: int = 50,
    after: str | None = None,
) -> Page[TeacherCompliance]:
    """A page of teachers' standings in teacher order, optionally one school's or one status's."""
    first = check_first(first)
    after_teacher = 0
    if after:
        (value,) = decode_cursor(after, 1)
        if not isinstance(value, int):
            raise PageError("bad_cursor", "the cursor is not one this server gave out")
        after_teacher = value
    found: list[TeacherCompliance] = []
    async for batch in stream_district(
        session=session,
        principal=principal,
        district_id=district_id,
        on=on,
        school_id=school_id,
        status=status,
        after_teacher=after_teacher,
        # Unfiltered, the page needs just one more teacher than it shows.
        batch=first + 1 if status is None else BATCH,
    ):
        found.extend(batch)
        if len(found) > first:
            break
    items = found[:first]
    return Page(
        items=items,
        cursors=[encode_cursor([c.teacher_id]) for c in items],
        has_next=len(found) > first,
        total=len(items),
    )


async def counts_by_school(
    *, session: AsyncSession, principal: Principal, district_id: int, on: dt.date | None = None
) -> dict[int, dict[str, int]]:
    """How many teachers of each school stand at each status. For today: the stored statuses,
    once those that are not current are evaluated again; for another day, every teacher anew."""
    counts: dict[int, dict[str, int]] = {}
    if on is not None and on != dt.date.today():
        async for batch in stream_district(
            session=session, principal=principal, district_id=district_id, on=on
        ):
            for c in batch:
                counts.setdefault(c.school_id, dict.fromkeys(STATUSES, 0))[c.status] += 1
        return counts
    await refresh(session=session, principal=principal, district_id=district_id)
    cs = ComplianceStatus
    rows = await session.execute(
        select(cs.school_id, cs.status, func.count())
        .join(Teacher, Teacher.id == cs.teacher_id)
        .where(cs.district_id == district_id, cs.status.in_(STATUSES), Teacher.active.is_(True))
        .group_by(cs.school_id, cs.status)
    )
    for school_id, status, teachers in rows:
        counts.setdefault(school_id, dict.fromkeys(STATUSES, 0))[status] += teachers
    return counts


async def refresh(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    on: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Evaluate every teacher whose stored status is not current for `on` and store the result;
    returns how many were evaluated. After a nightly run (`ler-plugin compliance refresh`), a
    day's requests evaluate only the teachers whose records or licences changed since."""
    on = on or dt.date.today()
    district = await _district(session, principal, district_id)
    ruleset, tag = await _ruleset_in_force(session, district, on)
    cs = ComplianceStatus
    changes = func.coalesce(cs.changes, 0).label("changes")
    current = and_(cs.evaluated_changes == cs.changes, cs.evaluated_on == on, cs.ruleset == tag)
    query = (
        _teachers(district_id)
        .where(Teacher.active.is_(True))
        .add_columns(changes)
        .outerjoin(cs, cs.teacher_id == Teacher.id)
        .where(or_(cs.teacher_id.is_(None), not_(current)))
    )
    total = (
        await session.scalar(select(func.count()).select_from(query.subquery())) if progress else 0
    ) or 0
    done = last = 0
    dialect = (await session.connection()).dialect.name
    while True:
        teachers = (
            await session.execute(query.where(Teacher.id > last).order_by(Teacher.id).limit(BATCH))
        ).all()
        if not teachers:
            return done
        last = teachers[-1].id
        evaluated = await _evaluate_batch(session, ruleset, teachers, on)
        rows = [
            {
                "teacher_id": c.teacher_id,
                "district_id": district_id,
                "school_id": c.school_id,
                "status": c.status,
                "evaluated_on": on,
                "ruleset": tag,
                "changes": t.changes,
                "evaluated_changes": t.changes,  # what this evaluation saw
            }
            for t, c in zip(teachers, evaluated, strict=True)
        ]
        statement = insert_for(dialect)(cs).values(rows)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["teacher_id"],
                set_={
                    name: statement.excluded[name]
                    for name in (
                        "school_id",
                        "status",
                        "evaluated_on",
                        "ruleset",
                        "evaluated_changes",
                    )
                },
            )
        )
        done += len(teachers)
        if progress:
            progress(done, total)
