"""A district's data goes out as JSON and comes back the same, all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from ler_plugin import backup
from ler_plugin.audit import AuditEvent
from ler_plugin.districts.models import District
from ler_plugin.errors import Forbidden
from ler_plugin.principal import Principal
from ler_plugin.wallet.models import Record
from tests import factories


async def test_backup_delete_restore_round_trip(session) -> None:  # type: ignore[no-untyped-def]
    district = await factories.district(session)
    teacher = await factories.teacher(
        session, district.id, name="Round Trip", email="rt@example.org"
    )
    await factories.record(session, teacher, title="Kept", clock_hours="2.25")
    other = await factories.district(session)
    other_teacher = await factories.teacher(session, other.id)
    await factories.record(session, other_teacher, title="Not part of it")

    document = await backup.backup(
        session=session, principal=Principal.operator(), slug=district.slug
    )
    tables = document["tables"]
    assert [r["title"] for r in tables["record"]] == ["Kept"]
    assert tables["record"][0]["clock_hours"] == "2.25"
    assert {r["email"] for r in tables["teacher_email"]} == {"rt@example.org"}
    assert "rate_counter" not in tables

    await session.execute(delete(District).where(District.id == district.id))
    await session.flush()
    counts = await backup.restore(
        session=session, principal=Principal.operator(), document=document
    )
    assert counts["record"] == 1
    restored = await session.scalar(select(Record).where(Record.district_id == district.id))
    assert restored is not None and restored.title == "Kept" and str(restored.clock_hours) == "2.25"
    again = await backup.backup(session=session, principal=Principal.operator(), slug=district.slug)
    without_audit = {k: v for k, v in again["tables"].items() if k != "audit_event"}
    assert without_audit == {k: v for k, v in tables.items() if k != "audit_event"}
    tags = await session.scalars(
        select(AuditEvent.tag).where(AuditEvent.district_id == district.id)
    )
    assert "district:backup:restore" in set(tags)


async def test_restore_refuses_existing_and_malformed(session) -> None:  # type: ignore[no-untyped-def]
    district = await factories.district(session)
    document = await backup.backup(
        session=session, principal=Principal.operator(), slug=district.slug
    )
    with pytest.raises(backup.BackupError) as exists:
        await backup.restore(session=session, principal=Principal.operator(), document=document)
    assert exists.value.code == "district_exists"
    for bad in ({}, {"format": "other"}, {"format": backup.FORMAT, "tables": {"nope": [1]}}):
        with pytest.raises(backup.BackupError) as refused:
            await backup.restore(session=session, principal=Principal.operator(), document=bad)
        assert refused.value.code == "bad_backup"


async def test_only_the_operator_backs_up(session) -> None:  # type: ignore[no-untyped-def]
    district = await factories.district(session)
    teacher = await factories.teacher(session, district.id)
    with pytest.raises(Forbidden):
        await backup.backup(
            session=session,
            principal=Principal.for_teacher(teacher.id, district.id),
            slug=district.slug,
        )
