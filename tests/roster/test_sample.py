"""The shipped OneRoster sample is the demo district's roster: imported into the demo, it adopts
the demo's schools (by name) and teachers (by verified email) instead of duplicating them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ler_plugin import demo
from ler_plugin.principal import Principal
from ler_plugin.roster import service
from ler_plugin.wallet.models import SchoolMembership, Teacher
from tests.roster.cli import Install

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_sample_is_the_demo_districts_roster(district: Install) -> None:
    async with district.session() as session, session.begin():
        info = await demo.seed(session=session, settings=district.settings)
        result = await service.import_sample(
            session=session, principal=Principal.operator(), district_id=info.district_id
        )
    assert (result.schools.created, result.schools.updated) == (0, 3)
    assert (result.staff.created, result.staff.updated) == (3, 9)
    assert result.refused == []
    async with district.session() as session:
        teachers = list(
            await session.scalars(select(Teacher).where(Teacher.district_id == info.district_id))
        )
        assert len(teachers) == 12 and all(t.sourced_id for t in teachers)
        ana = next(t for t in teachers if t.display_name == "Ana Flores")
        assert ana.id == info.teacher_ids[0] and ana.staff_id == "E10001"
        schools = await session.scalar(
            select(func.count())
            .select_from(SchoolMembership)
            .where(SchoolMembership.teacher_id == ana.id)
        )
    assert schools == 1
    async with district.session() as session, session.begin():
        again = await service.import_sample(
            session=session, principal=Principal.operator(), district_id=info.district_id
        )
    assert (again.staff.created, again.staff.updated, again.staff.unchanged) == (0, 0, 12)
