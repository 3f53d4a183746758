"""The wallet page shows the teacher's renewal cycle from the credit engine, and why each record
counts toward it or not."""

from __future__ import annotations

import datetime as dt

from ler_plugin.principal import Principal
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import License, RecordSource, Visibility
from tests import factories
from tests.pages.world import client


async def test_progress_and_reasons_come_from_the_rules(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    today = dt.date.today()
    async with session_factory() as session, session.begin():
        district = await factories.district(session, state="TX")
        teacher = await factories.teacher(session, district.id, name="Rita Levi")
        teacher.birth_month = today.month
        session.add(
            License(
                teacher_id=teacher.id,
                state="TX",
                credential_class="classroom_teacher",
                issued_on=today - dt.timedelta(days=365 * 2),
            )
        )
        await factories.record(
            session,
            teacher,
            title="Counted workshop",
            clock_hours="12",
            completed_on=today - dt.timedelta(days=30),
        )
        await factories.record(
            session,
            teacher,
            title="Private reading group",
            clock_hours="4",
            completed_on=today - dt.timedelta(days=20),
            visibility=Visibility.PRIVATE,
            source=RecordSource.SELF_REPORT,
        )
        await factories.record(
            session, teacher, title="Long ago", clock_hours="5", completed_on=dt.date(2001, 5, 1)
        )
        token = issue_token(live_server.settings, Principal.for_teacher(teacher.id, district.id))

    with client(live_server.url) as http:
        html = http.get("/app/wallet", params={"session": token}).text
    assert "<dt>Required</dt><dd>150" in html
    assert "<dt>Earned</dt><dd>12" in html
    assert "<dt>Remaining</dt><dd>138" in html
    assert "clock hours" in html
    assert "Your renewal cycle ends on" in html
    assert "Counts toward this renewal cycle." in html
    assert "Not counted: it is private." in html
    assert "Does not count this cycle: completed outside it." in html
