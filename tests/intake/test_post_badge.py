"""Providers post badges over real HTTP: verified, bound to their issuers, idempotent."""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal

import httpx
from sqlalchemy import select

from ler_plugin.audit import AuditEvent
from tests.badges.ob2_host import BadgeSite, itxt, png
from tests.intake.helpers import (
    count_badges,
    district_with_provider,
    error_code,
    gql,
    operation,
    records_of,
    teacher,
    token,
)

POST = operation("post_badge")


async def test_hosted_badge_lands_in_the_recipients_wallet(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    await teacher(session_factory, district_id, "rosa@example.org")
    # Hashed with salt, upper-case hex: matched all the same.
    recipient = site.recipient("rosa@example.org")
    recipient["identity"] = "sha256$" + recipient["identity"].split("$")[1].upper()
    url = site.hosted("1", recipient=recipient)
    bearer = token(live_server.url, made)
    answer = gql(
        live_server.url,
        bearer,
        POST,
        {"input": {"url": url, "credit": {"clockHours": "6", "category": "math"}}},
    )["data"]["postBadge"]
    assert answer["outcome"] == "RECORDED"
    assert answer["valid"] is True and answer["created"] is True
    assert answer["report"]["issuer"]["id"] == site.issuer_url
    assert answer["report"]["achievement"]["name"] == "Math PD: Number Talks"
    [record] = await records_of(session_factory, district_id)
    assert str(record.id) == answer["recordId"]
    assert (record.kind, record.source, record.status) == ("badge", "provider", "verified")
    assert record.clock_hours == Decimal("6.00")
    assert record.category == "math"
    assert record.status_reason is None
    async with session_factory() as session:
        tags = list(
            await session.scalars(
                select(AuditEvent.tag).where(AuditEvent.district_id == district_id)
            )
        )
    assert "record:badge:verify" in tags


async def test_issuer_not_registered_is_refused_and_nothing_stored(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(
        session_factory, ["https://someone-else.example.org/issuer"]
    )
    answer = gql(
        live_server.url, token(live_server.url, made), POST, {"input": {"url": site.hosted()}}
    )
    assert error_code(answer) == "issuer_not_allowed"
    assert await count_badges(session_factory, district_id) == 0


async def test_invalid_badge_answers_its_report_and_stores_nothing(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    missing = site.host.url("/assertions/missing.json")
    answer = gql(live_server.url, token(live_server.url, made), POST, {"input": {"url": missing}})
    result = answer["data"]["postBadge"]
    assert result["outcome"] == "REFUSED" and result["valid"] is False
    assert "not_found" in [e["code"] for e in result["report"]["errors"]]
    assert result["badgeId"] is None
    assert await count_badges(session_factory, district_id) == 0


async def test_bad_input_is_a_clear_error(live_server, session_factory, site: BadgeSite) -> None:  # type: ignore[no-untyped-def]
    _, made = await district_with_provider(session_factory, [site.issuer_url])
    bearer = token(live_server.url, made)
    both = gql(live_server.url, bearer, POST, {"input": {"url": site.hosted(), "jws": "a.b.c"}})
    assert error_code(both) == "invalid_input"
    image = gql(live_server.url, bearer, POST, {"input": {"imageBase64": "not base64!"}})
    assert error_code(image) == "invalid_image"


async def test_fifty_concurrent_posts_make_one_badge_and_one_record(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    await teacher(session_factory, district_id, "rosa@example.org")
    url = site.hosted("same", recipient=site.recipient("rosa@example.org", hashed=None))
    bearer = token(live_server.url, made)
    body = {"query": POST, "variables": {"input": {"url": url, "credit": {"clockHours": "2"}}}}

    # Several connections at once: httpx opens one per request in flight.
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def post() -> dict:  # type: ignore[type-arg]
            response = await client.post(
                f"{live_server.url}/graphql",
                json=body,
                headers={"Authorization": f"Bearer {bearer}"},
            )
            return response.json()  # type: ignore[no-any-return]

        answers = await asyncio.gather(*(post() for _ in range(50)))
    results = [a["data"]["postBadge"] for a in answers]
    assert {r["outcome"] for r in results} == {"RECORDED"}
    assert len({r["badgeId"] for r in results}) == 1
    assert len({r["recordId"] for r in results}) == 1
    assert sum(r["created"] for r in results) == 1
    assert await count_badges(session_factory, district_id) == 1
    [record] = await records_of(session_factory, district_id)
    assert record.clock_hours == Decimal("2.00")


async def test_another_districts_provider_cannot_touch_this_district(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    here, ours = await district_with_provider(session_factory, [site.issuer_url])
    await teacher(session_factory, here, "rosa@example.org")
    there, theirs = await district_with_provider(session_factory, [site.issuer_url])
    hosted = site.hosted("x", recipient=site.recipient("rosa@example.org", hashed="md5"))
    posted = gql(live_server.url, token(live_server.url, ours), POST, {"input": {"url": hosted}})
    badge_id = posted["data"]["postBadge"]["badgeId"]

    their_token = token(live_server.url, theirs)
    revoke = gql(
        live_server.url,
        their_token,
        operation("revoke_badge"),
        {"id": badge_id, "reason": "not ours to revoke"},
    )
    assert error_code(revoke) == "badge_not_found"
    report = gql(live_server.url, their_token, operation("badge_report"), {"id": badge_id})
    assert error_code(report) == "badge_not_found"
    # The same assertion posted there stays there: our teacher is not theirs.
    again = gql(live_server.url, their_token, POST, {"input": {"url": hosted}})
    assert again["data"]["postBadge"]["outcome"] == "PENDING_CLAIM"
    assert again["data"]["postBadge"]["badgeId"] != badge_id
    assert [r.status for r in await records_of(session_factory, here)] == ["verified"]
    assert await records_of(session_factory, there) == []


async def test_one_assertion_in_any_form_is_one_badge(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    await teacher(session_factory, district_id, "forms@example.org")
    bearer = token(live_server.url, made)
    url = site.hosted("forms", recipient=site.recipient("forms@example.org"))
    baked = base64.b64encode(png(itxt("openbadges", url))).decode()
    first = gql(live_server.url, bearer, POST, {"input": {"imageBase64": baked}})["data"]
    assert (first["postBadge"]["outcome"], first["postBadge"]["created"]) == ("RECORDED", True)
    again = gql(live_server.url, bearer, POST, {"input": {"url": url}})["data"]["postBadge"]
    assert again["created"] is False
    assert again["badgeId"] == first["postBadge"]["badgeId"]

    site.add_key("k1")
    signed = site.signed("k1", recipient=site.recipient("forms@example.org", hashed=None))
    answer = gql(live_server.url, bearer, POST, {"input": {"jws": signed}})["data"]["postBadge"]
    assert answer["outcome"] == "RECORDED", answer["report"]["errors"]
    assert await count_badges(session_factory, district_id) == 2
