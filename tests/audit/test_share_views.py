"""A teacher sees who opened their share links: each open is an audit event with the viewer's
network (not their address), listed on the share page and by `myShareViews`."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from ler_plugin.audit import AuditEvent
from ler_plugin.wallet.sharing import coarse_address
from tests.audit.helpers import ask, codes, place

VIEWS = "query($after: String) { myShareViews(first: 1, after: $after) { edges { cursor node { tag subjectId ip occurredAt } } pageInfo { hasNextPage endCursor } } }"


def test_addresses_are_coarsened_to_their_network() -> None:
    assert coarse_address("203.0.113.77") == "203.0.113.0/24"
    assert coarse_address("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert coarse_address("not an address") is None
    assert coarse_address(None) is None


async def test_each_open_is_recorded_and_shown_to_the_owner_only(
    live_server, session_factory
) -> None:  # type: ignore[no-untyped-def]
    where = await place(session_factory, live_server.settings)
    opened = httpx.get(
        live_server.url + where.share_path, headers={"X-Request-ID": "share-view-0001"}
    )
    assert opened.status_code == 200
    assert httpx.get(live_server.url + where.share_path).status_code == 200
    assert httpx.get(live_server.url + "/share/not-a-real-token").status_code == 404

    async with session_factory() as session:
        events = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tag == "share:link:view")
                .where(AuditEvent.subject_id == str(where.link_id))
                .order_by(AuditEvent.id)
            )
        )
    assert len(events) == 2  # the unknown token wrote nothing
    assert events[0].ip == "127.0.0.0/24" and events[0].request_id == "share-view-0001"
    assert events[0].actor_kind == "anonymous" and events[0].district_id == where.district_id

    first = ask(live_server.url, where.teacher, {"query": VIEWS})
    assert "errors" not in first, first
    page = first["data"]["myShareViews"]
    assert page["pageInfo"]["hasNextPage"] is True
    newest = page["edges"][0]["node"]
    assert newest["subjectId"] == str(where.link_id) and newest["ip"] == "127.0.0.0/24"
    second = ask(
        live_server.url,
        where.teacher,
        {"query": VIEWS, "variables": {"after": page["pageInfo"]["endCursor"]}},
    )["data"]["myShareViews"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["edges"][0]["node"]["occurredAt"] <= newest["occurredAt"]
    assert second["edges"][0]["cursor"] != page["edges"][0]["cursor"]

    other = ask(live_server.url, where.other_teacher, {"query": VIEWS})
    assert other["data"]["myShareViews"]["edges"] == []

    listing = httpx.get(
        f"{live_server.url}/app/wallet/shares", params={"session": where.teacher}
    ).text
    assert "Recent views (2)" in listing and listing.count('class="view"') == 2
    assert listing.count("<td>127.0.0.0/24</td>") == 2 and "<td>127.0.0.1</td>" not in listing


async def test_bad_cursor_is_explained(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    where = await place(session_factory, live_server.settings)
    body = ask(live_server.url, where.teacher, {"query": VIEWS, "variables": {"after": "zz"}})
    assert codes(body) == {"bad_cursor"}
