"""Test data, one function per thing, each with unique names so tests never collide."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.config import Settings
from ler_plugin.districts import service as districts
from ler_plugin.districts.models import District
from ler_plugin.lti import service as lti
from ler_plugin.principal import Principal
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.models import (
    Record,
    RecordKind,
    RecordSource,
    RecordStatus,
    Teacher,
    TeacherEmail,
    Visibility,
)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def district(session: AsyncSession, state: str = "TX") -> District:
    slug = unique("d")
    return await districts.create(
        session=session,
        principal=Principal.operator(),
        slug=slug,
        name=f"District {slug}",
        state=state,
    )


async def district_with_platform(
    factory: async_sessionmaker[AsyncSession], settings: Settings, data: lti.PlatformInput
) -> int:
    """A new district with an LMS registered for it by the operator (committed): its id."""
    async with factory() as session, session.begin():
        made = await district(session)
        await lti.add_platform(
            session=session,
            settings=settings,
            principal=Principal.operator(),
            district_id=made.id,
            data=data,
        )
        return made.id


async def teacher(
    session: AsyncSession, district_id: int, name: str = "Pat Teacher", email: str | None = None
) -> Teacher:
    found = (
        await wallets.find_or_create_teacher(
            session=session, district_id=district_id, person=wallets.Person(display_name=name)
        )
    ).teacher
    if email:
        session.add(
            TeacherEmail(
                district_id=district_id, teacher_id=found.id, email=email.lower(), verified=True
            )
        )
        await session.flush()
    return found


async def record(
    session: AsyncSession,
    teacher: Teacher,
    *,
    title: str = "Workshop",
    completed_on: dt.date | None = None,
    clock_hours: str | None = "3",
    ceus: str | None = None,
    kind: RecordKind = RecordKind.PD_HOURS,
    status: RecordStatus = RecordStatus.APPROVED,
    source: RecordSource = RecordSource.LMS_AWARD,
    visibility: Visibility = Visibility.DISTRICT,
    category: str | None = None,
) -> Record:
    landed = await wallets.land_record(
        session=session,
        principal=Principal.operator(),
        teacher_id=teacher.id,
        data=wallets.RecordInput(
            kind=kind,
            title=title,
            completed_on=completed_on or dt.date(2026, 3, 1),
            source=source,
            status=status,
            clock_hours=Decimal(clock_hours) if clock_hours else None,
            ceus=Decimal(ceus) if ceus else None,
            visibility=visibility,
            category=category,
        ),
    )
    return landed.record
