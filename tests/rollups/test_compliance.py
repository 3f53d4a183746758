"""Compliance over the database: the right records reach the engine, the right people ask."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin import credit
from ler_plugin.districts.models import District
from ler_plugin.errors import Forbidden
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import compliance, summary
from ler_plugin.rollups.errors import RollupError
from ler_plugin.rollups.models import ComplianceStatus
from ler_plugin.seed import seed
from ler_plugin.wallet.models import License, RecordSource, RecordStatus, Teacher, Visibility
from tests import factories

ON = dt.date(2026, 3, 15)


def admin(district_id: int) -> Principal:
    return Principal(
        roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district_id, subject="admin"
    )


async def test_teacher_compliance_counts_shared_live_records(session: AsyncSession) -> None:
    district = await factories.district(session, state="IL")
    teacher = await factories.teacher(session, district.id)
    session.add(
        License(
            teacher_id=teacher.id,
            state="IL",
            credential_class="teaching",
            issued_on=dt.date(2021, 7, 1),
            primary=True,
        )
    )
    counted = await factories.record(
        session, teacher, clock_hours="10", completed_on=dt.date(2025, 9, 1)
    )
    private = await factories.record(
        session,
        teacher,
        clock_hours="5",
        source=RecordSource.SELF_REPORT,
        visibility=Visibility.PRIVATE,
        completed_on=dt.date(2025, 9, 2),
    )
    expired = await factories.record(
        session,
        teacher,
        clock_hours="7",
        status=RecordStatus.EXPIRED,
        completed_on=dt.date(2025, 9, 3),
    )
    unverified = await factories.record(
        session,
        teacher,
        clock_hours="4",
        source=RecordSource.SELF_REPORT,
        status=RecordStatus.SUBMITTED,
        completed_on=dt.date(2025, 9, 4),
    )
    mine = Principal.for_teacher(teacher.id, district.id)
    result = await compliance.teacher_compliance(
        session=session, principal=mine, teacher_id=teacher.id, on=ON
    )
    assert result.result is not None
    assert result.result.earned == Decimal("10")
    assert dict(result.withheld) == {str(private.id): "not_shared", str(expired.id): "expired"}
    assert result.result.outcome(str(counted.id)).reason == "counted"
    assert result.result.outcome(str(unverified.id)).reason == "not_verified"
    # The same answer the engine gives on the same facts.
    engine = credit.evaluate(
        credit.load_ruleset("il"),
        credit.TeacherFacts(
            credentials=(credit.Credential("teaching", dt.date(2021, 7, 1), primary=True),)
        ),
        [
            credit.CreditRecord(
                str(counted.id),
                "pd_hours",
                "lms_award",
                "approved",
                dt.date(2025, 9, 1),
                Decimal("10"),
            ),
            credit.CreditRecord(
                str(unverified.id),
                "pd_hours",
                "self_report",
                "submitted",
                dt.date(2025, 9, 4),
                Decimal("4"),
            ),
        ],
        on=ON,
    )
    assert (engine.status, engine.required, engine.earned, engine.remaining) == (
        result.result.status,
        result.result.required,
        result.result.earned,
        result.result.remaining,
    )
    # District staff of that district may ask; others may not.
    same = await compliance.teacher_compliance(
        session=session, principal=admin(district.id), teacher_id=teacher.id, on=ON
    )
    assert same.status == result.status
    other = await factories.district(session)
    for principal in (admin(other.id), Principal.for_teacher(teacher.id + 1000, district.id)):
        with pytest.raises(Forbidden):
            await compliance.teacher_compliance(
                session=session, principal=principal, teacher_id=teacher.id, on=ON
            )


async def test_district_list_filters_and_pages_like_single_evaluations(
    session: AsyncSession,
) -> None:
    report = await seed(
        session=session, slug=factories.unique("c"), teachers=40, years=3, state="TX", today=ON
    )
    principal = admin(report.district_id)
    everyone = []
    after = None
    while True:
        page = await compliance.district_compliance(
            session=session,
            principal=principal,
            district_id=report.district_id,
            on=ON,
            first=15,
            after=after,
        )
        everyone.extend(page.items)
        if not page.has_next:
            break
        after = page.cursors[-1]
    assert len(everyone) == 40
    statuses = {c.status for c in everyone}
    assert len(statuses) >= 2
    one = everyone[7]
    alone = await compliance.teacher_compliance(
        session=session, principal=principal, teacher_id=one.teacher_id, on=ON
    )
    assert alone.status == one.status and alone.result and one.result
    assert alone.result.earned == one.result.earned
    status = sorted(statuses)[0]
    filtered = await compliance.district_compliance(
        session=session,
        principal=principal,
        district_id=report.district_id,
        on=ON,
        status=status,
        first=100,
    )
    assert [c.teacher_id for c in filtered.items] == [
        c.teacher_id for c in everyone if c.status == status
    ]
    counts = await compliance.counts_by_school(
        session=session, principal=principal, district_id=report.district_id, on=ON
    )
    assert sum(sum(c.values()) for c in counts.values()) == 40
    with pytest.raises(RollupError) as bad:
        await compliance.district_compliance(
            session=session, principal=principal, district_id=report.district_id, status="great"
        )
    assert bad.value.code == "bad_status"


async def test_rulesets_load_by_effective_date_and_districts_choose(
    session: AsyncSession, tmp_path: Path
) -> None:
    operator = Principal.operator()
    stored = await compliance.load_rulesets(
        session=session, principal=operator, sources=["generic"]
    )
    again = await compliance.load_rulesets(session=session, principal=operator, sources=["generic"])
    assert [s.id for s in stored] == [s.id for s in again]  # same content stored once
    body = json.loads((Path(credit.__file__).with_name("rulesets") / "generic.json").read_text())
    body["id"] = "district-own-" + factories.unique("r").split("-")[1]
    body["versions"].append({**body["versions"][0], "effective_from": "2026-07-01"})
    body["versions"][-1]["credential_classes"] = {"staff": {"label": "Staff", "required": "30"}}
    path = tmp_path / "own.json"
    path.write_text(json.dumps(body))
    (own,) = await compliance.load_rulesets(
        session=session, principal=operator, sources=[str(path)]
    )
    assert own.effective_from == dt.date(2026, 7, 1)
    district = await factories.district(session)
    with pytest.raises(RollupError) as unknown:
        await compliance.set_district_ruleset(
            session=session, principal=admin(district.id), district=district, key="nope"
        )
    assert unknown.value.code == "unknown_ruleset"
    await compliance.set_district_ruleset(
        session=session, principal=admin(district.id), district=district, key=body["id"]
    )
    ruleset = await compliance.ruleset_for(
        session=session, district=district, on=dt.date(2026, 8, 1)
    )
    assert ruleset.id == body["id"]
    assert ruleset.version_on(dt.date(2026, 8, 1)).credential_classes["staff"].required == Decimal(
        "30"
    )
    with pytest.raises(credit.CreditError):
        bad = tmp_path / "bad.json"
        bad.write_text("{}")
        await compliance.load_rulesets(session=session, principal=operator, sources=[str(bad)])


async def _fresh_counts(session: AsyncSession, principal: Principal, district_id: int) -> Any:
    """Every teacher evaluated anew, nothing stored read: the independent answer."""
    counts: dict[int, dict[str, int]] = {}
    async for batch in compliance.stream_district(
        session=session, principal=principal, district_id=district_id
    ):
        for c in batch:
            counts.setdefault(c.school_id, dict.fromkeys(compliance.STATUSES, 0))[c.status] += 1
    return counts


async def test_stored_statuses_equal_a_fresh_evaluation_and_follow_every_change(
    session: AsyncSession,
) -> None:
    report = await seed(session=session, slug=factories.unique("s"), teachers=30, years=3)
    district_id, principal = report.district_id, admin(report.district_id)

    async def refresh(on: dt.date | None = None) -> int:
        return await compliance.refresh(
            session=session, principal=principal, district_id=district_id, on=on
        )

    async def counts() -> dict[int, dict[str, int]]:
        return await compliance.counts_by_school(
            session=session, principal=principal, district_id=district_id
        )

    assert await refresh() == 30
    assert await refresh() == 0  # all current: a day's later requests evaluate nobody
    assert await counts() == await _fresh_counts(session, principal, district_id)
    everyone = {
        c.teacher_id: c.status
        for batch in [
            b
            async for b in compliance.stream_district(
                session=session, principal=principal, district_id=district_id
            )
        ]
        for c in batch
    }
    status = sorted(set(everyone.values()))[0]
    listed = await compliance.district_compliance(
        session=session, principal=principal, district_id=district_id, status=status, first=100
    )
    assert [c.teacher_id for c in listed.items] == sorted(
        t for t, s in everyone.items() if s == status
    )

    # A record: that teacher alone is evaluated again, and the counts follow it.
    ids = sorted(everyone)
    teacher = await session.get(Teacher, ids[3])
    assert teacher is not None
    await factories.record(
        session, teacher, clock_hours="120", completed_on=dt.date.today() - dt.timedelta(days=3)
    )
    assert await refresh() == 1
    assert await counts() == await _fresh_counts(session, principal, district_id)
    stored = await session.get(ComplianceStatus, teacher.id)
    alone = await compliance.teacher_compliance(
        session=session, principal=principal, teacher_id=teacher.id
    )
    assert stored is not None and stored.status == alone.status

    # A licence, a birth month, a school: each its teacher alone.
    licence = await session.scalar(select(License).where(License.teacher_id == ids[5]))
    assert licence is not None
    licence.national_board = not licence.national_board
    await session.flush()
    assert await refresh() == 1
    other = await session.get(Teacher, ids[6])
    assert other is not None
    other.birth_month = (other.birth_month or 1) % 12 + 1
    await session.flush()
    assert await refresh() == 1
    await summary.rebuild_teacher(session=session, teacher_id=ids[7])
    assert await refresh() == 1

    # Another ruleset, or another day: everyone.
    district = await session.get(District, district_id)
    assert district is not None
    await compliance.set_district_ruleset(
        session=session, principal=principal, district=district, key="generic"
    )
    assert await refresh() == 30
    assert await refresh(dt.date.today() + dt.timedelta(days=1)) == 30
    assert await counts() == await _fresh_counts(session, principal, district_id)
