"""Full login + launch round trips over real HTTP, and every refusal of a forged or altered token."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from ler_plugin.lti.models import Deployment, DeploymentStatus
from ler_plugin.principal import Role
from ler_plugin.wallet.models import TeacherEmail, TeacherIdentity
from tests.lti.platform import ADMIN, DROP, INSTRUCTOR, Browser, FakeLms, new_key, session_of


def refused(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert f"<code>{code}</code>" in response.text
    assert "Traceback" not in response.text


async def test_login_redirects_to_the_platform_with_the_oidc_request(
    browser: Browser, platform: FakeLms, live_server
) -> None:
    auth = await browser.login(platform)
    assert auth["scope"] == "openid"
    assert auth["response_type"] == "id_token"
    assert auth["response_mode"] == "form_post"
    assert auth["prompt"] == "none"
    assert auth["client_id"] == platform.client_id
    assert auth["redirect_uri"] == f"{live_server.url}/lti/launch"
    assert auth["login_hint"] == "hint-1"
    assert auth["lti_message_hint"] == "msg-1"
    assert len(auth["state"]) >= 32 and len(auth["nonce"]) >= 32
    assert any(c.name.startswith("ler_lti_state_") for c in browser.client.cookies.jar)


async def test_learner_launch_lands_in_the_wallet_and_links_the_teacher(
    browser: Browser, platform: FakeLms, live_server, session_factory
) -> None:
    auth = await browser.login(platform)
    response = await browser.launch(platform.token(auth["nonce"]), auth["state"])
    path, principal = session_of(response, live_server.settings)
    assert path == "/app/wallet"
    assert principal.roles == frozenset({Role.TEACHER})
    assert principal.district_id == platform.district_id  # type: ignore[attr-defined]
    assert principal.launch_id
    assert principal.context["context_id"] == "course-1"
    assert principal.context["deployment_id"] == platform.deployment_id

    # The second launch of the same person finds the same teacher.
    auth = await browser.login(platform)
    _, again = session_of(
        await browser.launch(platform.token(auth["nonce"]), auth["state"]), live_server.settings
    )
    assert again.teacher_id == principal.teacher_id
    assert again.launch_id != principal.launch_id
    async with session_factory() as session:
        identity = await session.scalar(
            select(TeacherIdentity).where(TeacherIdentity.teacher_id == principal.teacher_id)
        )
        email = await session.scalar(
            select(TeacherEmail).where(TeacherEmail.teacher_id == principal.teacher_id)
        )
    assert identity is not None and identity.subject == "user-1"
    assert email is not None and email.email == "robin.ortiz@school.example" and email.verified


async def test_instructor_is_a_facilitator_and_admin_gets_the_dashboard(
    browser: Browser, platform: FakeLms, live_server
) -> None:
    auth = await browser.login(platform)
    token = platform.token(auth["nonce"], sub="teacher-2", lti_roles=[INSTRUCTOR, ADMIN])
    path, principal = session_of(await browser.launch(token, auth["state"]), live_server.settings)
    assert path == "/app/facilitator"
    assert principal.roles == frozenset({Role.TEACHER, Role.FACILITATOR, Role.DISTRICT_ADMIN})

    auth = await browser.login(platform)
    token = platform.token(auth["nonce"], sub="admin-1", lti_roles=[ADMIN], lti_context=DROP)
    path, principal = session_of(await browser.launch(token, auth["state"]), live_server.settings)
    assert path == "/app/dashboard"
    assert Role.DISTRICT_ADMIN in principal.roles and Role.FACILITATOR not in principal.roles


async def test_deep_linking_launch_carries_the_return_url(
    browser: Browser, platform: FakeLms, live_server
) -> None:
    auth = await browser.login(platform)
    token = platform.token(
        auth["nonce"],
        lti_message_type="LtiDeepLinkingRequest",
        lti_roles=[INSTRUCTOR],
        lti_resource_link=DROP,
        dl_deep_linking_settings={
            "deep_link_return_url": "https://lms.example/return",
            "data": "opaque-1",
            "accept_types": ["ltiResourceLink"],
        },
    )
    path, principal = session_of(await browser.launch(token, auth["state"]), live_server.settings)
    assert path == "/app/deep-link"
    assert principal.context["deep_link_return_url"] == "https://lms.example/return"
    assert principal.context["deep_link_data"] == "opaque-1"


async def test_aud_list_with_azp_is_accepted_and_leeway_allows_a_just_expired_token(
    browser: Browser, platform: FakeLms, live_server
) -> None:
    auth = await browser.login(platform)
    now = int(time.time())
    token = platform.token(
        auth["nonce"], aud=[platform.client_id, "other"], azp=platform.client_id, exp=now - 30
    )
    path, _ = session_of(await browser.launch(token, auth["state"]), live_server.settings)
    assert path == "/app/wallet"


FORGERIES = {
    "wrong_issuer": (401, "bad_issuer", {"iss": "http://127.0.0.1:1/evil"}),
    "wrong_audience": (401, "bad_audience", {"aud": "someone-else"}),
    "aud_list_without_azp": (401, "azp_missing", {"aud": ["CLIENT", "other"]}),
    "azp_not_us": (401, "bad_azp", {"aud": ["CLIENT", "other"], "azp": "other"}),
    "expired": (401, "token_expired", {"exp": -120}),
    "iat_in_future": (401, "token_from_future", {"iat": 300}),
    "missing_nonce": (401, "nonce_missing", {"nonce": DROP}),
    "other_nonce": (401, "nonce_mismatch", {"nonce": "not-the-one"}),
    "wrong_version": (400, "bad_lti_version", {"lti_version": "1.1"}),
    "wrong_message_type": (
        400,
        "bad_message_type",
        {"lti_message_type": "LtiSubmissionReviewRequest"},
    ),
    "missing_sub": (400, "missing_claim", {"sub": DROP}),
    "missing_roles": (400, "missing_claim", {"lti_roles": DROP}),
    "missing_resource_link": (400, "missing_claim", {"lti_resource_link": DROP}),
    "missing_target_link_uri": (400, "missing_claim", {"lti_target_link_uri": DROP}),
    "missing_deployment_id": (400, "missing_claim", {"lti_deployment_id": DROP}),
    "deep_linking_without_settings": (
        400,
        "missing_claim",
        {"lti_message_type": "LtiDeepLinkingRequest", "lti_resource_link": DROP},
    ),
}


@pytest.mark.parametrize("case", list(FORGERIES))
async def test_altered_tokens_are_refused_with_their_own_code(
    case: str, browser: Browser, platform: FakeLms
) -> None:
    status, code, changes = FORGERIES[case]
    auth = await browser.login(platform)
    now = int(time.time())
    fixed = {}
    for name, value in changes.items():
        if name in ("exp", "iat"):
            value = now + value
        elif value == "CLIENT" or value == ["CLIENT", "other"]:
            value = [platform.client_id, "other"]
        fixed[name] = value
    response = await browser.launch(platform.token(auth["nonce"], **fixed), auth["state"])
    refused(response, status, code)


async def test_alg_none_and_hs256_with_the_public_key_are_refused(
    browser: Browser, platform: FakeLms
) -> None:
    auth = await browser.login(platform)
    claims = platform.claims(auth["nonce"])
    refused(
        await browser.launch(platform.none_forgery(claims), auth["state"]), 401, "bad_algorithm"
    )
    refused(
        await browser.launch(platform.hs256_forgery(claims), auth["state"]), 401, "bad_algorithm"
    )
    # The state was not spent by the forgeries: the real token still gets in.
    response = await browser.launch(platform.sign(claims), auth["state"])
    assert response.status_code == 303


async def test_bad_signature_is_refused(browser: Browser, platform: FakeLms) -> None:
    auth = await browser.login(platform)
    claims = platform.claims(auth["nonce"])
    _, stranger = new_key()
    refused(
        await browser.launch(platform.sign(claims, key=stranger), auth["state"]),
        401,
        "bad_signature",
    )
    head, _, signature = platform.sign(claims).split(".")
    tampered = platform.sign(platform.claims(auth["nonce"], sub="someone-else")).split(".")[1]
    refused(
        await browser.launch(f"{head}.{tampered}.{signature}", auth["state"]), 401, "bad_signature"
    )
    refused(await browser.launch("not-a-jwt", auth["state"]), 400, "token_malformed")


async def test_replayed_launch_is_refused(browser: Browser, platform: FakeLms) -> None:
    auth = await browser.login(platform)
    token = platform.token(auth["nonce"])
    assert (await browser.launch(token, auth["state"])).status_code == 303
    refused(await browser.launch(token, auth["state"]), 401, "replay")
    # Replayed with a fresh login of its own, the old token's nonce is not the new one.
    fresh = await browser.login(platform)
    refused(await browser.launch(token, fresh["state"]), 401, "nonce_mismatch")


async def test_two_racing_posts_of_one_launch_let_only_one_in(
    browser: Browser, platform: FakeLms
) -> None:
    auth = await browser.login(platform)
    token = platform.token(auth["nonce"])
    responses = await asyncio.gather(*(browser.launch(token, auth["state"]) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [303, 401, 401, 401]


async def test_unknown_state_and_foreign_browser_are_refused(
    browser: Browser, platform: FakeLms, live_server
) -> None:
    auth = await browser.login(platform)
    token = platform.token(auth["nonce"])
    refused(await browser.launch(token, "made-up-state"), 401, "state_unknown")
    stranger = Browser(live_server.url)
    try:
        refused(await stranger.launch(token, auth["state"]), 401, "browser_unknown")
        stranger.client.cookies.set(
            next(c.name for c in browser.client.cookies.jar), "guessed", domain="127.0.0.1"
        )
        refused(await stranger.launch(token, auth["state"]), 401, "browser_mismatch")
    finally:
        await stranger.close()


async def test_unknown_deployment_waits_as_pending_until_approved(
    browser: Browser, platform: FakeLms, session_factory
) -> None:
    from ler_plugin.lti import service
    from ler_plugin.principal import Principal

    auth = await browser.login(platform)
    response = await browser.launch(
        platform.token(auth["nonce"], lti_deployment_id="new-dep"), auth["state"]
    )
    refused(response, 403, "deployment_pending")
    assert "waiting for a district administrator" in response.text
    async with session_factory() as session:
        status = await session.scalar(
            select(Deployment.status).where(Deployment.deployment_id == "new-dep")
        )
    assert status == DeploymentStatus.PENDING

    # Still pending on the next launch; approved, it gets in.
    auth = await browser.login(platform)
    refused(
        await browser.launch(
            platform.token(auth["nonce"], lti_deployment_id="new-dep"), auth["state"]
        ),
        403,
        "deployment_pending",
    )
    async with session_factory() as session, session.begin():
        await service.decide_deployment(
            session=session,
            principal=Principal.operator(),
            issuer=platform.issuer,
            client_id=platform.client_id,
            deployment_id="new-dep",
            approve=True,
        )
    auth = await browser.login(platform)
    response = await browser.launch(
        platform.token(auth["nonce"], lti_deployment_id="new-dep"), auth["state"]
    )
    assert response.status_code == 303


async def test_platform_key_rotation_mid_run_keeps_launches_working(
    browser: Browser, platform: FakeLms
) -> None:
    auth = await browser.login(platform)
    assert (await browser.launch(platform.token(auth["nonce"]), auth["state"])).status_code == 303
    auth = await browser.login(platform)
    assert (await browser.launch(platform.token(auth["nonce"]), auth["state"])).status_code == 303
    assert platform.jwks_hits == 1  # cached

    platform.rotate()
    auth = await browser.login(platform)
    assert (await browser.launch(platform.token(auth["nonce"]), auth["state"])).status_code == 303
    assert platform.jwks_hits == 2  # refetched once for the new kid

    # A kid nobody published: the refetch just happened, so no new fetch (rate limit).
    auth = await browser.login(platform)
    _, stranger = new_key()
    forged = platform.sign(platform.claims(auth["nonce"]), key=stranger, kid="made-up")
    refused(await browser.launch(forged, auth["state"]), 401, "unknown_kid")
    assert platform.jwks_hits == 2
    assert (await browser.launch(platform.token(auth["nonce"]), auth["state"])).status_code == 303


async def test_unknown_platform_login_is_a_clear_page(browser: Browser, live_server) -> None:
    response = await browser.client.get(
        f"{live_server.url}/lti/login",
        params={
            "iss": "https://lms.nowhere.example",
            "login_hint": "x",
            "target_link_uri": f"{live_server.url}/lti/launch",
        },
    )
    refused(response, 404, "unknown_platform")
    response = await browser.client.post(f"{live_server.url}/lti/login", data={"iss": "x"})
    refused(response, 400, "bad_login_request")


async def test_login_for_another_tool_is_refused(browser: Browser, platform: FakeLms) -> None:
    response = await browser.client.get(
        f"{browser.tool}/lti/login",
        params={
            "iss": platform.issuer,
            "login_hint": "x",
            "target_link_uri": "https://elsewhere.example/launch",
        },
    )
    refused(response, 400, "bad_target_link_uri")


async def test_unreachable_platform_keys_are_a_clear_refusal(
    browser: Browser, platform: FakeLms
) -> None:
    auth = await browser.login(platform)
    platform.close()  # the LMS's JWKS endpoint is down
    refused(
        await browser.launch(platform.token(auth["nonce"]), auth["state"]), 401, "jwks_unavailable"
    )


async def test_login_by_form_post_works_too(browser: Browser, platform: FakeLms) -> None:
    auth = await browser.login(platform, method="POST")
    response = await browser.launch(platform.token(auth["nonce"]), auth["state"])
    assert response.status_code == 303


async def test_a_login_older_than_ten_minutes_is_refused(
    browser: Browser, platform: FakeLms, session_factory
) -> None:
    from sqlalchemy import update

    from ler_plugin.lti.models import LoginState

    auth = await browser.login(platform)
    async with session_factory() as session, session.begin():
        await session.execute(
            update(LoginState)
            .where(LoginState.state == auth["state"])
            .values(expires_at=LoginState.created_at)
        )
    refused(
        await browser.launch(platform.token(auth["nonce"]), auth["state"]), 401, "state_expired"
    )


async def test_a_deep_linked_activity_names_its_pd_credit_in_the_session(
    browser: Browser, platform: FakeLms, live_server
) -> None:
    auth = await browser.login(platform)
    token = platform.token(
        auth["nonce"],
        sub="teacher-3",
        lti_roles=[INSTRUCTOR],
        lti_custom={
            "pd_title": "Phonics lab",
            "pd_hours": "2.50",
            "pd_category": "literacy",
            "other": "x",
        },
    )
    _, principal = session_of(await browser.launch(token, auth["state"]), live_server.settings)
    assert principal.context["custom_pd_title"] == "Phonics lab"
    assert principal.context["custom_pd_hours"] == "2.50"
    assert principal.context["custom_pd_category"] == "literacy"
    assert "custom_other" not in principal.context


async def test_the_launch_keeps_where_the_lms_shows_the_tool(
    browser: Browser, platform: FakeLms, live_server
) -> None:
    auth = await browser.login(platform)
    token = platform.token(
        auth["nonce"],
        sub="teacher-4",
        lti_launch_presentation={
            "document_target": "iframe",
            "return_url": "https://district.instructure.com/courses/9",
        },
    )
    _, principal = session_of(await browser.launch(token, auth["state"]), live_server.settings)
    assert principal.context["return_url"] == "https://district.instructure.com/courses/9"
