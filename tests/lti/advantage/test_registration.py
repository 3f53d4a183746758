"""Dynamic Registration through `/lti/register/<district>/<key>`, against a lms on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from ler_plugin.audit import AuditEvent
from ler_plugin.config import Settings
from ler_plugin.lti.artifacts import registration_key
from ler_plugin.lti.models import Deployment, DeploymentStatus, Platform
from ler_plugin.lti.registration import issuer_matches
from ler_plugin.lti.services import (
    SCOPE_NRPS,
    TOOL_SCOPES,
    TokenEndpoint,
    request_token,
)
from ler_plugin.web import lti_registration
from tests import factories
from tests.lti.advantage.lms import TOOL_CONFIG, Key, Lms


@pytest.fixture
def tool(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
) -> Starlette:
    app = Starlette(routes=lti_registration.routes())
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.http_client = client
    return app


async def new_district(session_factory: async_sessionmaker[AsyncSession]) -> str:
    async with session_factory() as session, session.begin():
        district = await factories.district(session)
        return district.slug


async def open_registration(
    tool: Starlette, settings: Settings, path: str, params: dict[str, str]
) -> httpx.Response:
    transport = httpx.ASGITransport(app=tool)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as browser:
        return await browser.get(path, params=params)


def register_path(settings: Settings, slug: str) -> str:
    return f"/lti/register/{slug}/{registration_key(settings.secret_key, slug)}"


def from_the_lms(lms: Lms) -> dict[str, str]:
    """The query an LMS adds when it opens the registration URL."""
    return {
        "openid_configuration": lms.openid_configuration_url,
        "registration_token": lms.registration_token,
    }


async def stored(
    session_factory: async_sessionmaker[AsyncSession], lms: Lms
) -> tuple[Platform | None, list[Deployment], list[AuditEvent]]:
    async with session_factory() as session:
        row = await session.scalar(
            select(Platform).where(Platform.issuer == lms.url, Platform.client_id == lms.client_id)
        )
        if row is None:
            return None, [], []
        deployments = list(
            await session.scalars(select(Deployment).where(Deployment.platform_id == row.id))
        )
        events = list(
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tag == "lti:platform:register",
                    AuditEvent.subject_id == str(row.id),
                )
            )
        )
        return row, deployments, events


async def test_moodle_style_registration_stores_platform_and_deployment(
    tool: Starlette,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    lms: Lms,
    client: httpx.AsyncClient,
    tool_key: Key,
) -> None:
    slug = await new_district(session_factory)
    response = await open_registration(
        tool,
        settings,
        register_path(settings, slug),
        from_the_lms(lms),
    )

    assert response.status_code == 200, response.text
    assert "org.imsglobal.lti.close" in response.text
    assert "(window.opener||window.parent)" in response.text
    agent, body = lms.registrations[0]
    assert agent and agent.startswith("ler-plugin/")
    assert body["application_type"] == "web"
    assert body["grant_types"] == ["client_credentials", "implicit"]
    assert body["response_types"] == ["id_token"]
    assert body["redirect_uris"] == [f"{settings.base_url}/lti/launch"]
    assert body["initiate_login_uri"] == f"{settings.base_url}/lti/login"
    assert body["jwks_uri"] == f"{settings.base_url}/lti/jwks"
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["scope"].split(" ") == list(TOOL_SCOPES)
    config = body[TOOL_CONFIG]
    assert config["domain"] == settings.base_url.removeprefix("http://")
    assert config["target_link_uri"] == f"{settings.base_url}/lti/launch"
    assert {m["type"] for m in config["messages"]} == {
        "LtiResourceLinkRequest",
        "LtiDeepLinkingRequest",
    }
    assert "email" in config["claims"] and "placements" not in config["messages"][0]

    row, deployments, events = await stored(session_factory, lms)
    assert row is not None
    assert row.auth_token_url == lms.token_url
    assert row.auth_login_url == f"{lms.url}/mod/lti/auth.php"
    assert row.jwks_url == f"{lms.url}/mod/lti/certs.php"
    assert row.auth_audience is None  # the authorization server is the token URL itself
    assert [(d.deployment_id, d.status) for d in deployments] == [("1", DeploymentStatus.APPROVED)]
    assert len(events) == 1 and events[0].data["client_id"] == lms.client_id
    # The stored registration is enough to call the platform's services.
    token, lifetime = await request_token(client, TokenEndpoint.of(row), tool_key, [SCOPE_NRPS])
    assert token and lifetime == 3600


async def test_canvas_style_registration_sends_placements_and_waits_for_the_deployment(
    tool: Starlette,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    lms: Lms,
) -> None:
    lms.flavour = "canvas"
    slug = await new_district(session_factory)
    response = await open_registration(
        tool,
        settings,
        register_path(settings, slug),
        from_the_lms(lms),
    )

    assert response.status_code == 200, response.text
    config = lms.registrations[0][1][TOOL_CONFIG]
    placements = {m["type"]: m["placements"] for m in config["messages"]}
    assert "course_navigation" in placements["LtiResourceLinkRequest"]
    assert "assignment_selection" in placements["LtiDeepLinkingRequest"]
    assert config["https://canvas.instructure.com/lti/privacy_level"] == "public"
    row, deployments, _ = await stored(session_factory, lms)
    assert row is not None and deployments == []
    assert row.auth_audience is None  # "canvas.instructure.com" is no audience for a token


async def registration_error(
    tool: Starlette, settings: Settings, path: str, params: dict[str, str], status: int
) -> str:
    response = await open_registration(tool, settings, path, params)
    assert response.status_code == status, response.text
    assert "Registration failed" in response.text
    assert "<script>ltiClose();</script>" not in response.text
    return response.text


async def test_refusals_are_named(
    tool: Starlette,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    lms: Lms,
) -> None:
    slug = await new_district(session_factory)
    good = from_the_lms(lms)
    wrong_key = f"/lti/register/{slug}/{'0' * 32}"
    assert "lti_registration_bad_key" in await registration_error(
        tool, settings, wrong_key, good, 403
    )
    other = await new_district(session_factory)
    assert "lti_registration_bad_key" in await registration_error(
        tool,
        settings,
        f"/lti/register/{slug}/{registration_key(settings.secret_key, other)}",
        good,
        403,
    )
    assert "lti_registration_unknown_district" in await registration_error(
        tool, settings, register_path(settings, "no-such-district"), good, 404
    )
    assert "lti_registration_missing_configuration" in await registration_error(
        tool, settings, register_path(settings, slug), {}, 400
    )
    assert "lti_registration_refused" in await registration_error(
        tool, settings, register_path(settings, slug), {**good, "registration_token": "x"}, 502
    )
    lms.issuer_override = "http://127.0.0.1:1"
    assert "lti_registration_issuer_mismatch" in await registration_error(
        tool, settings, register_path(settings, slug), good, 400
    )
    lms.issuer_override = None
    not_https = {**good, "openid_configuration": "http://lms.example/openid"}
    assert "lti_registration_bad_url" in await registration_error(
        tool, settings, register_path(settings, slug), not_https, 400
    )
    assert lms.registrations == []
    assert (await stored(session_factory, lms))[0] is None


async def test_registering_again_updates_and_another_district_cannot_take_it(
    tool: Starlette,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    lms: Lms,
) -> None:
    slug = await new_district(session_factory)
    params = from_the_lms(lms)
    for _ in range(2):
        response = await open_registration(tool, settings, register_path(settings, slug), params)
        assert response.status_code == 200, response.text
    row, deployments, events = await stored(session_factory, lms)
    assert row is not None and len(deployments) == 1 and len(events) == 2

    thief = await new_district(session_factory)
    text = await registration_error(tool, settings, register_path(settings, thief), params, 409)
    assert "lti_registration_platform_taken" in text


@pytest.mark.parametrize(
    ("configuration_url", "issuer", "family", "ok"),
    [
        (
            "https://moodle.example/mod/lti/openid-configuration.php",
            "https://moodle.example",
            "moodle",
            True,
        ),
        (
            "https://lms.example/moodle/mod/lti/openid-configuration.php",
            "https://lms.example/moodle",
            "moodle",
            True,
        ),
        ("https://lms.example/moodle2/openid", "https://lms.example/moodle", "moodle", False),
        ("https://evil.example/openid", "https://moodle.example", "moodle", False),
        ("http://moodle.example/openid", "https://moodle.example", "moodle", False),
        (
            "https://school.instructure.com/api/lti/security/openid-configuration",
            "https://canvas.instructure.com",
            "canvas",
            True,
        ),
        (
            "https://sso.canvaslms.com/api/lti/security/openid-configuration",
            "https://canvas.instructure.com",
            "canvas",
            True,
        ),
        (
            "https://evil.example/api/lti/security/openid-configuration",
            "https://canvas.instructure.com",
            "canvas",
            False,
        ),
        (
            "https://school.instructure.com/openid",
            "https://canvas.instructure.com",
            "moodle",
            False,
        ),
    ],
)
def test_issuer_must_prefix_the_configuration_url(
    configuration_url: str, issuer: str, family: str, ok: bool
) -> None:
    assert issuer_matches(configuration_url, issuer, family) is ok
