"""The demo LMS end to end: a facilitator awards the roster, content is added by deep linking,
and an admin approves a self-report and sees the chart change. Over HTTP, and in Chromium with
axe-core on each page (screenshots under tests/.artifacts/screenshots/)."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from ler_plugin.db import make_session_factory
from ler_plugin.demo import seed
from ler_plugin.lti import demo_platform
from ler_plugin.wallet.models import RecordSource, RecordStatus, Teacher
from tests import factories
from tests.conftest import LiveServer, free_port
from tests.facilitator.conftest import csrf
from tests.pages.browser import CHROMIUM_ARGS, SCREENSHOTS, axe_source, need_chromium
from tests.pages.test_browser import accessibility_problems


@pytest.fixture(scope="module")
def demo_factory(engine):  # type: ignore[no-untyped-def]
    return make_session_factory(engine)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo(settings, engine, demo_factory) -> AsyncIterator[LiveServer]:  # type: ignore[no-untyped-def]
    demo_settings = settings.model_copy(
        update={"environment": "demo", "base_url": f"http://127.0.0.1:{free_port()}"}
    )
    async with demo_factory() as session, session.begin():
        await seed(session=session, settings=demo_settings)
    server = LiveServer(demo_settings)
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


async def launch(client: httpx.AsyncClient, server: LiveServer, label: str) -> str:
    """Click a demo LMS button, as a browser without postMessage would; the tool page's URL."""
    home = await client.get(f"{server.url}/demo-lms/")
    found = re.findall(r'<button type="button" data-src="([^"]+)"[^>]*>([^<]+)</button>', home.text)
    src = {html.unescape(name): html.unescape(url) for url, name in found}[label]
    login = await client.get(src)
    config = json.loads(re.search(r"const cfg = (\{.*?\});", login.text).group(1))  # type: ignore[union-attr]
    auth = await client.get(config["next"])
    fields = dict(re.findall(r'name="(id_token|state)" value="([^"]+)"', auth.text))
    response = await client.post(f"{server.url}/lti/launch", data=fields)
    assert response.status_code == 303, response.text
    return f"{server.url}{response.headers['location']}"


async def test_demo_facilitator_awards_the_roster_over_http(demo: LiveServer) -> None:
    async with httpx.AsyncClient(timeout=20) as client:
        url = await launch(client, demo, "Marcus Reed (facilitator)")
        assert urlsplit(url).path == "/app/facilitator"
        page = await client.get(url)
        assert page.status_code == 200, page.text
        for _, name, _ in demo_platform.CLASSMATES:
            assert name in page.text
        learners = re.findall(r'name="member" value="([^"]+)" checked', page.text)
        assert len(learners) == 4  # Ana and the three classmates; not Marcus
        session = parse_qs(urlsplit(url).query)["session"][0]
        title = factories.unique("Phonics lab")
        done = await client.post(
            f"{demo.url}/app/facilitator",
            params={"session": session},
            data={
                "csrf": csrf(page.text),
                "member": learners,
                "title": title,
                "clock_hours": "2",
                "completed_on": dt.date.today().isoformat(),
                "category": "literacy",
            },
        )
        assert done.status_code == 200, done.text
        assert done.text.count("Score sent") == 4
        book = await client.get(f"{demo.url}/demo-lms/gradebook")
        assert f"PD credit: {title}" in html.unescape(book.text)


async def wait_for_path(frame: Any, path: str) -> None:
    for _ in range(150):
        if urlsplit(frame.url).path == path:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the tool frame is at {frame.url}, not {path}")


@pytest.mark.browser
async def test_demo_in_chromium(demo: LiveServer, demo_factory) -> None:  # type: ignore[no-untyped-def]
    chromium = need_chromium()
    axe = axe_source()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[dict[str, Any]]] = {}
    # A self-report waiting for the admin, in a category nothing else in the demo uses.
    async with demo_factory() as session, session.begin():
        ana = await session.scalar(
            select(Teacher).where(Teacher.display_name == "Ana Flores").order_by(Teacher.id)
        )
        assert ana is not None
        waiting = await factories.record(
            session,
            ana,
            title=factories.unique("Mentoring a new teacher"),
            clock_hours="7",
            completed_on=dt.date.today(),
            status=RecordStatus.SUBMITTED,
            source=RecordSource.SELF_REPORT,
            category="mentoring",
        )
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 1000})

            async def check(name: str) -> None:
                frame = page.frame(name="tool")
                assert frame is not None
                problems[name] = await accessibility_problems(frame, axe)
                await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

            # The facilitator awards the roster.
            await page.goto(f"{demo.url}/demo-lms/")
            await page.get_by_role("button", name="Marcus Reed (facilitator)").click()
            frame = page.frame(name="tool")
            assert frame is not None
            await wait_for_path(frame, "/app/facilitator")
            await frame.wait_for_selector("table.roster")
            await check("facilitator-roster")
            await frame.fill("#title", factories.unique("Structured literacy session"))
            await frame.fill("#clock_hours", "1.5")
            await frame.select_option("#category", "literacy")
            await frame.click("button:has-text('Award to everyone ticked')")
            await frame.wait_for_selector(".award-result")
            assert await frame.locator("td:has-text('Score sent')").count() == 4
            await check("facilitator-awarded")

            # Deep linking: the answer is posted to the LMS by the page's one allowed script.
            await page.get_by_role(
                "button", name="Add content as Marcus Reed (deep linking)"
            ).click()
            await wait_for_path(frame, "/app/deep-link")
            await frame.wait_for_selector("h1:has-text('Add a PD credit activity')")
            await check("deep-link")
            await frame.fill("#title", "Phonics lab")
            await frame.fill("#clock_hours", "2")
            await frame.click("button:has-text('Add to the course')")
            await wait_for_path(frame, "/demo-lms/deep-link-return")
            await frame.wait_for_selector("h1:has-text('Added to')")

            # The admin approves the self-report and the category chart grows by its hours.
            await page.get_by_role("button", name="Dana Whitfield (district admin)").click()
            await wait_for_path(frame, "/app/dashboard")
            await frame.wait_for_selector("h1:has-text('dashboard')")
            before = await mentoring_hours(frame)
            await check("dashboard")
            await frame.click("text=Open the approval queue")
            await frame.wait_for_selector(f"#submission-{waiting.id}")
            await frame.click(f"#submission-{waiting.id} button[value=approve]")
            await frame.wait_for_selector("text=Approved: it now counts")
            await frame.click("nav >> text=District dashboard")
            await frame.wait_for_selector("h1:has-text('dashboard')")
            assert await mentoring_hours(frame) == before + 7
            await check("dashboard-after-approval")
        finally:
            await browser.close()
    assert {name: found for name, found in problems.items() if found} == {}


async def mentoring_hours(frame: Any) -> float:
    row = frame.locator(
        "table:has(caption:has-text('Clock hours by category')) tr:has(th:has-text('Mentoring'))"
    )
    if await row.count() == 0:
        return 0.0
    return float(await row.locator("td").first.text_content() or 0)
