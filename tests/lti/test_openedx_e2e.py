"""End to end with a platform that is not ours: Open edX's LTI 1.3 consumer against the running tool.

`lti_consumer` (the lti-consumer-xblock package, configured standalone) plays the LMS on
127.0.0.1: it builds the OIDC login initiation, answers the tool's authentication request with
an id_token signed by its own key (its JWKS served beside it), and the browser form_posts that to
the tool's /lti/launch. After the launch, the tool's own NRPS and AGS code, driven by the
session's Principal context and the tool's signing key, calls the in-memory services beside the
consumer, whose token endpoint checks our client assertion with the consumer's code against the
tool's JWKS fetched from the live /lti/jwks; a deep linking response signed by the tool is
verified the same way.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.lti import ags, keys, nrps, service
from ler_plugin.lti.deep_linking import (
    DeepLinkReturn,
    auto_submit_form,
    pd_credit_link,
    response_jwt,
)
from ler_plugin.lti.models import Platform
from ler_plugin.lti.services import ServiceAccess, TokenCache, TokenEndpoint
from ler_plugin.principal import Principal, Role
from tests import factories
from tests.lti.advantage.htmlform import read_form
from tests.lti.advantage.lms import Lms, Switchboard, configure_django, members
from tests.lti.platform import session_of

RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"


@pytest_asyncio.fixture
async def openedx(
    live_server, switchboard: Switchboard, session_factory: async_sessionmaker[AsyncSession]
) -> Lms:  # type: ignore[no-untyped-def]
    """Open edX on 127.0.0.1, registered by the operator for a new district."""
    lms = Lms(
        tool_jwks_url=f"{live_server.url}/lti/jwks",
        tool_login_url=f"{live_server.url}/lti/login",
        tool_launch_url=f"{live_server.url}/lti/launch",
        members=members(5),
    ).attach(switchboard)
    async with session_factory() as session, session.begin():
        district = await factories.district(session)
        await service.add_platform(
            session=session,
            settings=live_server.settings,
            principal=Principal.operator(),
            district_id=district.id,
            data=service.PlatformInput(
                issuer=lms.url,
                client_id=lms.client_id,
                auth_login_url=lms.auth_login_url,
                auth_token_url=lms.token_url,
                jwks_url=lms.jwks_url,
                name="Open edX",
                deployment_ids=[lms.deployment_id],
            ),
        )
    return lms


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def launch(
    browser: httpx.AsyncClient,
    lms: Lms,
    *,
    role: str = "staff",
    message_type: str = RESOURCE_LINK,
    user_id: str = "dana",
) -> tuple[httpx.Response, dict[str, str]]:
    """Login initiation from the consumer, through the tool's /lti/login and the consumer's
    authentication step, to the form_post at the tool's /lti/launch; returns the tool's answer
    and the fields that were posted."""
    configure_django()
    from lti_consumer.data import Lti1p3LaunchData

    data = Lti1p3LaunchData(
        user_id=user_id,
        user_role=role,
        config_id=secrets.token_hex(4),
        # Open edX caches launch data by user and link (in each thread too): one link per launch.
        resource_link_id=f"block-v1:PD+101+2026+type@lti_consumer+block@{secrets.token_hex(4)}",
        message_type=message_type,
        context_id="PD-101",
    )
    lms.consumer.set_user_data(
        user_id=user_id,
        role=role,
        full_name="Dana Whitfield",
        email_address=f"{user_id}@district.example",
    )
    lms.consumer.set_resource_link_claim(data.resource_link_id)
    lms.consumer.set_context_claim("PD-101", context_title="Literacy PD")

    login = await browser.get(lms.consumer.prepare_preflight_url(data))
    assert login.status_code == 302, login.text
    assert login.headers["location"].startswith(lms.auth_login_url + "?")
    authentication = await browser.get(login.headers["location"])
    assert authentication.status_code == 200, authentication.text
    action, fields = read_form(authentication.text)
    assert action == lms.tool_launch_url
    return await browser.post(action, data=fields), fields


async def tool_side(
    session_factory: async_sessionmaker[AsyncSession], settings, principal: Principal
) -> tuple[Platform, keys.SigningKey]:  # type: ignore[no-untyped-def]
    """The launch's platform and the tool's current signing key (published by /lti/jwks)."""
    async with session_factory() as session, session.begin():
        platform = await session.get(Platform, int(principal.context["platform_id"]))
        assert platform is not None
        key = await keys.current_signing_key(session=session, settings=settings)
    return platform, key


async def test_a_learner_lands_on_the_wallet_with_a_session(
    browser: httpx.AsyncClient, openedx: Lms, live_server
) -> None:
    response, _ = await launch(browser, openedx, role="student", user_id="ana")
    path, principal = session_of(response, live_server.settings)
    assert path == "/app/wallet"
    assert principal.roles == frozenset({Role.TEACHER})
    page = await browser.get(f"{live_server.url}{response.headers['location']}")
    assert page.status_code == 200
    assert "Dana Whitfield" in page.text  # the name Open edX sent


async def test_roster_and_scores_with_the_launch_context(
    browser: httpx.AsyncClient,
    openedx: Lms,
    live_server,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    response, _ = await launch(browser, openedx, role="staff")
    path, principal = session_of(response, live_server.settings)
    assert path == "/app/facilitator"
    assert Role.FACILITATOR in principal.roles
    context = principal.context
    platform, key = await tool_side(session_factory, live_server.settings, principal)
    assert (platform.issuer, platform.client_id) == (openedx.url, openedx.client_id)

    async with httpx.AsyncClient(timeout=10) as client:
        access = ServiceAccess(client, TokenEndpoint.of(platform), key, TokenCache())
        roster = await nrps.fetch_roster(access, context["nrps_memberships_url"])
        attendees = [
            m
            for m in roster.members
            if m.is_active and any(r.endswith("#Learner") for r in m.roles)
        ]
        assert [m.user_id for m in attendees] == ["user-1", "user-2", "user-3"]
        assert roster.context_title == "Literacy PD"

        column = await ags.ensure_line_item(
            access,
            context["ags_lineitems_url"],
            ags.NewLineItem(
                label="PD credit", score_maximum=Decimal("6"), resource_id="ler:activity:7"
            ),
        )
        awarded = dt.datetime.now(dt.UTC)
        failures = await ags.post_scores(
            access,
            column.id,
            [
                ags.Score(m.user_id, Decimal("6"), Decimal("6"), awarded, comment="6 PD hours")
                for m in attendees
            ],
        )
        assert failures == []
        results = await ags.read_results(access, column.id)

    assert sorted(r.user_id for r in results) == ["user-1", "user-2", "user-3"]
    assert {r.result_score for r in results} == {Decimal(6)}
    assert [s["userId"] for s in openedx.scores] == ["user-1", "user-2", "user-3"]
    # Each scope set's token was granted once, each after the consumer checked our assertion
    # against the keys the tool publishes.
    assert openedx.token_requests == 4


async def test_deep_linking_response_is_verified_by_the_consumer(
    browser: httpx.AsyncClient,
    openedx: Lms,
    live_server,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    response, _ = await launch(browser, openedx, role="staff", message_type=DEEP_LINKING)
    path, principal = session_of(response, live_server.settings)
    assert path == "/app/deep-link"
    context = principal.context
    assert context["message_type"] == DEEP_LINKING
    platform, key = await tool_side(session_factory, live_server.settings, principal)

    back = DeepLinkReturn.of(platform, context)
    assert back.deployment_id == openedx.deployment_id
    item = pd_credit_link(
        title="PD credit: Literacy PD",
        url=f"{live_server.url}/lti/launch",
        custom={"ler_activity": "7"},
        score_maximum=Decimal("6"),
        resource_id="ler:activity:7",
    )
    action, fields = read_form(auto_submit_form(back.return_url, response_jwt(back, [item], key)))
    answer = await browser.post(action, data=fields)

    assert answer.status_code == 200, answer.text
    assert openedx.deep_link_items == [[item]]
    assert openedx.deep_link_claims[0]["aud"] == openedx.url


async def test_a_replayed_launch_is_refused(browser: httpx.AsyncClient, openedx: Lms) -> None:
    response, fields = await launch(browser, openedx)
    assert response.status_code == 303
    replayed = await browser.post(openedx.tool_launch_url, data=fields)
    assert replayed.status_code == 401
    assert "replay" in replayed.text


async def test_the_platform_rotating_its_key_does_not_break_launches(
    browser: httpx.AsyncClient, openedx: Lms, live_server
) -> None:
    first, _ = await launch(browser, openedx)
    session_of(first, live_server.settings)
    openedx.rotate_key()
    second, _ = await launch(browser, openedx)
    session_of(second, live_server.settings)
    third, _ = await launch(browser, openedx)
    session_of(third, live_server.settings)
    # Fetched once, then once more for the new key id; the new key is then cached.
    assert openedx.jwks_hits == 2
