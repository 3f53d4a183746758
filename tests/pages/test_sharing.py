"""Share links: chosen records only, identity hidden on request, dead when expired or revoked."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from ler_plugin.audit import AuditEvent
from ler_plugin.wallet.models import Record
from ler_plugin.wallet.sharing import ShareLink
from tests.pages.world import XSS, World, client, csrf_of

SHARE_URL = re.compile(r'class="share-url" value="([^"]+)"|value="([^"]+)" class="share-url"')


def _make_link(http, world: World, records: list[int], **extra: str) -> str:  # type: ignore[no-untyped-def]
    page = http.get("/app/wallet/shares", params={"session": world.teacher})
    assert page.status_code == 200
    sent = http.post(
        "/app/wallet/shares",
        params={"session": world.teacher},
        data={
            "record": [str(r) for r in records],
            "expires_in_days": "30",
            "csrf": csrf_of(page.text),
            **extra,
        },
    )
    assert sent.status_code == 303, sent.text
    listing = http.get(sent.headers["location"]).text
    assert "Your share link is ready" in listing
    urls = re.findall(r'readonly value="([^"]+/share/[^"]+)"', listing)
    return str(urls[0])  # newest first


async def test_a_link_with_the_name_hidden_opens_without_a_session(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        url = _make_link(
            http,
            world,
            [world.workshop_id, world.badge_record_id],
            hide_identity="yes",
            label="Renewal",
        )
    assert url.startswith(live_server.url + "/share/")
    with client(live_server.url) as anonymous:
        shared = anonymous.get(url.removeprefix(live_server.url))
    assert shared.status_code == 200
    html = shared.text
    assert "Literacy workshop" in html and "&lt;script&gt;" in html and XSS not in html
    assert "Ada Lovelace" not in html and "Shared professional learning" in html
    assert "Private coaching notes" not in html and "seminar" not in html
    assert "Renewal" not in html  # the label is the teacher's own note
    assert "Verified" in html  # the badge's verification state
    assert shared.headers["x-robots-tag"] == "noindex, nofollow"
    assert "/app/" not in html and "session=" not in html
    async with session_factory() as session:
        event = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tag == "share:link:create",
                    AuditEvent.actor_id == f"teacher:{world.teacher_id}",
                )
            )
        ).one()
    assert event.data["records"] == sorted([world.workshop_id, world.badge_record_id])
    assert event.data["hide_identity"] is True


async def test_name_shown_when_not_hidden_and_private_records_drop_out(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        url = _make_link(http, world, [world.workshop_id])
        path = url.removeprefix(live_server.url)
        assert "Learning shared by Ada Lovelace" in http.get(path).text
        token = csrf_of(http.get("/app/wallet", params={"session": world.teacher}).text)
        http.post(
            f"/app/wallet/records/{world.workshop_id}/visibility",
            params={"session": world.teacher},
            data={"visibility": "private", "csrf": token},
        )
        after = http.get(path).text
    assert "Literacy workshop" not in after and "nothing to show on this link" in after


async def test_private_records_cannot_be_chosen(live_server, world: World) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        page = http.get("/app/wallet/shares", params={"session": world.teacher})
        assert re.search(rf'id="record-{world.private_id}"[^>]*disabled', page.text)
        sent = http.post(
            "/app/wallet/shares",
            params={"session": world.teacher},
            data={
                "record": [str(world.private_id)],
                "expires_in_days": "30",
                "csrf": csrf_of(page.text),
            },
        )
        someone_elses = http.post(
            "/app/wallet/shares",
            params={"session": world.teacher},
            data={
                "record": [str(world.other_record_id)],
                "expires_in_days": "30",
                "csrf": csrf_of(page.text),
            },
        )
        nothing = http.post(
            "/app/wallet/shares",
            params={"session": world.teacher},
            data={"expires_in_days": "30", "csrf": csrf_of(page.text)},
        )
    assert sent.status_code == 400 and "is private: make it district or public" in sent.text
    assert someone_elses.status_code == 400 and "not in your wallet" in someone_elses.text
    assert nothing.status_code == 400 and "Choose at least one record" in nothing.text


async def test_revoked_expired_and_unknown_links_are_404(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        revoked = _make_link(http, world, [world.workshop_id]).removeprefix(live_server.url)
        expired = _make_link(http, world, [world.badge_record_id]).removeprefix(live_server.url)
        async with session_factory() as session:
            links = list(
                await session.scalars(
                    select(ShareLink)
                    .join(Record, Record.wallet_id == ShareLink.wallet_id)
                    .where(Record.id == world.workshop_id)
                    .order_by(ShareLink.id)
                )
            )
        revoked_id, expired_id = links[-2].id, links[-1].id
        async with session_factory() as session, session.begin():
            await session.execute(
                update(ShareLink)
                .where(ShareLink.id == expired_id)
                .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
            )
        page = http.get("/app/wallet/shares", params={"session": world.teacher}).text
        assert http.get(revoked).status_code == 200
        gone = http.post(
            f"/app/wallet/shares/{revoked_id}/revoke",
            params={"session": world.teacher},
            data={"csrf": csrf_of(page)},
        )
        assert gone.status_code == 303
        stolen = http.post(
            f"/app/wallet/shares/{expired_id}/revoke",
            params={"session": world.other},
            data={"csrf": csrf_of(http.get("/app/wallet", params={"session": world.other}).text)},
        )
        assert stolen.status_code == 404
        for path in (revoked, expired, "/share/" + "A" * 43, "/share/x"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert "may have expired or been revoked" in response.text
            assert "Literacy workshop" not in response.text
        listing = http.get("/app/wallet/shares", params={"session": world.teacher}).text
    assert "Revoked" in listing and "Expired" in listing
    async with session_factory() as session:
        tags = list(
            await session.scalars(
                select(AuditEvent.tag)
                .where(
                    AuditEvent.subject_id == str(revoked_id),
                    AuditEvent.subject_type == "share_link",
                )
                .order_by(AuditEvent.id)
            )
        )
    assert tags == ["share:link:create", "share:link:view", "share:link:revoke"]


async def test_token_is_not_stored(live_server, session_factory, world: World) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        token = _make_link(http, world, [world.workshop_id]).rsplit("/", 1)[1]
    async with session_factory() as session:
        link = (
            await session.scalars(select(ShareLink).order_by(ShareLink.id.desc()).limit(1))
        ).one()
    assert token not in (link.token_hash, link.nonce) and len(token) >= 43
    assert link.expires_at.date() == (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date()
