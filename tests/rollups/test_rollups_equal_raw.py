"""Every rollup grouping equals a plain Python computation over the raw records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import service
from ler_plugin.rollups.service import RollupQuery
from ler_plugin.seed import seed
from tests import factories
from tests.rollups import reference

TODAY = dt.date(2026, 11, 15)
BY = [
    ("school",),
    ("category",),
    ("provider",),
    ("kind",),
    ("source",),
    ("teacher",),
    ("month",),
    ("quarter",),
    ("school_year",),
    ("school", "category"),
    ("provider", "kind", "source", "quarter"),
    ("teacher", "school_year", "category"),
]


def admin(district_id: int) -> Principal:
    return Principal(
        roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district_id, subject="admin"
    )


async def _everything(
    session: AsyncSession, district_id: int, query: RollupQuery, source: str | None
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    rows: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    after = None
    while True:
        page = await service.rollup(
            session=session,
            principal=admin(district_id),
            district_id=district_id,
            query=query,
            first=100,
            after=after,
            source=source,
        )
        for row in page.items:
            rows[row.key] = (
                row.records,
                row.teachers,
                row.clock_hours,
                row.ceus,
                row.hours_equivalent,
            )
        if not page.has_next:
            return rows
        after = page.cursors[-1]


async def _seeded(session: AsyncSession) -> int:
    report = await seed(
        session=session, slug=factories.unique("seed"), teachers=60, years=2, today=TODAY
    )
    assert report.records > 1000
    return report.district_id


@pytest.mark.parametrize("by", BY, ids=lambda by: "+".join(by))
async def test_each_grouping_equals_python_over_raw_records(
    session: AsyncSession, by: tuple[str, ...]
) -> None:
    district_id = await _seeded(session)
    raw = await reference.raw_records(session, district_id)
    expected = reference.rollup(raw, by)
    assert len(expected) > 1
    query = RollupQuery(by=by)
    sources = service.sources_for(query)
    assert sources[-2:] == ["months", "records"]
    for source in sources:
        got = await _everything(session, district_id, query, source)
        assert got == expected, source


async def test_filters_and_periods_equal_python(session: AsyncSession) -> None:
    district_id = await _seeded(session)
    raw = await reference.raw_records(session, district_id)
    schools = {r.school for r in raw}
    one_school = min(schools)
    cases = [
        # whole months: read from the cells
        dict(date_from=dt.date(2025, 7, 1), date_to=dt.date(2026, 6, 30)),
        # mid-month edges: read from the records
        dict(date_from=dt.date(2025, 3, 14), date_to=dt.date(2026, 2, 10)),
        dict(statuses={"rejected", "revoked"}),
        dict(categories={"literacy", "stem"}, schools={one_school}),
    ]
    for case in cases:
        query = RollupQuery(
            by=("school", "category", "month"),
            date_from=case.get("date_from"),  # type: ignore[arg-type]
            date_to=case.get("date_to"),  # type: ignore[arg-type]
            statuses=tuple(sorted(case.get("statuses", ()))),  # type: ignore[call-overload]
            categories=tuple(sorted(case.get("categories", ()))),  # type: ignore[call-overload]
            schools=tuple(case.get("schools", ())),  # type: ignore[call-overload]
        )
        expected = reference.rollup(raw, query.by, **case)  # type: ignore[arg-type]
        assert expected
        for source in service.sources_for(query):
            got = await _everything(session, district_id, query, source)
            assert got == expected, (case, source)
    # Whole school years: the school spans and the teacher-year table answer too.
    groupings = [
        ("school", "category"),
        ("school",),
        ("category",),
        ("school_year",),
        ("school", "category", "school_year"),
    ]
    for by in groupings:
        for start in (2024, 2025):
            query = RollupQuery(by=by, date_from=dt.date(start, 7, 1), date_to=dt.date(2026, 6, 30))
            assert service.sources_for(query) == ["spans", "years", "months", "records"]
            expected = reference.rollup(raw, by, date_from=query.date_from, date_to=query.date_to)
            for source in service.sources_for(query):
                got = await _everything(session, district_id, query, source)
                assert got == expected, (by, start, source)
    one_school = RollupQuery(
        by=("category",),
        date_from=dt.date(2024, 7, 1),
        date_to=dt.date(2026, 6, 30),
        schools=(one_school,),
    )
    expected = reference.rollup(
        raw,
        ("category",),
        date_from=one_school.date_from,
        date_to=one_school.date_to,
        schools={one_school.schools[0]},
    )
    assert await _everything(session, district_id, one_school, "spans") == expected
