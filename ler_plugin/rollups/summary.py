"""Summary upkeep: every change to a record moves its credit in the summaries, in the same
transaction.

A record counts toward district rollups when the teacher shared it (visibility district or public)
or the district issued it (source lms_award). Three summaries (see `rollups.models`): month cells
keyed (teacher, month, category, provider, kind, source, status); teacher-year rows of standing
credit; and school spans, which keep distinct-teacher counts per run of school years. An insert
adds a record's facts, a delete takes them away, an update takes the old facts away and adds the
new ones. ORM flushes of `Record` do this through mapper events that `install(engine)` registers
where the engine is made (nothing happens on import), so every service that writes records through
the session (`wallet.service.land_record` and the status changes) keeps the summaries right
without knowing about them. Core bulk
statements (`insert(Record)`, `update(Record)`) bypass the events: the seed sums its batches in
SQL itself, and anything else that writes in bulk calls `rebuild_teacher` or `rebuild_district`.
A teacher's school is taken when a record is written: after a school change, `rebuild_teacher`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    and_,
    case,
    cast,
    delete,
    event,
    extract,
    func,
    insert,
    inspect,
    literal,
    select,
    union_all,
)
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ler_plugin.db import insert_for
from ler_plugin.rollups.models import (
    ComplianceStatus,
    RollupCell,
    RollupSchoolSpan,
    RollupTeacherYear,
)
from ler_plugin.rollups.periods import month_key, quarter_key, school_year_key
from ler_plugin.wallet.models import (
    License,
    Record,
    RecordSource,
    RecordStatus,
    SchoolMembership,
    Teacher,
    Visibility,
    Wallet,
)

# IACET: one CEU is ten contact hours. Rollups add both units up as hours-equivalent.
HOURS_PER_CEU = Decimal(10)
SHARED = (Visibility.DISTRICT.value, Visibility.PUBLIC.value)
ZERO = Decimal("0.00")

KEY = ("teacher_id", "month", "category", "provider", "kind", "source", "status")
YEAR_KEY = ("teacher_id", "school_year", "category")
SUMS = ("records", "clock_hours", "ceus", "hours_equivalent")
SPAN_KEY = ("district_id", "first_year", "last_year", "school_id", "category")
# School-level spans: every run of up to MAX_SPAN school years in YEARS keeps its teacher count
# (renewal cycles run three to five years).
MAX_SPAN = 6
YEARS = range(1990, 2061)
ANY_CATEGORY = "*"
# What still stands; the teacher-year table holds only these.
LIVE_STATUSES = tuple(
    s.value
    for s in RecordStatus
    if s not in (RecordStatus.REJECTED, RecordStatus.REVOKED, RecordStatus.EXPIRED)
)


@dataclass(frozen=True)
class Facts:
    """What a record contributes to its cell."""

    district_id: int
    wallet_id: int
    completed_on: Any
    category: str
    provider: str
    kind: str
    source: str
    status: str
    clock_hours: Decimal
    ceus: Decimal


def counts(visibility: str, source: str) -> bool:
    return visibility in SHARED or source == RecordSource.LMS_AWARD.value


def hours_equivalent(clock_hours: Decimal, ceus: Decimal) -> Decimal:
    return clock_hours + ceus * HOURS_PER_CEU


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def record_facts(values: dict[str, Any]) -> Facts | None:
    if not counts(_value(values["visibility"]), _value(values["source"])):
        return None
    return Facts(
        district_id=values["district_id"],
        wallet_id=values["wallet_id"],
        completed_on=values["completed_on"],
        category=values["category"] or "",
        provider=values["provider_name"] or "",
        kind=_value(values["kind"]),
        source=_value(values["source"]),
        status=_value(values["status"]),
        clock_hours=Decimal(values["clock_hours"] or 0),
        ceus=Decimal(values["ceus"] or 0),
    )


FIELDS = (
    "district_id",
    "wallet_id",
    "completed_on",
    "category",
    "provider_name",
    "kind",
    "source",
    "status",
    "visibility",
    "clock_hours",
    "ceus",
)


def cell_row(facts: Facts, teacher_id: int, school_id: int, sign: int = 1) -> dict[str, Any]:
    day = facts.completed_on
    return {
        "district_id": facts.district_id,
        "teacher_id": teacher_id,
        "school_id": school_id,
        "month": month_key(day),
        "quarter": quarter_key(day),
        "school_year": school_year_key(day),
        "category": facts.category,
        "provider": facts.provider,
        "kind": facts.kind,
        "source": facts.source,
        "status": facts.status,
        "records": sign,
        "clock_hours": sign * facts.clock_hours,
        "ceus": sign * facts.ceus,
        "hours_equivalent": sign * hours_equivalent(facts.clock_hours, facts.ceus),
    }


def year_row(cell: dict[str, Any]) -> dict[str, Any] | None:
    """The teacher-year row a month cell row adds to (None when its status does not stand)."""
    if cell["status"] not in LIVE_STATUSES:
        return None
    keep = ("district_id", "teacher_id", "school_id", "school_year", "category", *SUMS)
    return {name: cell[name] for name in keep}


def school_of(teacher_id: Any) -> Any:
    """The teacher's primary school (the oldest primary membership, else the oldest one), as SQL."""
    return (
        select(SchoolMembership.school_id)
        .where(SchoolMembership.teacher_id == teacher_id)
        .order_by(SchoolMembership.primary.desc(), SchoolMembership.id)
        .limit(1)
        .scalar_subquery()
    )


def _keys(table: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if table is RollupCell:
        return KEY, SUMS
    if table is RollupTeacherYear:
        return YEAR_KEY, SUMS
    return SPAN_KEY, ("teachers", *SUMS)


def _adding(table: Any, statement: Any) -> Any:
    key, sums = _keys(table)
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: getattr(table, name) + statement.excluded[name] for name in sums},
    )


def upsert(dialect: str, rows: list[dict[str, Any]], table: Any = RollupCell) -> Any:
    """INSERT the rows, adding onto ones that exist (PostgreSQL and SQLite share the syntax)."""
    return _adding(table, insert_for(dialect)(table).values(rows))


def spans_containing(year: int) -> list[tuple[int, int]]:
    return [
        (first, last)
        for first in range(year - MAX_SPAN + 1, year + 1)
        for last in range(year, first + MAX_SPAN)
        if first in YEARS and last in YEARS
    ]


def _teacher_years(
    connection: Connection, teacher_id: int, category: str
) -> tuple[set[int], set[int]]:
    """The school years in which a teacher has live credit: in `category`, and in any."""
    rows = connection.execute(
        select(RollupTeacherYear.school_year, RollupTeacherYear.category).where(
            RollupTeacherYear.teacher_id == teacher_id
        )
    ).all()
    return {y for y, c in rows if c == category}, {y for y, _ in rows}


def _span_rows(
    year: dict[str, Any], before: tuple[set[int], set[int]], after: tuple[set[int], set[int]]
) -> list[dict[str, Any]]:
    """The span rows a change of one teacher-year row moves: its year's sums, and the teacher
    counts of every span whose 'has credit in it' answer changed for this teacher."""
    common = {"district_id": year["district_id"], "school_id": year["school_id"]}
    rows: dict[tuple[str, int, int], dict[str, Any]] = {}

    def row(category: str, first: int, last: int) -> dict[str, Any]:
        found = rows.get((category, first, last))
        if found is None:
            found = rows[(category, first, last)] = {
                **common,
                "category": category,
                "first_year": first,
                "last_year": last,
                "teachers": 0,
                **dict.fromkeys(SUMS, 0),
            }
        return found

    if year["school_year"] in YEARS:
        sums = row(year["category"], year["school_year"], year["school_year"])
        for name in SUMS:
            sums[name] = year[name]
    for category, was, now in (
        (year["category"], before[0], after[0]),
        (ANY_CATEGORY, before[1], after[1]),
    ):
        if was == now:
            continue
        for first, last in spans_containing(year["school_year"]):
            delta = any(first <= y <= last for y in now) - any(first <= y <= last for y in was)
            if delta:
                row(category, first, last)["teachers"] = delta
    return list(rows.values())


def _apply(connection: Connection, facts: Facts, sign: int) -> None:
    teacher_id, school_id = connection.execute(
        select(Wallet.teacher_id, func.coalesce(school_of(Wallet.teacher_id), 0)).where(
            Wallet.id == facts.wallet_id
        )
    ).one()
    row = cell_row(facts, teacher_id, school_id, sign)
    _write(connection, RollupCell, [row])
    year = year_row(row)
    if year:
        before = _teacher_years(connection, teacher_id, year["category"])
        _write(connection, RollupTeacherYear, [year])
        after = _teacher_years(connection, teacher_id, year["category"])
        _write(connection, RollupSchoolSpan, _span_rows(year, before, after))


def _write(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Add the rows on; rows left with nothing in them go, so summaries equal a rebuild."""
    if not rows:
        return
    connection.execute(upsert(connection.dialect.name, rows, table))
    key, sums = _keys(table)
    for values in rows:
        if all(values[name] >= 0 for name in sums):
            continue  # nothing taken away: nothing can have reached zero
        connection.execute(
            delete(table).where(
                and_(*(getattr(table, k) == values[k] for k in key)),
                *(getattr(table, name) == 0 for name in sums),
            )
        )


def _current(target: Record) -> dict[str, Any]:
    return {name: getattr(target, name) for name in FIELDS}


def _previous(target: Record) -> dict[str, Any]:
    state = inspect(target)
    values = {}
    for name in FIELDS:
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else getattr(target, name)
    return values


def changed(dialect: str, teachers: Any) -> Any:
    """Bump `compliance_status.changes` for the teachers `teachers` selects (a SELECT of teacher
    ids), creating their rows when missing: their stored compliance is no longer current."""
    source = select(Teacher.id, Teacher.district_id, literal(1)).where(Teacher.id.in_(teachers))
    statement = insert_for(dialect)(ComplianceStatus).from_select(
        ["teacher_id", "district_id", "changes"], source
    )
    return statement.on_conflict_do_update(
        index_elements=["teacher_id"], set_={"changes": ComplianceStatus.changes + 1}
    )


def _teacher_changed(connection: Connection, teachers: Any) -> None:
    connection.execute(changed(connection.dialect.name, teachers))


def _wallet_changed(connection: Connection, *wallet_ids: int) -> None:
    _teacher_changed(connection, select(Wallet.teacher_id).where(Wallet.id.in_(set(wallet_ids))))


def _on_kept_engine(connection: Connection) -> None:
    if connection.engine not in _kept:
        raise RuntimeError(
            "a record, licence, school or teacher was written through an engine whose rollup "
            "upkeep is not installed: call ler_plugin.rollups.install(engine) where it is made"
        )


def _record_inserted(_mapper: Any, connection: Connection, target: Record) -> None:
    _on_kept_engine(connection)
    facts = record_facts(_current(target))
    if facts:
        _apply(connection, facts, +1)
    _wallet_changed(connection, target.wallet_id)


def _record_updated(_mapper: Any, connection: Connection, target: Record) -> None:
    _on_kept_engine(connection)
    previous = _previous(target)
    _wallet_changed(connection, previous["wallet_id"], target.wallet_id)
    before, after = record_facts(previous), record_facts(_current(target))
    if before == after:
        return
    if before:
        _apply(connection, before, -1)
    if after:
        _apply(connection, after, +1)


def _record_deleted(_mapper: Any, connection: Connection, target: Record) -> None:
    _on_kept_engine(connection)
    facts = record_facts(_previous(target))
    if facts:
        _apply(connection, facts, -1)
    _wallet_changed(connection, target.wallet_id)


def _teacher_fact_changed(_mapper: Any, connection: Connection, target: Any) -> None:
    """What else a teacher's compliance depends on: their licences and schools."""
    _on_kept_engine(connection)
    _teacher_changed(connection, select(literal(target.teacher_id)))


def _teacher_updated(_mapper: Any, connection: Connection, target: Teacher) -> None:
    _on_kept_engine(connection)
    if inspect(target).attrs.birth_month.history.has_changes():
        _teacher_changed(connection, select(literal(target.id)))


_LISTENERS: tuple[tuple[type[Any], str, Any], ...] = (
    (Record, "after_insert", _record_inserted),
    (Record, "after_update", _record_updated),
    (Record, "after_delete", _record_deleted),
    *(
        (model, change, _teacher_fact_changed)
        for model in (License, SchoolMembership)
        for change in ("after_insert", "after_update", "after_delete")
    ),
    (Teacher, "after_update", _teacher_updated),
)
_kept: weakref.WeakSet[Engine] = weakref.WeakSet()


def install(engine: AsyncEngine) -> AsyncEngine:
    """Keep the summaries and compliance counters in step with every ORM write of records,
    licences, schools and birth months through `engine`, in the writing transaction.

    Called once where an engine is made (the app, the CLI's session, the tests); the listeners
    are registered with the first call. A write of those rows through an engine nobody installed
    the upkeep on is refused (RuntimeError): summaries that silently miss a write are wrong."""
    for model, change, listener in _LISTENERS:
        if not event.contains(model, change, listener):
            event.listen(model, change, listener)
    _kept.add(engine.sync_engine)
    return engine


def record_columns() -> dict[str, Any]:
    """A record's cell key as SQL over `record` joined to `wallet`: the same values `cell_row` makes."""
    year = cast(extract("year", Record.completed_on), Integer)
    month = cast(extract("month", Record.completed_on), Integer)
    return {
        "district_id": Record.district_id,
        "teacher_id": Wallet.teacher_id,
        "school_id": func.coalesce(school_of(Wallet.teacher_id), 0),
        "month": year * 100 + month,
        "quarter": year * 10 + (month + 2) // 3,
        "school_year": year - case((month < 7, 1), else_=0),
        "category": func.coalesce(Record.category, ""),
        "provider": func.coalesce(Record.provider_name, ""),
        "kind": Record.kind,
        "source": Record.source,
        "status": Record.status,
    }


def record_sums() -> dict[str, Any]:
    clock = func.coalesce(Record.clock_hours, 0)
    ceus = func.coalesce(Record.ceus, 0)
    return {
        "records": func.count(),
        "clock_hours": func.sum(clock),
        "ceus": func.sum(ceus),
        "hours_equivalent": func.sum(clock + ceus * literal(HOURS_PER_CEU)),
    }


def shared_records() -> Any:
    """Records district rollups may count: shared with the district, or issued by it."""
    return Record.visibility.in_(SHARED) | (Record.source == RecordSource.LMS_AWARD)


def cells_from_records(where: Any) -> Any:
    """INSERT ... SELECT of the cells of the records matching `where` (one statement, in SQL)."""
    columns = record_columns()
    grouped = list(columns.values())
    query = (
        select(*grouped, *record_sums().values())
        .join(Wallet, Wallet.id == Record.wallet_id)
        .where(shared_records(), where)
        .group_by(*grouped)
    )
    return insert(RollupCell).from_select([*columns, *SUMS], query)


def years_from_cells(where: Any) -> Any:
    """INSERT ... SELECT of the teacher-year rows from the month cells matching `where`."""
    keys = [
        RollupCell.district_id,
        RollupCell.teacher_id,
        RollupCell.school_id,
        RollupCell.school_year,
        RollupCell.category,
    ]
    query = (
        select(*keys, *(func.sum(getattr(RollupCell, name)) for name in SUMS))
        .where(RollupCell.status.in_(LIVE_STATUSES), where)
        .group_by(*keys)
    )
    return insert(RollupTeacherYear).from_select(
        ["district_id", "teacher_id", "school_id", "school_year", "category", *SUMS], query
    )


def spans_from_years(dialect: str, where: Any, sign: int = 1) -> list[Any]:
    """Statements adding (sign 1) or taking away (-1) the span rows of the teacher-year rows
    matching `where`: sums per school year, distinct teachers per span of school years.
    Counts of distinct teachers add up across disjoint sets of teachers, so batches may add."""
    # Every span containing a year, as offsets back and ahead of it (portable: no VALUES lists).
    offsets = union_all(
        *(
            select(literal(back).label("back"), literal(ahead).label("ahead"))
            for back in range(MAX_SPAN)
            for ahead in range(MAX_SPAN - back)
        )
    ).subquery("offsets")
    ty = RollupTeacherYear
    first_year = ty.school_year - offsets.c.back
    last_year = ty.school_year + offsets.c.ahead
    statements = []
    sums = (
        select(
            ty.district_id,
            ty.school_id,
            ty.category,
            ty.school_year,
            ty.school_year,
            literal(0),
            *(sign * func.sum(getattr(ty, name)) for name in SUMS),
        )
        .where(where, ty.school_year.between(YEARS.start, YEARS.stop - 1))
        .group_by(ty.district_id, ty.school_id, ty.category, ty.school_year)
    )
    statements.append(sums)
    for category in (ty.category, literal(ANY_CATEGORY)):
        keys = (ty.district_id, ty.school_id, category, first_year, last_year)
        statements.append(
            select(
                *keys,
                sign * func.count(ty.teacher_id.distinct()),
                *(literal(0) for _ in SUMS),
            )
            .select_from(ty)
            .join(offsets, literal(True))
            .where(where, first_year >= YEARS.start, last_year <= YEARS.stop - 1)
            .group_by(*keys)
        )
    columns = ["district_id", "school_id", "category", "first_year", "last_year", "teachers", *SUMS]
    return [
        _adding(
            RollupSchoolSpan,
            insert_for(dialect)(RollupSchoolSpan).from_select(columns, query),
        )
        for query in statements
    ]


async def _spans(session: AsyncSession, where: Any, sign: int) -> None:
    dialect = (await session.connection()).dialect.name
    for statement in spans_from_years(dialect, where, sign):
        await session.execute(statement)
    await session.execute(
        delete(RollupSchoolSpan).where(
            *(getattr(RollupSchoolSpan, name) == 0 for name in ("teachers", *SUMS))
        )
    )


async def rebuild_teacher(*, session: AsyncSession, teacher_id: int) -> None:
    """Recompute one teacher's cells from their records (after a school change or a bulk write)."""
    await session.flush()
    await _spans(session, RollupTeacherYear.teacher_id == teacher_id, -1)
    for table in (RollupCell, RollupTeacherYear):
        await session.execute(delete(table).where(table.teacher_id == teacher_id))
    wallet_ids = select(Wallet.id).where(Wallet.teacher_id == teacher_id)
    await session.execute(cells_from_records(Record.wallet_id.in_(wallet_ids)))
    await session.execute(years_from_cells(RollupCell.teacher_id == teacher_id))
    await _spans(session, RollupTeacherYear.teacher_id == teacher_id, 1)
    dialect = (await session.connection()).dialect.name
    await session.execute(changed(dialect, select(literal(teacher_id))))


async def rebuild_district(*, session: AsyncSession, district_id: int) -> None:
    """Recompute every summary of a district from its records, in a few INSERT ... SELECTs."""
    await session.flush()
    for table in (RollupCell, RollupTeacherYear, RollupSchoolSpan):
        await session.execute(delete(table).where(table.district_id == district_id))
    await session.execute(cells_from_records(Record.district_id == district_id))
    await session.execute(years_from_cells(RollupCell.district_id == district_id))
    await _spans(session, RollupTeacherYear.district_id == district_id, 1)
    dialect = (await session.connection()).dialect.name
    await session.execute(
        changed(dialect, select(Teacher.id).where(Teacher.district_id == district_id))
    )
