"""One person, however they arrive: `find_or_create_teacher`'s rules, on the real database,
including the same person arriving several times at once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.config import Settings
from ler_plugin.lti import service as lti
from ler_plugin.principal import Principal
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.models import Teacher, TeacherEmail, TeacherIdentity, Wallet
from tests import factories


async def _platform(session: AsyncSession, settings: Settings, district_id: int) -> int:
    issuer = f"https://{factories.unique('lms')}.example.org"
    platform = await lti.add_platform(
        session=session,
        settings=settings,
        principal=Principal.operator(),
        district_id=district_id,
        data=lti.PlatformInput(
            issuer=issuer,
            client_id="tool",
            auth_login_url=f"{issuer}/auth",
            auth_token_url=f"{issuer}/token",
            jwks_url=f"{issuer}/jwks",
        ),
    )
    return platform.id


def _lms(platform_id: int, sub: str) -> wallets.LmsIdentity:
    return wallets.LmsIdentity(platform_id, "https://lms.example.org", sub)


async def test_rules_in_order_identity_roster_then_email(
    session: AsyncSession, settings: Settings
) -> None:
    district = await factories.district(session)
    platform_id = await _platform(session, settings, district.id)

    imported = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("Ana Ruiz", email="Ana@Example.org", sourced_id="SIS-1"),
    )
    assert imported.created and imported.matched_by is None
    wallet = await session.scalar(select(Wallet).where(Wallet.teacher_id == imported.teacher.id))
    assert wallet is not None  # every teacher has exactly one

    # The LMS names the SIS id: the imported teacher, now with the LMS identity linked.
    launched = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("Ana R.", sourced_id="SIS-1", lms=_lms(platform_id, "sub-ana")),
    )
    assert (launched.teacher.id, launched.matched_by) == (imported.teacher.id, "roster")
    assert launched.teacher.display_name == "Ana Ruiz"  # names of a found teacher stay

    again = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("Ana", lms=_lms(platform_id, "sub-ana")),
    )
    assert (again.teacher.id, again.matched_by) == (imported.teacher.id, "lms")

    # No SIS id, a verified email another source vouched for: the same teacher.
    by_email = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("Bo", email="bo@example.org", sourced_id="SIS-2"),
    )
    other_lms = await _platform(session, settings, district.id)
    found = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("Bo", email="BO@example.org", lms=_lms(other_lms, "b")),
    )
    assert (found.teacher.id, found.matched_by) == (by_email.teacher.id, "email")


async def test_two_accounts_of_one_lms_are_two_people_whatever_email_they_claim(
    session: AsyncSession, settings: Settings
) -> None:
    district = await factories.district(session)
    platform_id = await _platform(session, settings, district.id)
    first = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("Cy", email="cy@example.org", lms=_lms(platform_id, "cy-1")),
    )
    second = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("Not Cy", email="cy@example.org", lms=_lms(platform_id, "cy-2")),
    )
    assert second.created and second.teacher.id != first.teacher.id
    holder = await session.scalar(
        select(TeacherEmail.teacher_id).where(TeacherEmail.email == "cy@example.org")
    )
    assert holder == first.teacher.id  # an address another teacher holds is never moved


async def test_keys_held_by_another_teacher_are_not_moved(session: AsyncSession) -> None:
    district = await factories.district(session)
    one = await wallets.find_or_create_teacher(
        session=session, district_id=district.id, person=wallets.Person("One", sourced_id="S-9")
    )
    two = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("Two", email="two@example.org"),
    )
    # The roster says Two's address belongs to S-9: S-9 is found, Two keeps the address.
    found = await wallets.find_or_create_teacher(
        session=session,
        district_id=district.id,
        person=wallets.Person("One", sourced_id="S-9", email="two@example.org"),
    )
    assert found.teacher.id == one.teacher.id
    assert await wallets.verified_emails(session, two.teacher.id) == ["two@example.org"]
    assert await wallets.verified_emails(session, one.teacher.id) == []


async def test_same_person_arriving_at_once_is_one_teacher(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with session_factory() as session, session.begin():
        district_id = (await factories.district(session)).id
        platform_id = await _platform(session, settings, district_id)
    person = wallets.Person(
        "Dee", email="dee@example.org", sourced_id="SIS-D", lms=_lms(platform_id, "dee")
    )

    async def arrive() -> tuple[int, bool]:
        async with session_factory() as session, session.begin():
            found = await wallets.find_or_create_teacher(
                session=session, district_id=district_id, person=person
            )
            return found.teacher.id, found.created

    results = await asyncio.gather(*(arrive() for _ in range(6)))
    assert len({teacher_id for teacher_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    async with session_factory() as session:
        teachers = await session.scalar(
            select(func.count()).select_from(Teacher).where(Teacher.district_id == district_id)
        )
        identities = await session.scalar(
            select(func.count())
            .select_from(TeacherIdentity)
            .where(TeacherIdentity.platform_id == platform_id)
        )
    assert (teachers, identities) == (1, 1)
