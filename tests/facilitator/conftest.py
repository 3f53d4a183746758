from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest_asyncio

from ler_plugin.config import Settings
from tests import factories
from tests.conftest import LiveServer, free_port
from tests.facilitator.lms import MEMBERSHIP, CourseLms, member
from tests.lti.advantage.lms import Switchboard
from tests.lti.platform import Browser

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
INSTRUCTOR = MEMBERSHIP + "Instructor"
LEARNER = MEMBERSHIP + "Learner"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live_server(settings: Settings, engine: object) -> AsyncIterator[LiveServer]:
    """The app on its own port per test module: each launch here fetches a new test LMS's keys
    through the app's shared guarded client, whose request budget lasts the whole process, so
    the session-wide server is left to the other rooms' tests."""
    own = settings.model_copy(update={"base_url": f"http://127.0.0.1:{free_port()}"})
    server = LiveServer(own)
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest_asyncio.fixture(loop_scope="session")
async def course(live_server, session_factory, switchboard: Switchboard) -> CourseLms:  # type: ignore[no-untyped-def]
    """A course on a test LMS registered for a new district: a facilitator and five learners
    (one of them inactive), served two to a page."""
    lms = CourseLms(tool_url=live_server.url, base=switchboard.url)
    lms.members = [
        member(0, "Instructor", user_id="facilitator-1"),
        *(member(n) for n in range(1, 5)),
        member(5, status="Inactive"),
    ]
    switchboard.app = lms.app()
    lms.district_id = await factories.district_with_platform(  # type: ignore[attr-defined]
        session_factory, live_server.settings, lms.registration()
    )
    return lms


@pytest_asyncio.fixture(loop_scope="session")
async def browser(live_server) -> AsyncIterator[Browser]:  # type: ignore[no-untyped-def]
    found = Browser(live_server.url)
    yield found
    await found.close()


async def launch(
    browser: Browser,
    lms: CourseLms,
    *,
    sub: str = "facilitator-1",
    roles: list[str] | None = None,
    deep_link: bool = False,
) -> str:
    """A launch as the LMS makes it; the session token the tool hands back."""
    params = await browser.login(lms)  # type: ignore[arg-type]
    token = lms.id_token(params["nonce"], sub=sub, roles=roles or [INSTRUCTOR], deep_link=deep_link)
    response = await browser.launch(token, params["state"])
    assert response.status_code == 303, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["session"][0]


async def page(client: httpx.AsyncClient, url: str, session: str) -> httpx.Response:
    return await client.get(url, params={"session": session})


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)
