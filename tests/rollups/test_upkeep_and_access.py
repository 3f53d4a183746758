"""Cells stay equal to the records through every kind of change; only the right people see them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.errors import Forbidden
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import service, summary
from ler_plugin.rollups.errors import RollupError
from ler_plugin.rollups.models import RollupCell, RollupSchoolSpan, RollupTeacherYear
from ler_plugin.rollups.service import RollupQuery
from ler_plugin.wallet.models import RecordSource, RecordStatus, Visibility
from tests import factories


def admin(district_id: int) -> Principal:
    return Principal(
        roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district_id, subject="admin"
    )


async def _cells(session: AsyncSession, district_id: int) -> set[tuple[Any, ...]]:
    """Both summaries of the district, as comparable tuples."""
    await session.flush()
    cells = await session.execute(select(RollupCell).where(RollupCell.district_id == district_id))
    years = await session.execute(
        select(RollupTeacherYear).where(RollupTeacherYear.district_id == district_id)
    )
    spans = await session.execute(
        select(RollupSchoolSpan).where(RollupSchoolSpan.district_id == district_id)
    )
    return (
        {
            ("span", *(getattr(r, k) for k in (*summary.SPAN_KEY, "teachers", *summary.SUMS)))
            for r in spans.scalars()
        }
        | {
            ("month", *(getattr(c, k) for k in (*summary.KEY, "school_id", *summary.SUMS)))
            for c in cells.scalars()
        }
        | {
            ("year", *(getattr(y, k) for k in (*summary.YEAR_KEY, "school_id", *summary.SUMS)))
            for y in years.scalars()
        }
    )


async def _assert_cells_equal_records(session: AsyncSession, district_id: int) -> None:
    kept = await _cells(session, district_id)
    await summary.rebuild_district(session=session, district_id=district_id)
    assert kept == await _cells(session, district_id)


async def test_cells_follow_inserts_status_visibility_changes_and_deletes(
    session: AsyncSession,
) -> None:
    district = await factories.district(session)
    teacher = await factories.teacher(session, district.id)
    records = [
        await factories.record(session, teacher, clock_hours="2", category="literacy"),
        await factories.record(session, teacher, clock_hours="3", category="literacy"),
        await factories.record(
            session, teacher, clock_hours=None, ceus="1.5", source=RecordSource.PROVIDER
        ),
        await factories.record(
            session,
            teacher,
            source=RecordSource.SELF_REPORT,
            status=RecordStatus.SUBMITTED,
            visibility=Visibility.PRIVATE,
        ),
    ]
    await _assert_cells_equal_records(session, district.id)
    # The two literacy awards share a month cell and a teacher-year row.
    assert len([c for c in await _cells(session, district.id) if c[0] != "span"]) == 4

    records[0].status = RecordStatus.REVOKED
    await _assert_cells_equal_records(session, district.id)
    records[2].visibility = Visibility.PRIVATE  # provider record hidden: leaves the rollups
    await _assert_cells_equal_records(session, district.id)
    records[3].visibility = Visibility.DISTRICT  # self report shared: joins them
    records[3].status = RecordStatus.APPROVED
    await _assert_cells_equal_records(session, district.id)
    records[1].completed_on = dt.date(2025, 1, 5)
    records[1].clock_hours = Decimal("4.5")
    await _assert_cells_equal_records(session, district.id)
    for record in records:
        await session.delete(record)
    await _assert_cells_equal_records(session, district.id)
    assert await _cells(session, district.id) == set()


async def test_private_records_never_count(session: AsyncSession) -> None:
    district = await factories.district(session)
    teacher = await factories.teacher(session, district.id)
    await factories.record(
        session, teacher, source=RecordSource.SELF_REPORT, visibility=Visibility.PRIVATE
    )
    await factories.record(
        session, teacher, source=RecordSource.PROVIDER, visibility=Visibility.PRIVATE
    )
    # Issued by the district: counts whatever the teacher chose.
    await factories.record(session, teacher, clock_hours="5", visibility=Visibility.PRIVATE)
    for source in ("years", "months", "records"):
        total = await service.totals(
            session=session,
            principal=admin(district.id),
            district_id=district.id,
            query=RollupQuery(by=()),
            source=source,
        )
        assert (total.records, total.teachers, total.clock_hours) == (1, 1, 5)


async def test_another_districts_admin_sees_nothing(session: AsyncSession) -> None:
    district = await factories.district(session)
    other = await factories.district(session)
    teacher = await factories.teacher(session, district.id)
    await factories.record(session, teacher)
    query = RollupQuery(by=("school",))
    for principal in (
        admin(other.id),
        Principal.for_teacher(teacher.id, district.id),
        Principal(roles=frozenset({Role.FACILITATOR}), district_id=district.id, subject="f"),
    ):
        with pytest.raises(Forbidden):
            await service.rollup(
                session=session, principal=principal, district_id=district.id, query=query
            )
    page = await service.rollup(
        session=session, principal=admin(other.id), district_id=other.id, query=query
    )
    assert page.items == []


@pytest.mark.parametrize("by", ["school,color", "teachers", "school,school", ""])
async def test_bad_group_by_names_get_a_clear_code(session: AsyncSession, by: str) -> None:
    district = await factories.district(session)
    with pytest.raises(RollupError) as caught:
        await service.rollup(
            session=session,
            principal=admin(district.id),
            district_id=district.id,
            query=RollupQuery(by=service.parse_by(by)),
        )
    assert caught.value.code == "bad_group_by"


async def test_bad_cursor_and_period(session: AsyncSession) -> None:
    district = await factories.district(session)
    with pytest.raises(RollupError) as caught:
        service.check_query(
            RollupQuery(by=("school",), date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 1, 1))
        )
    assert caught.value.code == "bad_period"
    with pytest.raises(Exception) as bad:
        await service.rollup(
            session=session,
            principal=admin(district.id),
            district_id=district.id,
            query=RollupQuery(by=("school",)),
            after="nonsense",
        )
    assert getattr(bad.value, "code", None) == "bad_cursor"
