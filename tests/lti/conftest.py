from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.config import Settings
from tests import factories
from tests.lti.platform import Browser, FakeLms


@pytest_asyncio.fixture
async def platform(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> AsyncIterator[FakeLms]:
    """A test LMS registered (with one approved deployment) for a new district."""
    test_platform = FakeLms()
    test_platform.district_id = await factories.district_with_platform(  # type: ignore[attr-defined]
        session_factory, settings, test_platform.registration(test_platform.deployment_id)
    )
    yield test_platform
    test_platform.close()


@pytest_asyncio.fixture
async def browser(live_server) -> AsyncIterator[Browser]:  # type: ignore[no-untyped-def]
    found = Browser(live_server.url)
    yield found
    await found.close()
