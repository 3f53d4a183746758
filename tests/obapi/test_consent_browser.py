"""The consent page in a real Chromium: the page's own Content-Security-Policy (form-action, no
framing) lets the decision's redirect reach the client; axe-core finds no serious problem; the
teacher revokes the app on Connected apps by clicking."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright

from tests.obapi.helpers import (
    client_app,
    discover,
    make_teacher,
    oauth_client,
    register,
)
from tests.pages.browser import CHROMIUM_ARGS, SCREENSHOTS, axe_source, need_chromium
from tests.pages.test_browser import accessibility_problems

pytestmark = pytest.mark.browser


async def test_a_teacher_allows_an_app_in_chromium_and_revokes_it(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    chromium = need_chromium()
    axe = axe_source()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd = discover(live_server.url, teacher.slug)
        oauth = oauth_client(sdd, register(sdd, app), app)
        flow = sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]
        url, state = oauth.create_authorization_url(
            flow["authorizationUrl"], code_verifier="v" * 64
        )
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), args=CHROMIUM_ARGS
            )
            try:
                context = await browser.new_context()
                page = await context.new_page()
                # The app sends the teacher to a tab of its own: first sign in there from the
                # wallet (the LMS iframe's cookie would not be sent at the top level).
                await page.goto(url)
                assert "Sign in to connect apps" in await page.locator("main").inner_text()
                await page.goto(f"{live_server.url}/app/wallet/apps?session={teacher.session}")
                async with context.expect_page() as opened:
                    await page.get_by_role("button", name="Sign in to connect apps").click()
                signed_in = await opened.value
                await signed_in.wait_for_load_state()
                assert await signed_in.locator("h1").inner_text() == "Ready to connect an app"
                await signed_in.close()
                blocked: list[str] = []
                page.on(
                    "console",
                    lambda m: (
                        blocked.append(m.text) if "Content Security Policy" in m.text else None
                    ),
                )
                await page.goto(url)
                assert (
                    await page.locator("h1").inner_text()
                    == "Let Example Client Application reach your wallet?"
                )
                assert await accessibility_problems(page, axe) == []
                await page.screenshot(path=str(SCREENSHOTS / "ob-consent.png"), full_page=True)
                await page.get_by_label("Only records I made public").check()
                async with page.expect_navigation(url=f"{app.redirect_uri}*"):
                    await page.get_by_role("button", name="Allow").click()
                assert await page.locator("body").inner_text() == "connected"
                assert blocked == []
                back = app.callbacks[-1]
                assert back["state"] == state and back["code"]

                await page.goto(f"{live_server.url}/app/wallet/apps?session={teacher.session}")
                assert await accessibility_problems(page, axe) == []
                await page.screenshot(
                    path=str(SCREENSHOTS / "ob-connected-apps.png"), full_page=True
                )
                assert "Only records I made public" in await page.locator("li.app").inner_text()
                await page.get_by_role("button", name="Revoke Example Client Application").click()
                await page.wait_for_load_state()
                assert (
                    "That app can no longer reach your wallet."
                    in await page.locator("main").inner_text()
                )
                assert await page.locator("li.app").count() == 0
            finally:
                await browser.close()
