"""LTI Dynamic Registration 1.0: an LMS admin pastes one URL and the tool installs itself.

The LMS opens ``/lti/register/<district>/<key>?openid_configuration=...&registration_token=...``.
We fetch the platform's OpenID configuration (§3.4), check its issuer against the URL it came
from (§3.5.1), post our client registration with the token as Bearer (§3.5.2), and store what
the platform answers (client id, deployment id) through `service.add_platform`, the same way an
operator registers an LMS by hand (§3.6). The district's key (an HMAC of its slug, printed by ``ler-plugin lti config dynamic``)
is what lets a stranger's LMS not register itself into a district it was never given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.config import Settings
from ler_plugin.districts.models import District
from ler_plugin.lti import service
from ler_plugin.lti.artifacts import (
    ToolUrls,
    registration_key_matches,
    registration_request,
    tool_urls,
)
from ler_plugin.lti.errors import LtiError, LtiServiceError
from ler_plugin.lti.models import Platform
from ler_plugin.lti.services import json_answer, user_agent
from ler_plugin.principal import Principal, Role

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
# Canvas Cloud signs every launch as one of these shared issuers while each school's
# configuration lives on its own host, so §3.5.1's prefix rule cannot hold there.
CANVAS_CLOUD_ISSUERS = frozenset(
    {
        "https://canvas.instructure.com",
        "https://canvas.beta.instructure.com",
        "https://canvas.test.instructure.com",
    }
)
CANVAS_CLOUD_HOST_SUFFIXES = (".instructure.com", ".canvaslms.com")


@dataclass(frozen=True)
class PlatformConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    authorization_server: str | None
    product_family_code: str | None


@dataclass(frozen=True)
class Registration:
    platform: Platform
    deployment_id: str | None
    product_family_code: str | None


def _error(code: str, message: str, status: int = 400) -> LtiError:
    """A refusal of ours (4xx), or the LMS failing or refusing us (5xx: an `LtiServiceError`)."""
    kind = LtiServiceError if status >= 500 else LtiError
    return kind(code, message, status=status)


def _checked_url(settings: Settings, url: str, what: str) -> str:
    """The platform's URLs pass the same check as a registration by hand, under this flow's code."""
    try:
        return service.check_url(settings, url, what)
    except LtiError as exc:
        raise _error("lti_registration_bad_url", exc.message) from None


def issuer_matches(configuration_url: str, issuer: str, product_family_code: str | None) -> bool:
    """§3.5.1: the configuration URL must start with the issuer (same scheme and host, and the
    issuer's path as a whole-segment prefix). Canvas Cloud's shared issuers are the one exception."""
    found = urlsplit(configuration_url)
    claimed = urlsplit(issuer)
    if (found.scheme, found.netloc.lower()) == (claimed.scheme, claimed.netloc.lower()):
        prefix = claimed.path.rstrip("/")
        return found.path == prefix or found.path.startswith(prefix + "/")
    host = (found.hostname or "").lower()
    return (
        product_family_code == "canvas"
        and issuer.rstrip("/") in CANVAS_CLOUD_ISSUERS
        and found.scheme == "https"
        and host.endswith(CANVAS_CLOUD_HOST_SUFFIXES)
    )


async def fetch_platform_configuration(
    client: httpx.AsyncClient,
    settings: Settings,
    openid_configuration: str,
    registration_token: str | None,
) -> PlatformConfiguration:
    _checked_url(settings, openid_configuration, "openid_configuration")
    headers = {"Accept": "application/json", "User-Agent": user_agent()}
    # Canvas wants the registration token on this request too; Moodle ignores it.
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    response = await _call(client, "GET", openid_configuration, headers=headers)
    if response.status_code >= 400:
        raise _error(
            "lti_registration_configuration_unavailable",
            f"the platform's OpenID configuration at {openid_configuration} answered "
            f"{response.status_code}; start the registration again from the LMS",
            status=502,
        )
    body = json_answer(response, "the platform's OpenID configuration", dict)

    def required(name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise _error(
                "lti_registration_bad_configuration",
                f"the platform's OpenID configuration has no {name}",
                status=502,
            )
        return value

    issuer = required("issuer")
    platform = body.get(PLATFORM_CONFIGURATION)
    family = platform.get("product_family_code") if isinstance(platform, dict) else None
    family = str(family) if family else None
    if not issuer_matches(openid_configuration, issuer, family):
        raise _error(
            "lti_registration_issuer_mismatch",
            f"the platform says its issuer is {issuer!r}, but its configuration was served from "
            f"{openid_configuration}, which does not start with that issuer",
        )
    endpoints = {
        name: _checked_url(settings, required(name), name)
        for name in (
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "registration_endpoint",
        )
    }
    server = body.get("authorization_server")
    return PlatformConfiguration(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        registration_endpoint=endpoints["registration_endpoint"],
        # Only a URL is an audience a token endpoint checks (Brightspace); Canvas puts a bare
        # host name here and wants the token URL as audience.
        authorization_server=server
        if isinstance(server, str)
        and server.startswith("https://")
        and server != endpoints["token_endpoint"]
        else None,
        product_family_code=family,
    )


async def post_registration(
    client: httpx.AsyncClient,
    configuration: PlatformConfiguration,
    urls: ToolUrls,
    registration_token: str | None,
) -> tuple[str, str | None]:
    """Send our client registration; returns (client_id, deployment_id or None)."""
    body = registration_request(urls, product_family_code=configuration.product_family_code)
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": user_agent(),
    }
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    response = await _call(
        client, "POST", configuration.registration_endpoint, headers=headers, json_body=body
    )
    if response.status_code >= 400:
        raise _error(
            "lti_registration_refused",
            f"the platform refused the registration ({response.status_code}: "
            f"{response.text.strip()[:200] or 'no detail'}); the registration token may have "
            "expired: start again from the LMS",
            status=502,
        )
    answer = json_answer(response, "the platform's registration endpoint", dict)
    client_id = answer.get("client_id")
    if not isinstance(client_id, str | int) or client_id == "":
        raise _error(
            "lti_registration_bad_response",
            "the platform accepted the registration but sent no client_id",
            status=502,
        )
    tool = answer.get(TOOL_CONFIGURATION)
    deployment = tool.get("deployment_id") if isinstance(tool, dict) else None
    return str(client_id), (str(deployment) if deployment not in (None, "") else None)


async def register(
    *,
    session: AsyncSession,
    client: httpx.AsyncClient,
    settings: Settings,
    district_slug: str,
    key: str,
    openid_configuration: str | None,
    registration_token: str | None,
) -> Registration:
    """The whole dynamic registration for one district; the caller commits."""
    if not openid_configuration:
        raise _error(
            "lti_registration_missing_configuration",
            "this URL is for the LMS's dynamic registration: paste it into the LMS's "
            "'register a tool by URL' screen rather than opening it directly",
        )
    if not registration_key_matches(settings.secret_key, district_slug, key):
        raise _error(
            "lti_registration_bad_key",
            "this registration URL is not valid for that district; ask the wallet's operator "
            "for the district's URL (ler-plugin lti config dynamic --district <slug>)",
            status=403,
        )
    district = await session.scalar(select(District).where(District.slug == district_slug))
    if district is None:
        raise _error("lti_registration_unknown_district", f"no district {district_slug!r}", 404)

    configuration = await fetch_platform_configuration(
        client, settings, openid_configuration, registration_token
    )
    client_id, deployment_id = await post_registration(
        client, configuration, tool_urls(settings.base_url), registration_token
    )
    # The district's key stands for its administrator's say-so, for this district only: the
    # platform and the deployment the LMS made while registering need no second approval.
    principal = Principal(
        roles=frozenset({Role.DISTRICT_ADMIN}),
        district_id=district.id,
        subject=f"lti-registration:{configuration.issuer}",
    )
    host = urlsplit(configuration.authorization_endpoint).hostname
    try:
        platform = await service.add_platform(
            session=session,
            settings=settings,
            principal=principal,
            district_id=district.id,
            data=service.PlatformInput(
                issuer=configuration.issuer,
                client_id=client_id,
                auth_login_url=configuration.authorization_endpoint,
                auth_token_url=configuration.token_endpoint,
                auth_audience=configuration.authorization_server,
                jwks_url=configuration.jwks_uri,
                name=f"{configuration.product_family_code or 'LMS'} at {host}",
                deployment_ids=[deployment_id] if deployment_id is not None else [],
            ),
            update=True,
        )
    except LtiError as exc:
        if exc.code != "platform_exists":
            raise
        raise _error(
            "lti_registration_platform_taken",
            f"client id {client_id} of {configuration.issuer} is already registered for another "
            "district",
            status=409,
        ) from None
    record_event(
        session,
        "lti:platform:register",
        actor_kind="lms",
        actor_id=configuration.issuer,
        district_id=district.id,
        subject_type="lti_platform",
        subject_id=platform.id,
        issuer=configuration.issuer,
        client_id=client_id,
        deployment_id=deployment_id,
        product=configuration.product_family_code,
    )
    return Registration(platform, deployment_id, configuration.product_family_code)


async def _call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json_body: dict[str, Any] | None = None,
) -> httpx.Response:
    try:
        return await client.request(method, url, headers=headers, json=json_body)
    except httpx.TimeoutException:
        raise _error(
            "lti_registration_timeout",
            f"the platform at {urlsplit(url).hostname} did not answer in time",
            504,
        ) from None
    except httpx.HTTPError as exc:
        raise _error(
            "lti_registration_unreachable",
            f"could not reach the platform at {urlsplit(url).hostname}: {type(exc).__name__}",
            502,
        ) from None
