"""Badges for people who have not launched yet wait as claims; launch, accept, decline."""

from __future__ import annotations

from ler_plugin.badges.service import claim_pending_for_teacher
from tests.badges.ob2_host import BadgeSite
from tests.intake.helpers import (
    district_with_provider,
    error_code,
    gql,
    operation,
    records_of,
    teacher,
    teacher_token,
    token,
)

POST = operation("post_badge")


async def _launch(session_factory, teacher_id: int) -> list[int]:  # type: ignore[no-untyped-def]
    async with session_factory() as session, session.begin():
        records = await claim_pending_for_teacher(session=session, teacher_id=teacher_id)
        return [r.id for r in records]


async def test_pending_claim_lands_when_the_teacher_first_launches(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    bearer = token(live_server.url, made)
    plain = site.hosted("plain", recipient=site.recipient("New.Hire@Example.org", hashed=None))
    hashed = site.hosted("hashed", recipient=site.recipient("new.hire@example.org", salt="pep"))
    for url in (plain, hashed):
        answer = gql(live_server.url, bearer, POST, {"input": {"url": url}})["data"]["postBadge"]
        assert answer["outcome"] == "PENDING_CLAIM" and answer["claimId"]
    assert await records_of(session_factory, district_id) == []

    teacher_id = await teacher(session_factory, district_id, "new.hire@example.org")
    landed = await _launch(session_factory, teacher_id)
    assert len(landed) == 2
    assert await _launch(session_factory, teacher_id) == []  # once only
    records = await records_of(session_factory, district_id)
    assert [(r.source, r.status) for r in records] == [("provider", "verified")] * 2
    # Posting it again changes nothing: it is the same badge, now in the wallet.
    again = gql(live_server.url, bearer, POST, {"input": {"url": plain}})["data"]["postBadge"]
    assert (again["outcome"], again["created"]) == ("RECORDED", False)
    assert len(await records_of(session_factory, district_id)) == 2


async def test_recipient_email_hint_must_match_the_hash(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    _, made = await district_with_provider(session_factory, [site.issuer_url])
    url = site.hosted("h", recipient=site.recipient("a@example.org"))
    answer = gql(
        live_server.url,
        token(live_server.url, made),
        POST,
        {"input": {"url": url, "recipientEmail": "b@example.org"}},
    )
    assert error_code(answer) == "recipient_mismatch"


async def test_teacher_lists_declines_and_accepts_claims(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    bearer = token(live_server.url, made)
    for name in ("one", "two"):
        url = site.hosted(name, recipient=site.recipient("dee@example.org", hashed=None))
        gql(live_server.url, bearer, POST, {"input": {"url": url}})
    teacher_id = await teacher(session_factory, district_id, "dee@example.org")
    other_id = await teacher(session_factory, district_id, "someone@example.org")
    mine = teacher_token(live_server.settings, teacher_id, district_id)
    theirs = teacher_token(live_server.settings, other_id, district_id)

    claims = gql(live_server.url, mine, operation("pending_claims"))["data"]["pendingClaims"]
    assert len(claims) == 2
    assert claims[0]["badge"]["report"]["valid"] is True
    assert gql(live_server.url, theirs, operation("pending_claims"))["data"]["pendingClaims"] == []
    first, second = claims[0]["id"], claims[1]["id"]

    stolen = gql(live_server.url, theirs, operation("accept_claim"), {"id": first})
    assert error_code(stolen) == "claim_not_found"
    declined = gql(live_server.url, mine, operation("decline_claim"), {"id": first})
    assert declined["data"]["declineClaim"] == first
    accepted = gql(live_server.url, mine, operation("accept_claim"), {"id": second})["data"]
    assert accepted["acceptClaim"]["status"] == "VERIFIED"
    assert gql(live_server.url, mine, operation("pending_claims"))["data"]["pendingClaims"] == []
    assert await _launch(session_factory, teacher_id) == []  # declined never lands
    assert len(await records_of(session_factory, district_id)) == 1
