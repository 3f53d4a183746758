"""District rollups: sums of shared records grouped by any of nine dimensions, for district staff.

Answers come from the smallest source that can give them exactly: the school spans (groups of
school, category, school year over a run of up to six whole school years), else the teacher-year
table (also by teacher, any whole school years), else the month cells (whole months), else the
records themselves; the first two need standing statuses and no provider filter. All agree.
Teachers are counted once per group (a distinct count: it cannot be added up across cells).
Only records the teacher shared with the district (visibility district or public) or that the
district issued (source lms_award) ever count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from ler_plugin.districts.models import School
from ler_plugin.pagination import Page, PageError, check_first, decode_cursor, encode_cursor
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import periods, summary
from ler_plugin.rollups.errors import RollupError
from ler_plugin.rollups.models import RollupCell, RollupSchoolSpan, RollupTeacherYear
from ler_plugin.wallet.models import Record, RecordStatus, Teacher, Wallet

DIMENSIONS = (
    "school",
    "category",
    "provider",
    "kind",
    "source",
    "teacher",
    "month",
    "quarter",
    "school_year",
)
INTEGER_DIMENSIONS = frozenset({"school", "teacher", "month", "quarter", "school_year"})
PERIOD_DIMENSIONS = frozenset({"month", "quarter", "school_year"})
# Column of the cell (and of `summary.record_columns`) each dimension groups on.
COLUMN = {"school": "school_id", "teacher": "teacher_id"}
# Unless a status filter says otherwise, rollups count what is still standing.
LIVE_STATUSES = summary.LIVE_STATUSES
YEAR_DIMENSIONS = frozenset({"school", "category", "teacher", "school_year"})
SPAN_DIMENSIONS = frozenset({"school", "category", "school_year"})
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class RollupQuery:
    by: tuple[str, ...]
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    schools: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class RollupRow:
    key: tuple[int | str, ...]
    labels: tuple[str, ...]
    records: int
    teachers: int
    clock_hours: Decimal
    ceus: Decimal
    hours_equivalent: Decimal
    by: tuple[str, ...] = field(default=())

    def suppressed(self, min_teachers: int) -> bool:
        """Small-cell suppression: a group of fewer than `min_teachers` teachers is masked."""
        return self.teachers < min_teachers


def parse_by(names: str | Sequence[str]) -> tuple[str, ...]:
    """Group-by names from "school,category" or a list; each known, none twice."""
    items = names.split(",") if isinstance(names, str) else list(names)
    by = tuple(name.strip().lower().replace("-", "_") for name in items if name.strip())
    for name in by:
        if name not in DIMENSIONS:
            raise RollupError(
                "bad_group_by",
                f"cannot group by {name!r}: choose from {', '.join(DIMENSIONS)}",
            )
    if len(set(by)) != len(by):
        raise RollupError("bad_group_by", "a dimension is named twice in the group-by")
    return by


def check_query(query: RollupQuery) -> RollupQuery:
    parse_by(query.by)
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise RollupError("bad_period", "the period starts after it ends")
    known = {s.value for s in RecordStatus}
    for status in query.statuses:
        if status not in known:
            raise RollupError(
                "bad_status", f"unknown status {status!r}: choose from {', '.join(sorted(known))}"
            )
    return query


def authorize(principal: Principal, district_id: int) -> None:
    """District staff of that district (or the operator) only."""
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)


def whole_months(query: RollupQuery) -> bool:
    return (query.date_from is None or periods.first_of_month(query.date_from)) and (
        query.date_to is None or periods.last_of_month(query.date_to)
    )


def whole_school_years(query: RollupQuery) -> bool:
    starts = query.date_from is None or (query.date_from.month, query.date_from.day) == (7, 1)
    ends = query.date_to is None or (query.date_to.month, query.date_to.day) == (6, 30)
    return starts and ends


def _span_years(query: RollupQuery) -> tuple[int, int] | None:
    """The run of school years a span row answers for, when the period is one."""
    if not (query.date_from and query.date_to and whole_school_years(query)):
        return None
    first = periods.school_year_key(query.date_from)
    last = periods.school_year_key(query.date_to)
    if last - first >= summary.MAX_SPAN or first not in summary.YEARS or last not in summary.YEARS:
        return None
    return first, last


def sources_for(query: RollupQuery) -> list[str]:
    """The sources that answer this query exactly, smallest first."""
    found = ["records"]
    if not whole_months(query):
        return found
    found.insert(0, "months")
    standing = not query.providers and set(query.statuses or LIVE_STATUSES) == set(LIVE_STATUSES)
    if not (standing and whole_school_years(query)):
        return found
    if set(query.by) <= YEAR_DIMENSIONS:
        found.insert(0, "years")
    # A category filter without grouping by category would count a teacher once per category.
    by_category_if_filtered = not query.categories or "category" in query.by
    if set(query.by) <= SPAN_DIMENSIONS and by_category_if_filtered and _span_years(query):
        found.insert(0, "spans")
    return found


def _span_statement(query: RollupQuery, district_id: int) -> Select[Any]:
    """Sums from the one-year rows; teachers from the rows of exactly the asked span (or of each
    year, grouping by school year), per category when grouping by it, else of category '*'."""
    span = _span_years(query)
    assert span is not None
    first, last = span
    sp = RollupSchoolSpan
    per_year = "school_year" in query.by
    by_category = "category" in query.by
    one_year = sp.first_year == sp.last_year
    where: list[ColumnElement[bool]] = [
        sp.district_id == district_id,
        sp.first_year >= first,
        sp.last_year <= last,
    ]
    if per_year:
        where.append(one_year)
    if by_category:
        where.append(sp.category != summary.ANY_CATEGORY)
    if query.schools:
        where.append(sp.school_id.in_(query.schools))
    if query.categories:
        where.append(sp.category.in_(query.categories))
    counted_span = one_year if per_year else and_(sp.first_year == first, sp.last_year == last)
    teacher_row = and_(
        counted_span,
        sp.category != summary.ANY_CATEGORY if by_category else sp.category == summary.ANY_CATEGORY,
    )
    sum_row = and_(one_year, sp.category != summary.ANY_CATEGORY)
    columns: dict[str, Any] = {
        "school": sp.school_id,
        "category": sp.category,
        "school_year": sp.first_year,
    }
    keys = [columns[name].label(f"g{i}") for i, name in enumerate(query.by)]
    records = func.sum(case((sum_row, sp.records), else_=0))
    return (
        select(
            *keys,
            records.label("records"),
            func.sum(case((teacher_row, sp.teachers), else_=0)).label("teachers"),
            *(
                func.sum(case((sum_row, getattr(sp, name)), else_=0)).label(name)
                for name in summary.SUMS[1:]
            ),
        )
        .where(*where)
        .group_by(*(k.element for k in keys))
        .having(records > 0)
    )


def _choose(query: RollupQuery, source: str | None) -> str:
    possible = sources_for(query)
    if source is None:
        return possible[0]
    if source not in possible:
        raise RollupError(
            "bad_source",
            f"the {source} source cannot answer this query (can: {', '.join(possible)})",
        )
    return source


def _source(query: RollupQuery, district_id: int, source: str) -> tuple[dict[str, Any], Any]:
    """The columns to group on and the measures, over a summary or the records, with the filters."""
    columns: dict[str, Any]
    if source == "years":
        columns = {c.name: c for c in RollupTeacherYear.__table__.columns}
        sums = {name: func.sum(columns[name]) for name in summary.SUMS}
        where: list[ColumnElement[bool]] = [RollupTeacherYear.district_id == district_id]
        if query.date_from:
            where.append(RollupTeacherYear.school_year >= periods.school_year_key(query.date_from))
        if query.date_to:
            where.append(RollupTeacherYear.school_year <= periods.school_year_key(query.date_to))
        base = select().select_from(RollupTeacherYear)
    elif source == "months":
        columns = {c.name: c for c in RollupCell.__table__.columns}
        sums = {name: func.sum(columns[name]) for name in summary.SUMS}
        where = [RollupCell.district_id == district_id]
        if query.date_from:
            where.append(RollupCell.month >= periods.month_key(query.date_from))
        if query.date_to:
            where.append(RollupCell.month <= periods.month_key(query.date_to))
        base = select().select_from(RollupCell)
    else:
        columns = summary.record_columns()
        sums = summary.record_sums()
        where = [Record.district_id == district_id, summary.shared_records()]
        if query.date_from:
            where.append(Record.completed_on >= query.date_from)
        if query.date_to:
            where.append(Record.completed_on <= query.date_to)
        base = select().select_from(Record).join(Wallet, Wallet.id == Record.wallet_id)
    filters = (
        ("school_id", query.schools),
        ("category", query.categories),
        ("provider", query.providers),
        ("status", () if source == "years" else query.statuses or LIVE_STATUSES),
    )
    for name, values in filters:
        if values:
            where.append(columns[name].in_(values))
    return {"columns": columns, "sums": sums, "where": where}, base


def statement(query: RollupQuery, district_id: int, *, source: str | None = None) -> Select[Any]:
    """The rollup as one SELECT: key columns g0..gn, then records, teachers and the three sums."""
    check_query(query)
    chosen = _choose(query, source)
    if chosen == "spans":
        return _span_statement(query, district_id)
    parts, base = _source(query, district_id, chosen)
    columns, sums = parts["columns"], parts["sums"]
    keys = [columns[COLUMN.get(name, name)].label(f"g{i}") for i, name in enumerate(query.by)]
    records = sums.pop("records")
    query_: Select[Any] = (
        base.add_columns(
            *keys,
            records.label("records"),
            func.count(columns["teacher_id"].distinct()).label("teachers"),
            *(s.label(n) for n, s in sums.items()),
        )
        .where(*parts["where"])
        .group_by(*(k.element for k in keys))
    )
    return query_


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(TWO_PLACES)


def _plain(value: Any) -> int | str:
    value = getattr(value, "value", value)
    return value if isinstance(value, int) else str(value)


async def _labels(
    session: AsyncSession, by: tuple[str, ...], keys: list[tuple[int | str, ...]]
) -> list[tuple[str, ...]]:
    names: dict[str, dict[int | str, str]] = {}
    for position, dimension in enumerate(by):
        ids = {key[position] for key in keys}
        if dimension == "school":
            rows = await session.execute(select(School.id, School.name).where(School.id.in_(ids)))
            names[dimension] = {0: "(no school)", **dict(rows.tuples().all())}
        elif dimension == "teacher":
            rows = await session.execute(
                select(Teacher.id, Teacher.display_name).where(Teacher.id.in_(ids))
            )
            names[dimension] = dict(rows.tuples().all())
    labels = []
    for key in keys:
        row = []
        for position, dimension in enumerate(by):
            value = key[position]
            if dimension in names:
                row.append(names[dimension].get(value, str(value)))
            elif dimension in PERIOD_DIMENSIONS:
                row.append(periods.label(dimension, int(value)))
            else:
                row.append(str(value) or "(none)")
        labels.append(tuple(row))
    return labels


async def _rows(session: AsyncSession, by: tuple[str, ...], raw: Sequence[Any]) -> list[RollupRow]:
    width = len(by)
    keys = [tuple(_plain(v) for v in row[:width]) for row in raw]
    labels = await _labels(session, by, keys)
    return [
        RollupRow(
            key=key,
            labels=label,
            records=int(row[width] or 0),
            teachers=int(row[width + 1] or 0),
            clock_hours=_decimal(row[width + 2]),
            ceus=_decimal(row[width + 3]),
            hours_equivalent=_decimal(row[width + 4]),
            by=by,
        )
        for key, label, row in zip(keys, labels, raw, strict=True)
    ]


def _after(by: tuple[str, ...], cursor: str) -> list[int | str]:
    values = decode_cursor(cursor, len(by))
    try:
        return [
            int(v) if d in INTEGER_DIMENSIONS else str(v) for d, v in zip(by, values, strict=True)
        ]
    except (TypeError, ValueError):
        raise PageError("bad_cursor", "the cursor is not one this server gave out") from None


async def rollup(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    query: RollupQuery,
    first: int = 50,
    after: str | None = None,
    source: str | None = None,
) -> Page[RollupRow]:
    """One page of groups in key order; `after` is the cursor of the last group seen."""
    authorize(principal, district_id)
    first = check_first(first)
    if not query.by:
        raise RollupError("bad_group_by", "name at least one dimension to group by")
    grouped = statement(query, district_id, source=source).subquery("grouped")
    keys = [grouped.c[f"g{i}"] for i in range(len(query.by))]
    page = select(grouped).order_by(*keys).limit(first + 1)
    if after:
        page = page.where(tuple_(*keys) > tuple_(*_after(query.by, after)))
    raw = (await session.execute(page)).all()
    rows = await _rows(session, query.by, raw[:first])
    return Page(
        items=rows,
        cursors=[encode_cursor(list(r.key)) for r in rows],
        has_next=len(raw) > first,
        total=len(rows),
    )


async def totals(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    query: RollupQuery,
    source: str | None = None,
) -> RollupRow:
    """The whole filtered set as one row (teachers counted once)."""
    authorize(principal, district_id)
    whole = RollupQuery(**{**query.__dict__, "by": ()})
    raw = (await session.execute(statement(whole, district_id, source=source))).all()
    if not raw:
        return RollupRow((), (), 0, 0, _decimal(0), _decimal(0), _decimal(0))
    return (await _rows(session, (), raw))[0]


async def stream(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    query: RollupQuery,
    chunk: int = 1000,
) -> AsyncIterator[list[RollupRow]]:
    """Every group in key order, a chunk at a time, read through a server-side cursor."""
    authorize(principal, district_id)
    if not query.by:
        raise RollupError("bad_group_by", "name at least one dimension to group by")
    grouped = statement(query, district_id).subquery("grouped")
    ordered = select(grouped).order_by(*(grouped.c[f"g{i}"] for i in range(len(query.by))))
    result = await session.stream(ordered.execution_options(yield_per=chunk))
    async for partition in result.partitions(chunk):
        yield await _rows(session, query.by, partition)
