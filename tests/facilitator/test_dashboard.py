"""The district dashboard over real HTTP: its numbers are the records', its district only."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.audit import AuditEvent
from ler_plugin.districts.models import School
from ler_plugin.lti.models import Deployment, DeploymentStatus, Platform
from ler_plugin.principal import Principal, Role
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import (
    License,
    RecordSource,
    RecordStatus,
    SchoolMembership,
    Visibility,
)
from tests import factories
from tests.facilitator.conftest import csrf


@dataclass(frozen=True)
class District:
    id: int
    admin: str
    teacher: str
    school: str
    deployment_id: int
    today: dt.date


async def make_district(
    factory: async_sessionmaker[AsyncSession], settings, hours: list[tuple[str, str, int]]
) -> District:  # type: ignore[no-untyped-def]
    """A district with one school, a teacher in it, one outside any school, records of
    (category, hours, days ago), records that must not count, and a pending deployment."""
    today = dt.date.today()
    async with factory() as session, session.begin():
        district = await factories.district(session)
        school = School(district_id=district.id, name=factories.unique("Lincoln Elementary"))
        session.add(school)
        await session.flush()
        teacher = await factories.teacher(session, district.id, name="Ada Lovelace")
        loner = await factories.teacher(session, district.id, name="Grace Hopper")
        session.add(SchoolMembership(teacher_id=teacher.id, school_id=school.id, primary=True))
        await session.flush()  # the rollups file each record under the school of its day
        # Renewal due in seven months (Texas cycles end in the birth month) with a sliver of
        # the 150 hours Texas asks: at risk.
        teacher.birth_month = (today + dt.timedelta(days=210)).month
        session.add(
            License(
                teacher_id=teacher.id,
                state="TX",
                credential_class="classroom_teacher",
                issued_on=today - dt.timedelta(days=365 * 5 - 210),
                expires_on=today + dt.timedelta(days=210),
            )
        )
        for category, amount, days in hours:
            await factories.record(
                session,
                teacher,
                category=category,
                clock_hours=amount,
                completed_on=today - dt.timedelta(days=days),
            )
        await factories.record(session, loner, clock_hours="2", completed_on=today, category="sel")
        # None of these count: private self-report, waiting, rejected, too old.
        await factories.record(
            session,
            teacher,
            clock_hours="100",
            completed_on=today,
            source=RecordSource.SELF_REPORT,
            visibility=Visibility.PRIVATE,
        )
        await factories.record(
            session, teacher, clock_hours="50", completed_on=today, status=RecordStatus.SUBMITTED
        )
        await factories.record(
            session, teacher, clock_hours="40", completed_on=today, status=RecordStatus.REJECTED
        )
        await factories.record(
            session, teacher, clock_hours="30", completed_on=today - dt.timedelta(days=400)
        )
        platform = Platform(
            district_id=district.id,
            issuer=f"https://{factories.unique('lms')}.example",
            client_id=factories.unique("client"),
            auth_login_url="https://lms.example/auth",
            auth_token_url="https://lms.example/token",
            jwks_url="https://lms.example/jwks",
        )
        session.add(platform)
        await session.flush()
        deployment = Deployment(
            platform_id=platform.id,
            deployment_id=factories.unique("dep"),
            status=DeploymentStatus.PENDING,
        )
        session.add(deployment)
        admin = await factories.teacher(session, district.id, name="Dana Admin")
        await session.flush()
        return District(
            id=district.id,
            admin=issue_token(
                settings,
                Principal.for_teacher(admin.id, district.id, Role.DISTRICT_ADMIN),
            ),
            teacher=issue_token(settings, Principal.for_teacher(teacher.id, district.id)),
            school=school.name,
            deployment_id=deployment.id,
            today=today,
        )


@pytest_asyncio.fixture(loop_scope="session")
async def ours(live_server, session_factory) -> District:  # type: ignore[no-untyped-def]
    return await make_district(
        session_factory,
        live_server.settings,
        [("literacy", "3.5", 0), ("literacy", "6", 40), ("stem", "1.25", 70)],
    )


def table(html: str, caption: str) -> dict[str, list[str]]:
    """The rows of the table with this caption: first cell -> the other cells."""
    start = html.index(f'<caption class="visually-hidden">{caption}</caption>')
    body = html[start : html.index("</table>", start)]
    body = body[body.index("<tbody>") :]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


async def get(live_server, path: str, token: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient() as client:
        return await client.get(f"{live_server.url}{path}", params={"session": token})


async def test_numbers_equal_the_records(live_server, ours: District) -> None:  # type: ignore[no-untyped-def]
    response = await get(live_server, "/app/dashboard", ours.admin)
    assert response.status_code == 200, response.text
    html = response.text
    categories = table(html, "Clock hours by category")
    assert categories["Literacy and reading"] == ["9.5", "2", "1"]
    assert categories["Science, technology, engineering and mathematics"] == ["1.25", "1", "1"]
    assert categories["Social-emotional learning"] == ["2", "1", "1"]
    schools = table(html, "Clock hours by school")
    assert schools[ours.school] == ["10.75", "3", "1"]
    assert schools["No school recorded"] == ["2", "1", "1"]
    months = table(html, "Clock hours by month")
    assert len(months) == 12
    this_month = f"{ours.today:%b} {ours.today.year}"
    assert months[this_month] == ["5.5", "2", "2"]
    assert sum(Decimal(v[0]) for v in months.values()) == Decimal("12.75")
    assert '<span id="waiting-count">1</span>' in html  # the submitted one
    # The charts are inline SVG with a text equivalent, and no script of their own.
    assert html.count('<svg viewBox="0 0 600') == 3 and "<script>" not in html

    standing = table(html, "Teachers at each renewal status, by school")
    assert standing[ours.school] == ["0", "0", "1", "0", "0", "0", "0"]
    assert standing["No school recorded"][5] == "2"  # Grace and the admin: no licence
    assert "Ada Lovelace (" in html and '<span class="at-risk">At risk</span>' in html

    # The downloads are the rollups room's signed CSV links, over the same figures.
    link = html_unescape(re.search(r'<a href="([^"]+)">Download clock hours by school', html))
    async with httpx.AsyncClient() as client:
        export = await client.get(link)
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(export.text)))
    mine = next(line for line in lines if line["school"] == ours.school)
    assert Decimal(mine["clock_hours"]) == Decimal("10.75") and mine["records"] == "3"
    link = html_unescape(re.search(r'<a href="([^"]+)">Download each teacher', html))
    async with httpx.AsyncClient() as client:
        export = await client.get(link)
    assert export.status_code == 200, export.text
    assert "Ada Lovelace" in export.text and "at_risk" in export.text


def html_unescape(found: re.Match[str] | None) -> str:
    assert found, "no such download link"
    return html.unescape(found.group(1))


async def test_another_districts_admin_sees_nothing_of_ours(
    live_server, session_factory, ours: District
) -> None:  # type: ignore[no-untyped-def]
    theirs = await make_district(session_factory, live_server.settings, [])
    response = await get(live_server, "/app/dashboard", theirs.admin)
    assert response.status_code == 200
    assert ours.school not in response.text
    assert "Literacy and reading" not in response.text
    categories = table(response.text, "Clock hours by category")
    assert categories == {"Social-emotional learning": ["2", "1", "1"]}  # only their own loner
    # Nor can they decide our deployment.
    async with httpx.AsyncClient() as client:
        token = csrf(response.text)
        refused = await client.post(
            f"{live_server.url}/app/dashboard/deployments/{ours.deployment_id}",
            params={"session": theirs.admin},
            data={"csrf": token, "decision": "approve"},
        )
    assert refused.status_code == 404
    async with session_factory() as session:
        deployment = await session.get(Deployment, ours.deployment_id)
        assert deployment is not None and deployment.status == DeploymentStatus.PENDING


async def test_a_teacher_is_refused(live_server, ours: District) -> None:  # type: ignore[no-untyped-def]
    response = await get(live_server, "/app/dashboard", ours.teacher)
    assert response.status_code == 403


async def test_pending_deployment_is_approved(live_server, session_factory, ours: District) -> None:  # type: ignore[no-untyped-def]
    page = await get(live_server, "/app/dashboard", ours.admin)
    assert "LMS deployments waiting for a decision" in page.text
    url = f"{live_server.url}/app/dashboard/deployments/{ours.deployment_id}"
    async with httpx.AsyncClient() as client:
        forged = await client.post(
            url, params={"session": ours.admin}, data={"csrf": "nope", "decision": "approve"}
        )
        assert forged.status_code == 403
        done = await client.post(
            url,
            params={"session": ours.admin},
            data={"csrf": csrf(page.text), "decision": "approve"},
        )
    assert done.status_code == 303
    assert "notice=deployment_approved" in done.headers["location"]
    async with session_factory() as session:
        deployment = await session.get(Deployment, ours.deployment_id)
        assert deployment is not None and deployment.status == DeploymentStatus.APPROVED
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.tag == "lti:deployment:approve", AuditEvent.district_id == ours.id
            )
        )
        assert event is not None
    after = await get(live_server, "/app/dashboard", ours.admin)
    assert "None: every LMS deployment" in after.text
