from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.config import Settings
from ler_plugin.lti import service
from ler_plugin.principal import Principal
from tests import factories
from tests.lti.advantage.lms import Switchboard, serve
from tests.lti.platform import Browser, FakeLms


@pytest.fixture(scope="session")
def switchboard() -> Iterator[Switchboard]:
    """One server for the LMSs of the whole run; each test attaches its own LMS to it."""
    board = Switchboard()
    with serve(board) as url:
        board.url = url
        yield board


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
            data=platform.registration(platform.deployment_id),
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
