"""The demo LMS: real LTI 1.3 launches into the tool, over HTTP and in a real browser iframe."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from ler_plugin.demo import seed
from ler_plugin.principal import Role
from ler_plugin.sessions import read_token
from ler_plugin.wallet.models import Teacher
from tests.conftest import LiveServer, free_port


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo_server(settings, engine, session_factory_module) -> AsyncIterator[LiveServer]:  # type: ignore[no-untyped-def]
    demo_settings = settings.model_copy(
        update={"environment": "demo", "base_url": f"http://127.0.0.1:{free_port()}"}
    )
    async with session_factory_module() as session, session.begin():
        await seed(session=session, settings=demo_settings)
    server = LiveServer(demo_settings)
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture(scope="module")
def session_factory_module(engine):  # type: ignore[no-untyped-def]
    from ler_plugin.db import make_session_factory

    return make_session_factory(engine)


def buttons(page: str) -> dict[str, str]:
    found = re.findall(r'<button type="button" data-src="([^"]+)"[^>]*>([^<]+)</button>', page)
    return {html.unescape(label): html.unescape(src) for src, label in found}


async def launch_over_http(server: LiveServer, label: str) -> tuple[str, object]:
    async with httpx.AsyncClient(timeout=10) as client:
        home = await client.get(f"{server.url}/demo-lms/")
        assert home.status_code == 200
        login = await client.get(buttons(home.text)[label])
        assert login.status_code == 200 and "lti.put_data" in login.text
        config = json.loads(re.search(r"const cfg = (\{.*?\});", login.text).group(1))  # type: ignore[union-attr]
        auth = await client.get(config["next"])
        assert auth.status_code == 200
        fields = dict(re.findall(r'name="(id_token|state)" value="([^"]+)"', auth.text))
        response = await client.post(f"{server.url}/lti/launch", data=fields)
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    return location.path, read_token(server.settings, parse_qs(location.query)["session"][0])


async def test_demo_lms_launches_each_person(demo_server: LiveServer, session_factory) -> None:
    path, ana = await launch_over_http(demo_server, "Ana Flores (teacher)")
    assert path == "/app/wallet"
    async with session_factory() as session:
        seeded = await session.scalar(
            select(Teacher.id).where(Teacher.display_name == "Ana Flores").order_by(Teacher.id)
        )
    assert ana.teacher_id == seeded  # type: ignore[attr-defined]  # her seeded wallet, records and all

    path, marcus = await launch_over_http(demo_server, "Marcus Reed (facilitator)")
    assert path == "/app/facilitator" and Role.FACILITATOR in marcus.roles  # type: ignore[attr-defined]
    assert marcus.context["nrps_memberships_url"].endswith("/memberships")  # type: ignore[attr-defined]

    path, dana = await launch_over_http(demo_server, "Dana Whitfield (district admin)")
    assert path == "/app/dashboard" and Role.DISTRICT_ADMIN in dana.roles  # type: ignore[attr-defined]

    path, linker = await launch_over_http(demo_server, "Add content as Marcus Reed (deep linking)")
    assert path == "/app/deep-link"
    assert linker.context["deep_link_return_url"].endswith("/demo-lms/deep-link-return")  # type: ignore[attr-defined]


async def test_demo_lms_is_not_mounted_outside_the_demo(live_server) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{live_server.url}/demo-lms/")).status_code == 404


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
@pytest.mark.parametrize("cookies", ["kept", "blocked"])
async def test_demo_launch_in_a_browser_iframe(demo_server: LiveServer, cookies: str) -> None:
    """In Chromium: the button launches inside the iframe; with the state cookie stripped, the
    postMessage storage of the demo LMS carries the login instead."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=shutil.which("chromium"))
        try:
            page = await browser.new_page()
            if cookies == "blocked":

                async def strip_cookie(route):  # type: ignore[no-untyped-def]
                    response = await route.fetch()
                    headers = {k: v for k, v in response.headers.items() if k != "set-cookie"}
                    await route.fulfill(response=response, headers=headers)

                await page.route("**/lti/login?*", strip_cookie)
            await page.goto(f"{demo_server.url}/demo-lms/")
            await page.get_by_role("button", name="Ana Flores (teacher)").click()
            frame = page.frame(name="tool")
            assert frame is not None
            for _ in range(100):
                if urlsplit(frame.url).path == "/app/wallet":
                    break
                await asyncio.sleep(0.1)
            assert urlsplit(frame.url).path == "/app/wallet", frame.url
            assert "session=" in frame.url
        finally:
            await browser.close()
