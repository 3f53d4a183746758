"""Platform registrations: URL rules, uniqueness, who may add and decide, audit events."""

from __future__ import annotations

from dataclasses import replace

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


async def add(
    session, settings: Settings, district_id: int, platform: service.PlatformInput, **options: bool
):  # type: ignore[no-untyped-def]
    return await service.add_platform(
        session=session,
        settings=settings,
        principal=Principal.operator(),
        district_id=district_id,
        data=platform,
        **options,
    )


async def test_add_and_list_a_platform_with_audit(session, settings: Settings) -> None:
    district = await factories.district(session)
    platform = await add(
        session, settings, district.id, data(auth_audience="https://lms.example/aud")
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
    await add(session, settings, district.id, first)
    with pytest.raises(LtiError) as caught:
        await add(session, settings, district.id, first)
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
        await add(session, settings, district.id, data(**{field: url}))
    assert caught.value.code == code


async def test_plain_http_loopback_needs_the_flag(session, settings: Settings) -> None:
    district = await factories.district(session)
    strict = settings.model_copy(update={"allow_insecure_loopback": False})
    with pytest.raises(LtiError) as caught:
        await add(session, strict, district.id, data("http://127.0.0.1:9999"))
    assert caught.value.code == "insecure_url"
    assert "LER_ALLOW_INSECURE_LOOPBACK" in caught.value.message
    platform = await add(session, settings, district.id, data("http://localhost:9999"))
    assert platform.issuer == "http://localhost:9999"


async def test_district_admin_decides_own_deployments_only(session, settings: Settings) -> None:
    district = await factories.district(session)
    other = await factories.district(session)
    platform = await add(session, settings, district.id, data())
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


async def test_registering_again_updates_the_urls_and_keeps_decisions(
    session, settings: Settings
) -> None:
    district = await factories.district(session)
    first = data()
    platform = await add(session, settings, district.id, first)
    await service.decide_deployment(
        session=session,
        principal=Principal.operator(),
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_id="dep-1",
        approve=False,
    )
    moved = replace(first, jwks_url="https://lms.example/keys", deployment_ids=["dep-1", "dep-2"])
    again = await add(session, settings, district.id, moved, update=True)

    assert again.id == platform.id and again.jwks_url == "https://lms.example/keys"
    [view] = await service.list_platforms(
        session=session, principal=Principal.operator(), district_id=district.id
    )
    assert [(d.deployment_id, d.status) for d in view.deployments] == [
        ("dep-1", DeploymentStatus.REJECTED),
        ("dep-2", DeploymentStatus.APPROVED),
    ]
    other = await factories.district(session)
    with pytest.raises(LtiError) as caught:
        await add(session, settings, other.id, moved, update=True)
    assert caught.value.code == "platform_exists"
