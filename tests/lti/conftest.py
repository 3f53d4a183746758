from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.config import Settings
from ler_plugin.lti import service
from ler_plugin.principal import Principal
from tests import factories
from tests.lti.platform import Browser, FakeLms


async def register(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings, platform: FakeLms
) -> int:
    async with session_factory() as session, session.begin():
        district = await factories.district(session)
        await service.add_platform(
            session=session,
            settings=settings,
            principal=Principal.operator(),
            district_id=district.id,
            data=service.PlatformInput(
                issuer=platform.issuer,
                client_id=platform.client_id,
                auth_login_url=platform.auth_login_url,
                auth_token_url=f"{platform.base}/token",
                jwks_url=platform.jwks_url,
                deployment_ids=[platform.deployment_id],
            ),
        )
        return district.id


@pytest_asyncio.fixture
async def platform(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> AsyncIterator[FakeLms]:
    """A test LMS registered (with one approved deployment) for a new district."""
    test_platform = FakeLms()
    test_platform.district_id = await register(session_factory, settings, test_platform)  # type: ignore[attr-defined]
    yield test_platform
    test_platform.close()


@pytest_asyncio.fixture
async def browser(live_server) -> AsyncIterator[Browser]:  # type: ignore[no-untyped-def]
    found = Browser(live_server.url)
    yield found
    await found.close()
