"""Platform registrations: URL rules, uniqueness, who may add and decide, audit events."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ler_plugin.audit import AuditEvent
from ler_plugin.config import Settings
from ler_plugin.errors import Forbidden
from ler_plugin.lti import service
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.models import DeploymentStatus
from ler_plugin.principal import Principal, Role
from tests import factories


def data(base: str = "https://lms.example", **changes: object) -> service.PlatformInput:
    values: dict[str, object] = {
        "issuer": base,
        "client_id": factories.unique("client"),
        "auth_login_url": f"{base}/auth",
        "auth_token_url": f"{base}/token",
        "jwks_url": f"{base}/jwks",
        "deployment_ids": ["dep-1"],
    }
    values.update(changes)
    return service.PlatformInput(**values)  # type: ignore[arg-type]


async def test_add_and_list_a_platform_with_audit(session, settings: Settings) -> None:
    district = await factories.district(session)
    platform = await service.add_platform(
        session=session,
        settings=settings,
        principal=Principal.operator(),
        district_id=district.id,
        data=data(auth_audience="https://lms.example/aud"),
    )
    [view] = await service.list_platforms(
        session=session, principal=Principal.operator(), district_id=district.id
    )
    assert view.platform.id == platform.id
    assert view.platform.auth_audience == "https://lms.example/aud"
    assert [(d.deployment_id, d.status) for d in view.deployments] == [
        ("dep-1", DeploymentStatus.APPROVED)
    ]
    tags = set(
        await session.scalars(select(AuditEvent.tag).where(AuditEvent.district_id == district.id))
    )
    assert {"lti:platform:create", "lti:deployment:approve"} <= tags


async def test_same_issuer_and_client_id_twice_is_refused(session, settings: Settings) -> None:
    district = await factories.district(session)
    first = data()
    await service.add_platform(
        session=session,
        settings=settings,
        principal=Principal.operator(),
        district_id=district.id,
        data=first,
    )
    with pytest.raises(LtiError) as caught:
        await service.add_platform(
            session=session,
            settings=settings,
            principal=Principal.operator(),
            district_id=district.id,
            data=first,
        )
    assert caught.value.code == "platform_exists"


@pytest.mark.parametrize(
    ("field", "url", "code"),
    [
        ("jwks_url", "http://lms.example/jwks", "insecure_url"),
        ("auth_login_url", "ftp://lms.example/auth", "bad_url"),
        ("auth_token_url", "https://user:pw@lms.example/token", "bad_url"),
        ("issuer", "lms.example", "bad_url"),
    ],
)
async def test_platform_urls_must_be_https(
    session, settings: Settings, field: str, url: str, code: str
) -> None:
    district = await factories.district(session)
    with pytest.raises(LtiError) as caught:
        await service.add_platform(
            session=session,
            settings=settings,
            principal=Principal.operator(),
            district_id=district.id,
            data=data(**{field: url}),
        )
    assert caught.value.code == code


async def test_plain_http_loopback_needs_the_flag(session, settings: Settings) -> None:
    district = await factories.district(session)
    strict = settings.model_copy(update={"allow_insecure_loopback": False})
    with pytest.raises(LtiError) as caught:
        await service.add_platform(
            session=session,
            settings=strict,
            principal=Principal.operator(),
            district_id=district.id,
            data=data("http://127.0.0.1:9999"),
        )
    assert caught.value.code == "insecure_url"
    assert "LER_ALLOW_INSECURE_LOOPBACK" in caught.value.message
    platform = await service.add_platform(
        session=session,
        settings=settings,
        principal=Principal.operator(),
        district_id=district.id,
        data=data("http://localhost:9999"),
    )
    assert platform.issuer == "http://localhost:9999"


async def test_district_admin_decides_own_deployments_only(session, settings: Settings) -> None:
    district = await factories.district(session)
    other = await factories.district(session)
    platform = await service.add_platform(
        session=session,
        settings=settings,
        principal=Principal.operator(),
        district_id=district.id,
        data=data(),
    )
    await service.note_deployment(session=session, platform=platform, deployment_id="dep-9")
    outsider = Principal(roles=frozenset({Role.DISTRICT_ADMIN}), district_id=other.id, subject="x")
    with pytest.raises(Forbidden):
        await service.decide_deployment(
            session=session,
            principal=outsider,
            issuer=platform.issuer,
            client_id=platform.client_id,
            deployment_id="dep-9",
            approve=True,
        )
    teacher = Principal(roles=frozenset({Role.TEACHER}), district_id=district.id, subject="t")
    with pytest.raises(Forbidden):
        await service.decide_deployment(
            session=session,
            principal=teacher,
            issuer=platform.issuer,
            client_id=platform.client_id,
            deployment_id="dep-9",
            approve=True,
        )
    admin = Principal(roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district.id, subject="a")
    rejected = await service.decide_deployment(
        session=session,
        principal=admin,
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_id="dep-9",
        approve=False,
    )
    assert rejected.status == DeploymentStatus.REJECTED
    assert (
        await session.scalar(
            select(AuditEvent.tag).where(
                AuditEvent.district_id == district.id, AuditEvent.tag == "lti:deployment:reject"
            )
        )
        is not None
    )


async def test_tool_urls_are_what_an_lms_admin_pastes(settings: Settings) -> None:
    urls = service.tool_urls(settings)
    assert urls["login_initiation_url"] == f"{settings.base_url}/lti/login"
    assert urls["redirect_uri"] == f"{settings.base_url}/lti/launch"
    assert urls["jwks_url"] == f"{settings.base_url}/lti/jwks"
