"""`ler-plugin platform ...` and `ler-plugin keys ...`, run in-process on the test database."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import select
from typer.testing import CliRunner

from ler_plugin.cli import app
from ler_plugin.config import Settings
from ler_plugin.lti.models import Deployment, DeploymentStatus, Platform
from tests import factories


def env(settings: Settings, **extra: str) -> dict[str, str]:
    values = {
        "LER_DATABASE_URL": settings.database_url,
        "LER_DATABASE_SCHEMA": settings.database_schema or "",
        "LER_SECRET_KEY": settings.secret_key,
        "LER_BASE_URL": "https://wallet.example.org",
        "LER_ENVIRONMENT": "test",
        "LER_ALLOW_INSECURE_LOOPBACK": "false",
    }
    if not settings.database_schema:
        del values["LER_DATABASE_SCHEMA"]
    return {**values, **extra}


async def cli(settings: Settings, *args: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, app, list(args), env=env(settings))


async def test_platform_add_list_and_deployment_decisions(
    settings: Settings, engine, session_factory
) -> None:
    async with session_factory() as session, session.begin():
        district = await factories.district(session)
    issuer = f"https://lms-{secrets.token_hex(3)}.example"
    added = await cli(
        settings,
        "platform",
        "add",
        "--district",
        district.slug,
        "--issuer",
        issuer,
        "--client-id",
        "c-1",
        "--auth-login-url",
        f"{issuer}/auth",
        "--auth-token-url",
        f"{issuer}/token",
        "--jwks-url",
        f"{issuer}/jwks",
        "--auth-audience",
        f"{issuer}/aud",
        "--deployment-id",
        "d-1",
        "--deployment-id",
        "d-2",
    )
    assert added.exit_code == 0, added.output
    assert "https://wallet.example.org/lti/login" in added.stdout
    assert "https://wallet.example.org/lti/launch" in added.stdout
    assert "https://wallet.example.org/lti/jwks" in added.stdout

    listed = await cli(settings, "platform", "list", "--district", district.slug)
    assert issuer in listed.stdout and "d-1\tapproved" in listed.stdout

    rejected = await cli(
        settings,
        "platform",
        "reject-deployment",
        "--issuer",
        issuer,
        "--client-id",
        "c-1",
        "--deployment-id",
        "d-2",
    )
    assert rejected.exit_code == 0, rejected.output
    approved = await cli(
        settings,
        "platform",
        "approve-deployment",
        "--issuer",
        issuer,
        "--client-id",
        "c-1",
        "--deployment-id",
        "d-3",
    )
    assert approved.exit_code == 0, approved.output
    async with session_factory() as session:
        platform = await session.scalar(select(Platform).where(Platform.issuer == issuer))
        assert platform is not None and platform.auth_audience == f"{issuer}/aud"
        statuses = dict(
            (
                await session.execute(
                    select(Deployment.deployment_id, Deployment.status).where(
                        Deployment.platform_id == platform.id
                    )
                )
            )
            .tuples()
            .all()
        )
    assert statuses == {
        "d-1": DeploymentStatus.APPROVED,
        "d-2": DeploymentStatus.REJECTED,
        "d-3": DeploymentStatus.APPROVED,
    }


async def test_platform_add_refuses_plain_http_and_unknown_district(
    settings: Settings, engine, session_factory
) -> None:
    async with session_factory() as session, session.begin():
        district = await factories.district(session)
    base = "http://127.0.0.1:9"
    refused = await cli(
        settings,
        "platform",
        "add",
        "--district",
        district.slug,
        "--issuer",
        base,
        "--client-id",
        "c",
        "--auth-login-url",
        f"{base}/a",
        "--auth-token-url",
        f"{base}/t",
        "--jwks-url",
        f"{base}/j",
    )
    assert refused.exit_code == 1
    assert "insecure_url" in refused.output and "Traceback" not in refused.output
    unknown = await cli(
        settings,
        "platform",
        "approve-deployment",
        "--issuer",
        "https://x.example",
        "--client-id",
        "nope",
        "--deployment-id",
        "d",
    )
    assert unknown.exit_code == 1 and "unknown_platform" in unknown.output


async def test_keys_rotate_and_list(settings: Settings, engine) -> None:
    rotated = await cli(settings, "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    listed = await cli(settings, "keys", "list")
    assert "\tsigning\t" in listed.stdout
