"""The licences page (district admins list, add, edit and end licences), "expires in N days" on
the wallet and the dashboard, and the teacher's reminder opt-out: over real HTTP on the live
server, then in a real Chromium at 390 px with axe-core."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import async_playwright
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.audit import AuditEvent
from ler_plugin.licences.models import ReminderOptOut
from ler_plugin.principal import Principal, Role
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import License, Teacher
from tests import factories
from tests.pages.browser import CHROMIUM_ARGS, SCREENSHOTS, axe_source, need_chromium
from tests.pages.test_browser import accessibility_problems
from tests.pages.world import csrf_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass(frozen=True)
class Staff:
    district_id: int
    teacher_id: int
    licence_id: int
    admin: str
    teacher: str
    stranger_admin: str


async def make_staff(factory: async_sessionmaker[AsyncSession], settings) -> Staff:  # type: ignore[no-untyped-def]
    today = dt.date.today()
    async with factory() as session, session.begin():
        district = await factories.district(session)
        teacher = await factories.teacher(
            session, district.id, name="Rosa Parks", email=f"{factories.unique('rosa')}@example.org"
        )
        teacher.staff_id = factories.unique("E")
        licence = License(
            teacher_id=teacher.id,
            state="TX",
            credential_class="classroom_teacher",
            number=factories.unique("TX"),
            issued_on=dt.date(2021, 9, 1),
            expires_on=today + dt.timedelta(days=45),
        )
        session.add(licence)
        admin = await factories.teacher(session, district.id, name="Dana Admin")
        other = await factories.district(session)
        other_admin = await factories.teacher(session, other.id, name="Other Admin")
        await session.flush()
        ids = (district.id, teacher.id, licence.id, admin.id, other.id, other_admin.id)
    district_id, teacher_id, licence_id, admin_id, other_id, other_admin_id = ids
    return Staff(
        district_id,
        teacher_id,
        licence_id,
        admin=issue_token(
            settings, Principal.for_teacher(admin_id, district_id, Role.DISTRICT_ADMIN)
        ),
        teacher=issue_token(settings, Principal.for_teacher(teacher_id, district_id)),
        stranger_admin=issue_token(
            settings, Principal.for_teacher(other_admin_id, other_id, Role.DISTRICT_ADMIN)
        ),
    )


async def test_admins_add_edit_and_end_licences_and_nobody_else_can(
    live_server, session_factory
) -> None:  # type: ignore[no-untyped-def]
    staff = await make_staff(session_factory, live_server.settings)
    async with session_factory() as session:
        staff_id = await session.scalar(
            select(Teacher.staff_id).where(Teacher.id == staff.teacher_id)
        )
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=20) as web:
        listed = web.get("/app/dashboard/licences", params={"session": staff.admin})
        assert listed.status_code == 200
        assert "Rosa Parks" in listed.text and "expires in 45 days" in listed.text
        csrf = csrf_of(listed.text)

        assert (
            web.get("/app/dashboard/licences", params={"session": staff.teacher}).status_code == 403
        )
        stranger = web.get(
            f"/app/dashboard/licences/{staff.licence_id}", params={"session": staff.stranger_admin}
        )
        # Refused by the service (403), or not even found behind PostgreSQL's district wall (404).
        assert stranger.status_code in (403, 404)
        assert (
            "Rosa"
            not in web.get("/app/dashboard/licences", params={"session": staff.stranger_admin}).text
        )

        form = {
            "teacher": staff_id,
            "licence_type": "student_services",
            "number": "SS-77",
            "state": "tx",
            "issued": "2024-01-10",
            "expires": "2029-01-09",
        }
        refused = web.post("/app/dashboard/licences", params={"session": staff.admin}, data=form)
        assert refused.status_code == 403  # no CSRF token
        added = web.post(
            "/app/dashboard/licences", params={"session": staff.admin}, data={**form, "csrf": csrf}
        )
        assert added.status_code == 303, added.text
        bad = web.post(
            "/app/dashboard/licences",
            params={"session": staff.admin},
            data={**form, "number": "SS-78", "expires": "2020-01-01", "csrf": csrf},
        )
        assert bad.status_code == 400 and "The licence expires before it was issued" in bad.text
        nobody = web.post(
            "/app/dashboard/licences",
            params={"session": staff.admin},
            data={**form, "teacher": "nobody@nowhere.example", "csrf": csrf},
        )
        assert (
            nobody.status_code == 400
            and "No teacher of the district has that staff id or email" in nobody.text
        )

        edit = web.get(
            f"/app/dashboard/licences/{staff.licence_id}", params={"session": staff.admin}
        )
        assert edit.status_code == 200 and 'value="classroom_teacher" selected' in edit.text
        saved = web.post(
            f"/app/dashboard/licences/{staff.licence_id}",
            params={"session": staff.admin},
            data={
                "licence_type": "classroom_teacher",
                "number": "TX-NEW",
                "state": "TX",
                "issued": "2021-09-01",
                "expires": "2031-08-31",
                "csrf": csrf,
            },
        )
        assert saved.status_code == 303
        stolen = web.post(
            f"/app/dashboard/licences/{staff.licence_id}/end",
            params={"session": staff.stranger_admin},
            data={
                "ended_on": "2026-01-01",
                "csrf": csrf_of(
                    web.get(
                        "/app/dashboard/licences", params={"session": staff.stranger_admin}
                    ).text
                ),
            },
        )
        assert stolen.status_code in (403, 404)
        ended = web.post(
            f"/app/dashboard/licences/{staff.licence_id}/end",
            params={"session": staff.admin},
            data={"ended_on": dt.date.today().isoformat(), "csrf": csrf},
        )
        assert ended.status_code == 303
    async with session_factory() as session:
        held = {
            lic.number: lic
            for lic in await session.scalars(
                select(License).where(License.teacher_id == staff.teacher_id)
            )
        }
        tags = list(
            await session.scalars(
                select(AuditEvent.tag).where(
                    AuditEvent.district_id == staff.district_id, AuditEvent.tag.like("licence:%")
                )
            )
        )
    assert set(held) == {"TX-NEW", "SS-77"}
    assert (
        held["TX-NEW"].expires_on == dt.date(2031, 8, 31)
        and held["TX-NEW"].ended_on == dt.date.today()
    )
    assert held["SS-77"].state == "TX" and held["SS-77"].primary is False
    assert sorted(tags) == [
        "licence:licence:create",
        "licence:licence:end",
        "licence:licence:update",
    ]


async def test_the_teacher_sees_when_their_licence_expires_and_can_stop_reminders(
    live_server, session_factory
) -> None:  # type: ignore[no-untyped-def]
    staff = await make_staff(session_factory, live_server.settings)
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=20) as web:
        wallet = web.get("/app/wallet", params={"session": staff.teacher})
        assert wallet.status_code == 200
        text = re.sub(r"\s+", " ", wallet.text)
        assert "expires on" in text and "in 45 days" in text
        assert "Stop reminder emails" in text
        off = web.post(
            "/app/wallet/reminders",
            params={"session": staff.teacher},
            data={"reminders": "off", "csrf": csrf_of(wallet.text)},
        )
        assert off.status_code == 303
        again = web.get("/app/wallet", params={"session": staff.teacher})
        assert "Email me reminders again" in again.text
        dashboard = web.get("/app/dashboard", params={"session": staff.admin})
        assert dashboard.status_code == 200
        assert "Rosa Parks" in dashboard.text and "in 45 days" in dashboard.text
    async with session_factory() as session:
        assert await session.get(ReminderOptOut, staff.teacher_id) is not None


@pytest.mark.browser
async def test_the_licences_pages_fit_a_phone_and_pass_axe(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    chromium = need_chromium()
    axe = axe_source()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    staff = await make_staff(session_factory, live_server.settings)
    pages = {
        "licences-phone": f"/app/dashboard/licences?session={staff.admin}",
        "licence-edit-phone": f"/app/dashboard/licences/{staff.licence_id}?session={staff.admin}",
        "wallet-licence-phone": f"/app/wallet?session={staff.teacher}",
    }
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            phone = await (
                await browser.new_context(viewport={"width": 390, "height": 844})
            ).new_page()
            for name, path in pages.items():
                await phone.goto(live_server.url + path)
                await phone.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
                assert await phone.evaluate("document.documentElement.scrollWidth") <= 390, name
                assert await accessibility_problems(phone, axe) == [], name
            # Ending a licence in the browser, from the phone.
            await phone.goto(live_server.url + pages["licences-phone"])
            await phone.click("button:has-text('End')")
            await phone.wait_for_selector("text=Licence ended")
        finally:
            await browser.close()
