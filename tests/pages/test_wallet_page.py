"""The wallet page over real HTTP: own records only, escaped, framed only by the district's LMS."""

from __future__ import annotations

import re

from ler_plugin.principal import Role
from tests.pages.world import XSS, World, client


def test_wallet_shows_own_records_skills_and_totals(live_server, world: World) -> None:
    with client(live_server.url) as http:
        response = http.get("/app/wallet", params={"session": world.teacher})
    assert response.status_code == 200
    html = response.text
    assert "Ada Lovelace" in html
    assert "Literacy workshop" in html
    assert "Private coaching notes" in html  # private to others, not to its owner
    assert "Someone else&#39;s seminar" not in html and "Someone else's seminar" not in html
    assert "Grace Hopper" not in html
    # Skills come first, most shown first: Phonics is on two records.
    skills = html.index("What my learning shows I can do")
    assert skills < html.index("Renewal progress") < html.index("My records")
    assert re.search(r"Phonics <span class=\"count\">\(2 records\)", html)
    # Why each record counts: the verified badge counts, from its status.
    assert "Counts: verified with its issuer." in html
    assert "https://badges.example.org/img.png" in html


def test_outside_text_is_escaped(live_server, world: World) -> None:
    with client(live_server.url) as http:
        html = http.get("/app/wallet", params={"session": world.teacher}).text
    assert XSS not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "onerror=alert(1)>" not in html
    # The only scripts are files from /static.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/wallet.js" defer>']


def test_headers_frame_only_inside_the_districts_lms(live_server, world: World) -> None:
    with client(live_server.url) as http:
        response = http.get("/app/wallet", params={"session": world.teacher})
    csp = response.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {world.lms_origin}" in csp
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    # Links carry the session: the iframe may not keep cookies.
    assert f'href="/app/wallet/add?session={world.teacher}"' in response.text
    assert 'target="_blank"' in response.text and "Open in a new window" in response.text


def test_filter_by_kind_and_search(live_server, world: World) -> None:
    with client(live_server.url) as http:
        badges = http.get("/app/wallet", params={"session": world.teacher, "kind": "badge"}).text
        found = http.get("/app/wallet", params={"session": world.teacher, "q": "LITERACY"}).text
    assert "Literacy workshop" not in badges and "&lt;script&gt;" in badges
    assert "Literacy workshop" in found and "Private coaching notes" not in found
    assert "1 record matches." in found


def test_without_a_session_the_page_says_how_to_get_one(live_server) -> None:
    with client(live_server.url) as http:
        missing = http.get("/app/wallet")
        forged = http.get("/app/wallet", params={"session": "not-a-token"})
    assert missing.status_code == 401 and "open the wallet from your LMS" in missing.text
    assert forged.status_code == 401 and "not valid" in forged.text
    assert "frame-ancestors 'self'" in missing.headers["content-security-policy"]


def test_static_script_is_served(live_server) -> None:
    with client(live_server.url) as http:
        script = http.get("/static/wallet.js")
        css = http.get("/static/wallet.css")
    assert script.status_code == 200 and "lti.frameResize" in script.text
    assert css.status_code == 200 and "@media print" in css.text


async def test_older_records_page_through(live_server, session_factory, world: World) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from ler_plugin.wallet.models import Teacher
    from tests import factories

    async with session_factory() as session, session.begin():
        teacher = await session.get(Teacher, world.teacher_id)
        for day in range(1, 24):
            await factories.record(
                session, teacher, title=f"Webinar {day:02d}", completed_on=dt.date(2025, 1, day)
            )
    with client(live_server.url) as http:
        first = http.get("/app/wallet", params={"session": world.teacher}).text
        older = re.search(r'href="(/app/wallet\?after=[^"]+)">Older records', first)
        assert older, "a full page links to older records"
        second = http.get(older.group(1).replace("&amp;", "&")).text
    assert "Webinar 23" in first and "Webinar 01" not in first
    assert "Webinar 01" in second and "Webinar 23" not in second
    assert "Older records" not in second


def test_templates_have_nothing_the_csp_would_block() -> None:
    """style-src and script-src are 'self' only: inline styles, scripts and handlers would be
    silently dropped by the browser, so none may be written."""
    from ler_plugin.web.render import TEMPLATES

    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\sstyle=", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name
        assert not re.search(r"<script(?![^>]*\ssrc=)", text), template.name
        assert "<style" not in text, template.name


def test_the_launching_lms_origin_may_frame_the_page(live_server, world: World) -> None:
    from ler_plugin.principal import Principal
    from ler_plugin.sessions import issue_token

    launched = Principal(
        roles=frozenset({Role.TEACHER}),
        district_id=world.district_id,
        teacher_id=world.teacher_id,
        subject=f"teacher:{world.teacher_id}",
        context={
            "return_url": "https://acme.instructure.com/courses/7/external_content/success",
            "platform_url": "javascript:alert(1); script-src *",
        },
    )
    token = issue_token(live_server.settings, launched)
    with client(live_server.url) as http:
        csp = http.get("/app/wallet", params={"session": token}).headers["content-security-policy"]
    ancestors = csp.split("frame-ancestors ", 1)[1].split(";")[0].split()
    assert ancestors == ["'self'", f"{world.lms_origin}", "https://acme.instructure.com"]
