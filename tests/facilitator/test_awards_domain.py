"""The award itself, in process: badge records, long LMS ids, who may award, input checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.courses import awards
from ler_plugin.courses.errors import CourseError
from ler_plugin.errors import Forbidden
from ler_plugin.lti import nrps
from ler_plugin.lti.models import Platform
from ler_plugin.principal import Principal, Role
from ler_plugin.wallet.models import Record, RecordKind, TeacherEmail
from tests import factories

LEARNER = ("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",)


def member(user_id: str, email: str | None = None) -> nrps.Member:
    return nrps.Member(user_id, f"Name {user_id[:8]}", None, None, email, LEARNER, "Active")


async def setup(session: AsyncSession) -> tuple[awards.Course, Principal]:
    district = await factories.district(session)
    platform = Platform(
        district_id=district.id,
        issuer=f"https://{factories.unique('lms')}.example",
        client_id="c",
        auth_login_url="https://lms.example/auth",
        auth_token_url="https://lms.example/token",
        jwks_url="https://lms.example/jwks",
    )
    session.add(platform)
    await session.flush()
    facilitator = await factories.teacher(session, district.id)
    principal = Principal(
        roles=frozenset({Role.TEACHER, Role.FACILITATOR}),
        district_id=district.id,
        teacher_id=facilitator.id,
        subject=f"teacher:{facilitator.id}",
        context={"platform_id": str(platform.id), "context_id": "x" * 200},
    )
    course = await awards.course_of(session=session, principal=principal)
    return course, principal


DATA = awards.AwardInput(
    title="Math talks", clock_hours=Decimal("2"), completed_on=dt.date(2026, 3, 1)
)


async def test_badge_and_long_ids(session: AsyncSession) -> None:
    course, principal = await setup(session)
    long_id = "u" * 250
    data = awards.AwardInput(**{**DATA.__dict__, "badge_name": "Number sense"})
    result = await awards.award(
        session=session, principal=principal, course=course, members=[member(long_id)], data=data
    )
    assert result.created == 1
    records = list(
        await session.scalars(
            select(Record).where(Record.district_id == course.platform.district_id)
        )
    )
    assert sorted(r.kind for r in records) == [RecordKind.BADGE, RecordKind.PD_HOURS]
    assert all(r.source_key and len(r.source_key) <= 128 for r in records)
    assert len({r.source_key for r in records}) == 2
    again = await awards.award(
        session=session, principal=principal, course=course, members=[member(long_id)], data=data
    )
    assert again.already == 1 and again.created == 0


async def test_a_known_verified_email_finds_the_teacher(session: AsyncSession) -> None:
    course, principal = await setup(session)
    known = await factories.teacher(
        session, course.platform.district_id, email="Known@School.example"
    )
    result = await awards.award(
        session=session,
        principal=principal,
        course=course,
        members=[member("new-sub", email="known@school.example")],
        data=DATA,
    )
    assert result.outcomes[0].teacher_id == known.id
    emails = await session.scalars(select(TeacherEmail).where(TeacherEmail.teacher_id == known.id))
    assert len(list(emails)) == 1


async def test_only_a_facilitator_of_this_district_awards(session: AsyncSession) -> None:
    course, principal = await setup(session)
    teacher = Principal.for_teacher(principal.teacher_id or 0, principal.district_id or 0)
    with pytest.raises(Forbidden):
        await awards.award(
            session=session, principal=teacher, course=course, members=[member("a")], data=DATA
        )
    other = await factories.district(session)
    stranger = Principal(
        roles=frozenset({Role.FACILITATOR}), district_id=other.id, context=principal.context
    )
    with pytest.raises(Forbidden):
        await awards.course_of(session=session, principal=stranger)
    outside = Principal(roles=frozenset({Role.FACILITATOR}), district_id=other.id)
    with pytest.raises(CourseError) as found:
        await awards.course_of(session=session, principal=outside)
    assert found.value.code == "no_course"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"title": "  "}, "bad_title"),
        ({"clock_hours": Decimal(0)}, "bad_clock_hours"),
        ({"clock_hours": Decimal("1.234")}, "bad_clock_hours"),
        ({"category": "astrology"}, "bad_category"),
        ({"completed_on": dt.date.today() + dt.timedelta(days=30)}, "bad_dates"),
    ],
)
def test_bad_input_is_named(change: dict[str, object], code: str) -> None:
    with pytest.raises(CourseError) as found:
        awards.check_input(awards.AwardInput(**{**DATA.__dict__, **change}))  # type: ignore[arg-type]
    assert found.value.code == code


async def test_nobody_selected(session: AsyncSession) -> None:
    course, principal = await setup(session)
    with pytest.raises(CourseError) as found:
        await awards.award(
            session=session, principal=principal, course=course, members=[], data=DATA
        )
    assert found.value.code == "nobody_selected"
