"""Tokens, NRPS and AGS against the Open edX consumer's checks on a real 127.0.0.1 lms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from ler_plugin.lti import ags, nrps
from ler_plugin.lti.errors import LtiServiceError
from ler_plugin.lti.services import (
    SCOPE_NRPS,
    SCOPE_SCORE,
    ServiceAccess,
    TokenCache,
    TokenEndpoint,
    client_assertion,
)
from tests.lti.advantage.lms import Key, Lms

NOW = dt.datetime(2026, 11, 28, 15, 30, tzinfo=dt.UTC)


async def test_roster_follows_every_page_with_the_url_as_given(
    access: ServiceAccess, lms: Lms
) -> None:
    roster = await nrps.fetch_roster(access, lms.memberships_url)

    assert [m.user_id for m in roster.members] == [f"user-{n}" for n in range(5)]
    assert roster.context_id == "PD-101" and roster.context_title == "Literacy PD"
    first = roster.members[0]
    assert first.email == "teacher0@district.example" and first.family_name == "0"
    assert first.roles == ("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",)
    assert [m.is_active for m in roster.members] == [True, True, True, True, False]
    # Three pages, one token: the client assertion was checked once by Open edX's code.
    assert lms.token_requests == 1
    assert all(agent.startswith("ler-plugin/") for agent in lms.user_agents)


async def test_a_roster_that_links_back_to_a_page_it_sent_is_stopped(
    access: ServiceAccess, lms: Lms
) -> None:
    lms.roster_loops = True
    with pytest.raises(LtiServiceError) as caught:
        await nrps.fetch_roster(access, lms.memberships_url)
    assert caught.value.code == "lti_nrps_paging_loop"
    assert "stopped after 2" in caught.value.message


async def test_tokens_are_cached_per_scope_set_and_renewed_before_expiry(
    lms: Lms, client: httpx.AsyncClient, tool_key: Key
) -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    endpoint = TokenEndpoint(lms.client_id, lms.token_url)

    first = await cache.token(client, endpoint, tool_key, [SCOPE_NRPS])
    assert await cache.token(client, endpoint, tool_key, [SCOPE_NRPS]) == first
    assert lms.token_requests == 1
    await cache.token(client, endpoint, tool_key, [SCOPE_SCORE])
    assert lms.token_requests == 2

    now[0] += 3600 - 61  # one second before the early-refresh margin
    assert await cache.token(client, endpoint, tool_key, [SCOPE_NRPS]) == first
    now[0] += 2
    assert await cache.token(client, endpoint, tool_key, [SCOPE_NRPS]) != first
    assert lms.token_requests == 3


async def test_a_revoked_token_is_replaced_once(access: ServiceAccess, lms: Lms) -> None:
    token = await access.tokens.token(access.client, access.endpoint, access.key, [SCOPE_NRPS])
    lms.revoke_tokens([token])

    roster = await nrps.fetch_roster(access, lms.memberships_url)

    assert len(roster.members) == 5
    assert lms.token_requests == 2


async def test_the_assertion_names_us_and_the_audience(tool_key: Key) -> None:
    import jwt

    endpoint = TokenEndpoint("client-9", "https://lms.example/token", "https://auth.example/aud")
    token = client_assertion(endpoint, tool_key)
    claims = jwt.decode(
        token,
        tool_key.private_key.public_key(),
        algorithms=["RS256"],
        audience="https://auth.example/aud",
        options={"verify_exp": False},
    )
    assert claims["iss"] == claims["sub"] == "client-9"
    assert claims["exp"] - claims["iat"] == 300 and claims["jti"]
    assert jwt.get_unverified_header(token)["kid"] == "tool-key-1"
    assert client_assertion(endpoint, tool_key) != client_assertion(endpoint, tool_key)


async def test_wrong_audience_or_client_is_a_clear_token_refusal(
    lms: Lms, client: httpx.AsyncClient, tool_key: Key
) -> None:
    lms.audience = "https://elsewhere.example/token"
    access = ServiceAccess(
        client, TokenEndpoint(lms.client_id, lms.token_url), tool_key, TokenCache()
    )
    with pytest.raises(LtiServiceError) as refused:
        await nrps.fetch_roster(access, lms.memberships_url)
    assert refused.value.code == "lti_token_refused"
    assert "invalid_client" in refused.value.message

    lms.audience = None
    stranger = ServiceAccess(
        client, TokenEndpoint("not-registered", lms.token_url), tool_key, TokenCache()
    )
    with pytest.raises(LtiServiceError) as refused:
        await nrps.fetch_roster(stranger, lms.memberships_url)
    assert refused.value.code == "lti_token_refused"


async def test_a_separate_audience_is_used_when_the_platform_has_one(
    lms: Lms, client: httpx.AsyncClient, tool_key: Key
) -> None:
    lms.audience = "https://auth.brightspace.example/auth/token"
    endpoint = TokenEndpoint(lms.client_id, lms.token_url, lms.audience)
    access = ServiceAccess(client, endpoint, tool_key, TokenCache())
    assert len((await nrps.fetch_roster(access, lms.memberships_url)).members) == 5


async def test_scope_not_granted_is_forbidden(access: ServiceAccess, lms: Lms) -> None:
    lms.granted_scopes = {SCOPE_SCORE}
    with pytest.raises(LtiServiceError) as refused:
        await nrps.fetch_roster(access, lms.memberships_url)
    assert refused.value.code == "lti_service_forbidden"


async def test_scope_refused_at_the_token_endpoint_says_so(access: ServiceAccess, lms: Lms) -> None:
    lms.granted_scopes = {SCOPE_SCORE}
    lms.refuse_ungranted = True
    with pytest.raises(LtiServiceError) as refused:
        await nrps.fetch_roster(access, lms.memberships_url)
    assert refused.value.code == "lti_token_scope_refused"
    assert SCOPE_NRPS in refused.value.message


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/broken/503", "lti_service_unavailable"),
        ("/broken/404", "lti_service_not_found"),
        ("/broken/422", "lti_service_rejected"),
        ("/not-json", "lti_service_bad_response"),
    ],
)
async def test_platform_failures_have_codes(
    access: ServiceAccess, lms: Lms, path: str, code: str
) -> None:
    with pytest.raises(LtiServiceError) as failed:
        await nrps.fetch_roster(access, lms.url + path)
    assert failed.value.code == code


async def test_timeouts_and_unreachable_hosts(lms: Lms, tool_key: Key) -> None:
    async with httpx.AsyncClient(timeout=0.3) as hurried:
        access = ServiceAccess(
            hurried, TokenEndpoint(lms.client_id, lms.token_url), tool_key, TokenCache()
        )
        with pytest.raises(LtiServiceError) as slow:
            await nrps.fetch_roster(access, lms.url + "/slow")
        assert slow.value.code == "lti_service_timeout"

        nowhere = ServiceAccess(
            hurried, TokenEndpoint("c", "http://127.0.0.1:9/token"), tool_key, TokenCache()
        )
        with pytest.raises(LtiServiceError) as down:
            await nrps.fetch_roster(nowhere, lms.memberships_url)
        assert down.value.code == "lti_service_unreachable"


async def test_line_item_found_or_created_then_scores_round_trip(
    access: ServiceAccess, lms: Lms
) -> None:
    new = ags.NewLineItem(
        label="PD credit: Literacy PD",
        score_maximum=Decimal("6"),
        resource_id="ler:activity:42",
        tag="pd-credit",
    )
    created = await ags.ensure_line_item(access, lms.lineitems_url, new)
    again = await ags.ensure_line_item(access, lms.lineitems_url, new)
    assert again == created and len(lms.line_items) == 1
    assert created.score_maximum == Decimal("6") and created.resource_id == "ler:activity:42"
    assert await ags.find_line_item(access, lms.lineitems_url, resource_id="other") is None

    for user, hours in (("user-1", "6"), ("user-2", "4.5")):
        await ags.post_score(
            access,
            created.id,
            ags.Score(
                user_id=user,
                score_given=Decimal(hours),
                score_maximum=Decimal("6"),
                timestamp=NOW,
                comment=f"{hours} PD clock hours",
            ),
        )
    results = await ags.read_results(access, created.id)
    assert {(r.user_id, r.result_score) for r in results} == {
        ("user-1", Decimal("6")),
        ("user-2", Decimal("4.5")),
    }
    only = await ags.read_results(access, created.id, user_id="user-2")
    assert [r.comment for r in only] == ["4.5 PD clock hours"]
    sent = lms.scores[0]
    assert sent["activityProgress"] == "Completed" and sent["gradingProgress"] == "FullyGraded"
    assert sent["timestamp"] == "2026-11-28T15:30:00.000+00:00"


async def test_one_refused_member_does_not_stop_the_others(access: ServiceAccess, lms: Lms) -> None:
    column = await ags.create_line_item(
        access, lms.lineitems_url, ags.NewLineItem(label="PD credit", score_maximum=Decimal(3))
    )
    scores = [
        ags.Score(user_id=user, score_given=Decimal(3), score_maximum=Decimal(3), timestamp=NOW)
        for user in ("user-1", "left-the-course", "user-3")
    ]
    failures = await ags.post_scores(access, column.id, scores)

    assert [(f.user_id, f.error.code) for f in failures] == [
        ("left-the-course", "lti_service_rejected")
    ]
    assert [s["userId"] for s in lms.scores] == ["user-1", "user-3"]

    lms.granted_scopes = set()
    ungranted = ServiceAccess(access.client, access.endpoint, access.key, TokenCache())
    with pytest.raises(LtiServiceError) as everyone:
        await ags.post_scores(ungranted, column.id, scores[:1])
    assert everyone.value.code == "lti_service_forbidden"


def test_scores_without_what_moodle_requires_are_refused_before_sending() -> None:
    base = dict(user_id="u", score_given=Decimal(1), score_maximum=Decimal(1))
    with pytest.raises(LtiServiceError, match="timezone"):
        ags.score_body(ags.Score(**base, timestamp=dt.datetime(2026, 1, 1)))  # type: ignore[arg-type]
    with pytest.raises(LtiServiceError, match="negative"):
        ags.score_body(
            ags.Score(user_id="u", score_given=Decimal(-1), score_maximum=Decimal(1), timestamp=NOW)
        )
    with pytest.raises(LtiServiceError, match="userId"):
        ags.score_body(
            ags.Score(user_id="", score_given=Decimal(1), score_maximum=Decimal(1), timestamp=NOW)
        )


def test_scores_and_results_urls_keep_the_line_item_query() -> None:
    url = "https://moodle.example/mod/lti/services.php/2/lineitems/5/lineitem?type_id=7"
    assert ags.service_url(url, "scores") == (
        "https://moodle.example/mod/lti/services.php/2/lineitems/5/lineitem/scores?type_id=7"
    )
