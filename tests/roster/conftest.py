from __future__ import annotations

import pytest_asyncio

from ler_plugin.config import Settings
from tests.roster.cli import Install, install


@pytest_asyncio.fixture(loop_scope="session")
async def district(fresh_database: Settings) -> Install:
    return await install(fresh_database)


# The test LMS and browser of the LTI tests: launches here are the real thing.
from tests.lti.conftest import browser, platform  # noqa: E402, F401
