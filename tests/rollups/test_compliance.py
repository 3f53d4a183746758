"""Compliance over the database: the right records reach the engine, the right people ask."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin import credit
from ler_plugin.errors import Forbidden
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import compliance
from ler_plugin.rollups.errors import RollupError
from ler_plugin.seed import seed
from ler_plugin.wallet.models import License, RecordSource, RecordStatus, Visibility
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
