"""A teacher's day in a real Chromium: the wallet framed by an LMS on another origin, adding an
activity, sharing it with the name hidden, a stranger opening the link; axe-core on every page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import Frame, Page, async_playwright

from tests.conftest import free_port
from tests.pages.browser import (
    CHROMIUM_ARGS,
    SCREENSHOTS,
    axe_source,
    lms_host,
    need_chromium,
)
from tests.pages.world import make_world

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n%%EOF\n"


async def accessibility_problems(target: Page | Frame, axe: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page or frame (injected over DevTools,
    so the page's CSP, which forbids inline script, stays on)."""
    await target.evaluate(axe)
    violations: list[dict[str, Any]] = await target.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.html)}))"""
    )
    return violations


async def test_teacher_in_an_lms_iframe_adds_and_shares(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    chromium = need_chromium()
    axe = axe_source()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    world = await make_world(session_factory, live_server.settings, f"http://127.0.0.1:{port}")
    wallet_url = f"{live_server.url}/app/wallet?session={world.teacher}"
    problems: dict[str, list[dict[str, Any]]] = {}

    async def check(name: str, target: Page | Frame, shot: Page) -> None:
        problems[name] = await accessibility_problems(target, axe)
        await shot.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    with lms_host(port) as lms:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), args=CHROMIUM_ARGS
            )
            try:
                teacher = await browser.new_context(viewport={"width": 1000, "height": 800})
                page = await teacher.new_page()
                await page.goto(f"{lms}/course?src={quote(wallet_url)}")
                frame_element = await page.wait_for_selector("iframe#tool")
                frame = await frame_element.content_frame()
                assert frame is not None
                await frame.wait_for_selector("h1:has-text('learning wallet')")
                # The page told the LMS its height, and the LMS grew the iframe.
                await page.wait_for_function("window.lastResize > 600")
                await check("wallet-in-lms", frame, page)

                await frame.click("nav >> text=Add my learning")
                await frame.wait_for_selector("h1:has-text('Add my own learning')")
                await frame.click("button:has-text('Send for approval')")
                await frame.wait_for_selector(".error-summary")
                assert await frame.get_attribute("#title", "aria-invalid") == "true"
                await check("add-errors", frame, page)

                await frame.fill("#title", "Math talks <b>workshop</b>")
                await frame.fill("#provider", "County Office")
                await frame.fill("#completed_on", "2026-04-02")
                await frame.fill("#clock_hours", "3.5")
                await frame.select_option(
                    "#category", label="Science, technology, engineering and mathematics"
                )
                await frame.fill("#skills", "number sense, discourse")
                await frame.set_input_files(
                    "#evidence_file",
                    files=[{"name": "agenda.pdf", "mimeType": "application/pdf", "buffer": PDF}],
                )
                await frame.click("button:has-text('Send for approval')")
                await frame.wait_for_selector("text=Your learning was added")
                assert await frame.is_visible("h3:has-text('Math talks <b>workshop</b>')")

                await frame.click("nav >> text=Share")
                await frame.wait_for_selector("h1:has-text('Share my learning')")
                await frame.check("label:has-text('Math talks')")
                await frame.check("label:has-text('Literacy workshop')")
                await frame.check("#hide_identity")
                await frame.fill("#label", "For my renewal file")
                await frame.click("button:has-text('Make the link')")
                await frame.wait_for_selector("text=Your share link is ready")
                link = await frame.input_value(".link.new .share-url")
                assert re.fullmatch(rf"{re.escape(live_server.url)}/share/[\w-]{{43}}", link)
                await check("shares", frame, page)

                await frame.click("nav >> text=Transcript")
                await frame.wait_for_selector("h1:has-text('Professional learning transcript')")
                # A shorter page shrinks the iframe again.
                await page.wait_for_function("window.lastResize > 0 && window.lastResize < 1200")
                await check("transcript", frame, page)

                stranger = await browser.new_context(viewport={"width": 390, "height": 844})
                public = await stranger.new_page()
                response = await public.goto(link)
                assert response is not None and response.status == 200
                text = await public.inner_text("main")
                assert "Shared professional learning" in text
                assert "Math talks <b>workshop</b>" in text and "Literacy workshop" in text
                assert "Ada Lovelace" not in text and "Private coaching" not in text
                await check("shared-link-phone", public, public)

                phone = await stranger.new_page()
                await phone.goto(wallet_url)
                await check("wallet-phone", phone, phone)
                width = await phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, "the wallet scrolls sideways on a phone"

                admin = await browser.new_context(viewport={"width": 1000, "height": 800})
                queue = await admin.new_page()
                await queue.goto(f"{live_server.url}/app/dashboard/approvals?session={world.admin}")
                await queue.wait_for_selector("text=Math talks <b>workshop</b>")
                await check("approvals", queue, queue)
                await queue.goto(f"{live_server.url}/app/dashboard?session={world.admin}")
                await check("dashboard", queue, queue)

                # The transcript prints without the wallet's navigation and buttons.
                printed = await admin.new_page()
                await printed.goto(
                    f"{live_server.url}/app/wallet/transcript?session={world.teacher}"
                )
                await printed.emulate_media(media="print")
                assert not await printed.is_visible("header.site")
                assert not await printed.is_visible("button[data-print]")
                assert await printed.is_visible("h1:has-text('Professional learning transcript')")
                await printed.pdf(path=str(SCREENSHOTS / "transcript.pdf"))
            finally:
                await browser.close()
    assert {name: found for name, found in problems.items() if found} == {}


async def test_an_unregistered_site_cannot_frame_the_wallet(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    chromium = need_chromium()
    world = await make_world(
        session_factory, live_server.settings, f"http://127.0.0.1:{free_port()}"
    )
    wallet_url = f"{live_server.url}/app/wallet?session={world.teacher}"
    with lms_host(free_port()) as elsewhere:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=str(chromium), args=CHROMIUM_ARGS
            )
            try:
                page = await (await browser.new_context()).new_page()
                blocked: list[str] = []
                page.on("console", lambda message: blocked.append(message.text))
                await page.goto(f"{elsewhere}/course?src={quote(wallet_url)}")
                await page.wait_for_timeout(500)
                frame = await (await page.wait_for_selector("iframe#tool")).content_frame()
                assert frame is not None
                assert "learning wallet" not in await frame.content()
                assert any("frame-ancestors" in line for line in blocked), blocked
            finally:
                await browser.close()
