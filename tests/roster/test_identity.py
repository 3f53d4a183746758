"""One person, whichever way they arrive: a teacher imported from the roster who then launches
from the LMS lands in the imported teacher's wallet, in their school (the dashboard's "Clock
hours by school" bar is theirs, not "No school recorded")."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import func, select

from ler_plugin.principal import Principal, Role
from ler_plugin.roster import service
from ler_plugin.roster.sources import sample
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import RecordStatus, Teacher
from tests import factories
from tests.lti.platform import Browser, FakeLms, session_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_launch_after_an_import_lands_in_the_imported_teachers_wallet_and_school(
    browser: Browser,
    platform: FakeLms,
    live_server,
    session_factory,  # type: ignore[no-untyped-def]
) -> None:
    district_id = platform.district_id  # type: ignore[attr-defined]
    roster = await sample().read()
    async with session_factory() as session, session.begin():
        await service.apply(
            session=session, principal=Principal.operator(), district_id=district_id, roster=roster
        )
        imported = {
            t.sourced_id: t.id
            for t in await session.scalars(
                select(Teacher).where(Teacher.district_id == district_id)
            )
        }
        before = await session.scalar(
            select(func.count()).select_from(Teacher).where(Teacher.district_id == district_id)
        )

    # Ben launches: an LMS account the wallet has never seen, his SIS id in the LIS claim, and
    # an address other than the roster's.
    auth = await browser.login(platform)
    token = platform.token(
        auth["nonce"],
        sub="lms-user-4471",
        name="Benjamin Okafor",
        email="b.okafor@lms.example",
        lti_lis={"person_sourcedid": "usr-t-0002"},
    )
    path, ben = session_of(await browser.launch(token, auth["state"]), live_server.settings)
    assert path == "/app/wallet"
    assert ben.teacher_id == imported["usr-t-0002"]

    # Chloe's LMS sends no SIS id: her verified district email finds her.
    auth = await browser.login(platform)
    token = platform.token(
        auth["nonce"],
        sub="lms-user-4472",
        name="Chloe Nguyen",
        email="Chloe.Nguyen@demo.k12.example",
    )
    _, chloe = session_of(await browser.launch(token, auth["state"]), live_server.settings)
    assert chloe.teacher_id == imported["usr-t-0003"]

    async with session_factory() as session, session.begin():
        after = await session.scalar(
            select(func.count()).select_from(Teacher).where(Teacher.district_id == district_id)
        )
        assert after == before  # nobody new
        teacher = await session.get(Teacher, imported["usr-t-0002"])
        assert teacher is not None
        await factories.record(
            session,
            teacher,
            title="Science lab safety",
            clock_hours="6",
            status=RecordStatus.APPROVED,
            completed_on=dt.date.today(),
        )
    admin = issue_token(
        live_server.settings,
        Principal.for_teacher(imported["usr-a-0002"], district_id, Role.DISTRICT_ADMIN),
    )
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as web:
        wallet = await web.get(
            "/app/wallet", params={"session": issue_token(live_server.settings, ben)}
        )
        assert "Ben Okafor’s learning wallet" in wallet.text
        dashboard = await web.get("/app/dashboard", params={"session": admin})
    assert dashboard.status_code == 200
    school_table = dashboard.text[dashboard.text.index("Clock hours by school as a table") :]
    school_table = school_table[: school_table.index("</table>")]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', school_table)
    assert rows == [("Riverside Middle School", "6")], rows
    assert "No school recorded" not in school_table
