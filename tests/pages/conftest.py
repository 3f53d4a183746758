from __future__ import annotations

import pytest_asyncio

from tests.conftest import free_port
from tests.pages.world import World, make_world


@pytest_asyncio.fixture(loop_scope="session")
async def world(live_server, session_factory) -> World:  # type: ignore[no-untyped-def]
    return await make_world(
        session_factory, live_server.settings, f"http://127.0.0.1:{free_port()}"
    )
