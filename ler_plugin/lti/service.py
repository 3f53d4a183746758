"""Platform registrations: add, list, find; deployments pending until a district admin decides.

A registration is keyed by (issuer, client_id) and belongs to one district. Its URLs must be
https; plain http is accepted only for loopback hosts and only with `allow_insecure_loopback`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.config import Settings
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.models import Deployment, DeploymentStatus, Platform
from ler_plugin.principal import Principal, Role

ID_MAX = 255


@dataclass(frozen=True)
class PlatformInput:
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    auth_audience: str | None = None
    name: str | None = None
    deployment_ids: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class PlatformView:
    platform: Platform
    deployments: list[Deployment]


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(settings: Settings, url: str, name: str) -> str:
    """An absolute https URL (http only for loopback with the flag); names the field when refused."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise LtiError("bad_url", f"{name} must be an absolute https URL, not {url!r}")
    if parts.username or parts.password or parts.fragment:
        raise LtiError("bad_url", f"{name} must not carry credentials or a #fragment: {url!r}")
    if parts.scheme == "http":
        if not is_loopback(parts.hostname):
            raise LtiError("insecure_url", f"{name} must use https: {url!r}")
        if not settings.allow_insecure_loopback:
            raise LtiError(
                "insecure_url",
                f"{name} uses plain http ({url!r}); that is allowed only for loopback hosts "
                "with LER_ALLOW_INSECURE_LOOPBACK=true",
            )
    return url


def _check_id(value: str, name: str) -> str:
    value = value.strip()
    if not value or len(value) > ID_MAX:
        raise LtiError(
            f"bad_{name}", f"the {name.replace('_', ' ')} must be 1 to {ID_MAX} characters"
        )
    return value


def _require_admin(principal: Principal, district_id: int) -> None:
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)


def _exists(issuer: str, client_id: str) -> LtiError:
    return LtiError(
        "platform_exists", f"a platform with issuer {issuer} and client id {client_id} exists"
    )


async def add_platform(
    *,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    district_id: int,
    data: PlatformInput,
    update: bool = False,
) -> Platform:
    """Register an LMS for a district; its listed deployment ids are approved at once.

    With `update` (dynamic registration run again), a registration the district already has
    takes the new URLs; one of another district is still refused. A listed deployment a district
    admin already decided on keeps that decision.
    """
    _require_admin(principal, district_id)
    issuer = check_url(settings, data.issuer, "the issuer")
    client_id = _check_id(data.client_id, "client_id")
    urls = {
        "auth_login_url": check_url(settings, data.auth_login_url, "the auth login URL"),
        "auth_token_url": check_url(settings, data.auth_token_url, "the auth token URL"),
        "auth_audience": check_url(settings, data.auth_audience, "the auth audience")
        if data.auth_audience
        else None,
        "jwks_url": check_url(settings, data.jwks_url, "the JWKS URL"),
    }
    deployment_ids = list(dict.fromkeys(_check_id(d, "deployment_id") for d in data.deployment_ids))
    platform = await find_platform(session=session, issuer=issuer, client_id=client_id)
    if platform is not None and not (update and platform.district_id == district_id):
        raise _exists(issuer, client_id)
    created = platform is None
    if platform is None:
        platform = Platform(district_id=district_id, issuer=issuer, client_id=client_id)
    platform.name = (data.name or "").strip() or None
    for name, value in urls.items():
        setattr(platform, name, value)
    try:
        async with session.begin_nested():
            session.add(platform)
            await session.flush()
    except IntegrityError:  # registered at the same moment by another request
        raise _exists(issuer, client_id) from None
    record_event(
        session,
        "lti:platform:create" if created else "lti:platform:update",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="lti_platform",
        subject_id=platform.id,
        issuer=issuer,
        client_id=client_id,
    )
    for deployment_id in deployment_ids:
        if await find_deployment(
            session=session, platform_id=platform.id, deployment_id=deployment_id
        ):
            continue
        session.add(
            Deployment(
                platform_id=platform.id,
                deployment_id=deployment_id,
                status=DeploymentStatus.APPROVED,
            )
        )
        _record_decision(session, principal, platform, deployment_id, "approve")
    await session.flush()
    return platform


def _record_decision(
    session: AsyncSession, principal: Principal, platform: Platform, deployment_id: str, what: str
) -> None:
    record_event(
        session,
        f"lti:deployment:{what}",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=platform.district_id,
        subject_type="lti_platform",
        subject_id=platform.id,
        deployment_id=deployment_id,
    )


async def find_platform(*, session: AsyncSession, issuer: str, client_id: str) -> Platform | None:
    return await session.scalar(
        select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    )


async def get_platform(*, session: AsyncSession, issuer: str, client_id: str) -> Platform:
    platform = await find_platform(session=session, issuer=issuer, client_id=client_id)
    if platform is None:
        raise LtiError(
            "unknown_platform",
            f"no platform is registered with issuer {issuer} and client id {client_id}",
            status=404,
        )
    return platform


async def platforms_for_issuer(*, session: AsyncSession, issuer: str) -> list[Platform]:
    return list(await session.scalars(select(Platform).where(Platform.issuer == issuer)))


async def list_platforms(
    *, session: AsyncSession, principal: Principal, district_id: int | None = None
) -> list[PlatformView]:
    """The registrations a principal may see (the operator: all, or one district's)."""
    principal.require(Role.DISTRICT_ADMIN)
    if Role.OPERATOR not in principal.roles:
        district_id = principal.district_id
    query = select(Platform).order_by(Platform.id)
    if district_id is not None:
        query = query.where(Platform.district_id == district_id)
    platforms = list(await session.scalars(query))
    deployments = list(
        await session.scalars(
            select(Deployment)
            .where(Deployment.platform_id.in_([p.id for p in platforms]))
            .order_by(Deployment.id)
        )
    )
    return [PlatformView(p, [d for d in deployments if d.platform_id == p.id]) for p in platforms]


async def find_deployment(
    *, session: AsyncSession, platform_id: int, deployment_id: str
) -> Deployment | None:
    return await session.scalar(
        select(Deployment).where(
            Deployment.platform_id == platform_id, Deployment.deployment_id == deployment_id
        )
    )


async def note_deployment(
    *, session: AsyncSession, platform: Platform, deployment_id: str
) -> Deployment:
    """The deployment a launch names; an unknown one is recorded as pending for an admin to decide."""
    deployment_id = _check_id(deployment_id, "deployment_id")
    found = await find_deployment(
        session=session, platform_id=platform.id, deployment_id=deployment_id
    )
    if found is not None:
        return found
    deployment = Deployment(
        platform_id=platform.id, deployment_id=deployment_id, status=DeploymentStatus.PENDING
    )
    try:
        async with session.begin_nested():
            session.add(deployment)
            await session.flush()
    except IntegrityError:  # a concurrent launch recorded it first
        found = await find_deployment(
            session=session, platform_id=platform.id, deployment_id=deployment_id
        )
        assert found is not None
        return found
    record_event(
        session,
        "lti:deployment:pending",
        actor_kind="lti",
        actor_id=platform.issuer,
        district_id=platform.district_id,
        subject_type="lti_platform",
        subject_id=platform.id,
        deployment_id=deployment_id,
    )
    return deployment


async def decide_deployment(
    *,
    session: AsyncSession,
    principal: Principal,
    issuer: str,
    client_id: str,
    deployment_id: str,
    approve: bool,
) -> Deployment:
    """Approve or reject a deployment id (created if the platform never launched with it yet)."""
    platform = await get_platform(session=session, issuer=issuer, client_id=client_id)
    _require_admin(principal, platform.district_id)
    deployment_id = _check_id(deployment_id, "deployment_id")
    deployment = await find_deployment(
        session=session, platform_id=platform.id, deployment_id=deployment_id
    )
    if deployment is None:
        deployment = Deployment(platform_id=platform.id, deployment_id=deployment_id)
        session.add(deployment)
    return await _decide(session, principal, platform, deployment, approve)


async def decide_deployment_by_id(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    deployment_pk: int,
    approve: bool,
) -> Deployment:
    """Approve or reject a deployment the district's dashboard lists, by its row id."""
    _require_admin(principal, district_id)
    found = (
        await session.execute(
            select(Deployment, Platform)
            .join(Platform, Platform.id == Deployment.platform_id)
            .where(Deployment.id == deployment_pk)
        )
    ).first()
    if found is None or found[1].district_id != district_id:
        raise LtiError("deployment_not_found", "no such deployment", status=404)
    deployment, platform = found
    return await _decide(session, principal, platform, deployment, approve)


async def _decide(
    session: AsyncSession,
    principal: Principal,
    platform: Platform,
    deployment: Deployment,
    approve: bool,
) -> Deployment:
    deployment.status = DeploymentStatus.APPROVED if approve else DeploymentStatus.REJECTED
    await session.flush()
    _record_decision(
        session, principal, platform, deployment.deployment_id, "approve" if approve else "reject"
    )
    return deployment


async def pending_deployments(
    *, session: AsyncSession, principal: Principal, district_id: int
) -> list[tuple[Deployment, Platform]]:
    """The district's deployments waiting for a decision, oldest first, with their platforms."""
    _require_admin(principal, district_id)
    rows = await session.execute(
        select(Deployment, Platform)
        .join(Platform, Platform.id == Deployment.platform_id)
        .where(Platform.district_id == district_id, Deployment.status == DeploymentStatus.PENDING)
        .order_by(Deployment.created_at, Deployment.id)
    )
    return list(rows.tuples())
