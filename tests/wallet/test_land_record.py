"""`land_record`: the one way a record arrives. Checked input, the district wall, a source key
that lands once (also when sent twice at once), the review state as a column, rollups in step."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.audit import AuditEvent
from ler_plugin.config import Settings
from ler_plugin.db import make_engine, make_session_factory
from ler_plugin.errors import Forbidden
from ler_plugin.principal import Principal
from ler_plugin.rollups.models import RollupCell
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import (
    Record,
    RecordKind,
    RecordSource,
    RecordStatus,
    ReviewState,
)
from tests import factories


def _input(**changes: object) -> wallets.RecordInput:
    values: dict[str, object] = {
        "kind": RecordKind.PD_HOURS,
        "title": "Reading workshop",
        "completed_on": dt.date(2026, 2, 3),
        "source": RecordSource.PROVIDER,
        "status": RecordStatus.VERIFIED,
        "clock_hours": Decimal("2.5"),
        "source_key": factories.unique("key"),
    }
    values.update(changes)
    return wallets.RecordInput(**values)  # type: ignore[arg-type]


async def test_lands_once_per_source_key_with_audit_and_rollups(session: AsyncSession) -> None:
    district = await factories.district(session)
    teacher = await factories.teacher(session, district.id)
    data = _input(review_note="hours read from the badge's description")
    first = await wallets.land_record(
        session=session, principal=Principal.operator(), teacher_id=teacher.id, data=data
    )
    again = await wallets.land_record(
        session=session, principal=Principal.operator(), teacher_id=teacher.id, data=data
    )
    assert first.created and not again.created and again.record.id == first.record.id
    assert (first.record.review, first.record.review_note) == (
        ReviewState.NEEDED,
        "hours read from the badge's description",
    )
    assert first.record.status_reason is None
    events = await session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.tag == "record:provider:create", AuditEvent.district_id == district.id)
    )
    assert events == 1
    hours = await session.scalar(
        select(func.sum(RollupCell.clock_hours)).where(RollupCell.teacher_id == teacher.id)
    )
    assert hours == Decimal("2.50")


async def test_checks_input_and_the_district(session: AsyncSession) -> None:
    district = await factories.district(session)
    other = await factories.district(session)
    teacher = await factories.teacher(session, district.id)
    with pytest.raises(WalletError) as bad:
        await wallets.land_record(
            session=session,
            principal=Principal.operator(),
            teacher_id=teacher.id,
            data=_input(clock_hours=Decimal("-1")),
        )
    assert bad.value.code == "bad_clock_hours"
    with pytest.raises(Forbidden):
        await wallets.land_record(
            session=session,
            principal=Principal.for_teacher(0, other.id),
            teacher_id=teacher.id,
            data=_input(),
        )
    assert not await session.scalar(
        select(func.count()).select_from(Record).where(Record.district_id == district.id)
    )


async def test_the_same_record_sent_at_once_lands_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        district_id = (await factories.district(session)).id
        teacher_id = (await factories.teacher(session, district_id)).id
    data = _input()

    async def send() -> bool:
        async with session_factory() as session, session.begin():
            landed = await wallets.land_record(
                session=session, principal=Principal.operator(), teacher_id=teacher_id, data=data
            )
            return landed.created

    created = await asyncio.gather(*(send() for _ in range(5)))
    assert sorted(created) == [False, False, False, False, True]
    async with session_factory() as session:
        count = await session.scalar(
            select(func.count()).select_from(Record).where(Record.district_id == district_id)
        )
    assert count == 1


async def test_an_engine_without_rollup_upkeep_refuses_record_writes(settings: Settings) -> None:
    """Upkeep is installed where an engine is made (`rollups.install`), not by importing a
    module: an engine nobody installed it on must not write records the summaries miss."""
    bare = make_engine(settings)
    try:
        async with make_session_factory(bare)() as session, session.begin():
            district = await factories.district(session)
            teacher = await factories.teacher(session, district.id)
            with pytest.raises(RuntimeError, match=r"rollups\.install"):
                await wallets.land_record(
                    session=session,
                    principal=Principal.operator(),
                    teacher_id=teacher.id,
                    data=_input(),
                )
            await session.rollback()
    finally:
        await bare.dispose()
