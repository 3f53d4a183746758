"""Test isolation: each run gets its own SQLite file or PostgreSQL schema, migrated to head.

Set LER_DATABASE_URL to a PostgreSQL URL to run the suite there (CI does both); anything else
runs on a fresh SQLite file. Service tests use `session`, which rolls back; tests over HTTP use
`live_server`, whose rows are committed, so they create their own districts (unique slugs).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ler_plugin import migrate, rollups
from ler_plugin.app import build_app
from ler_plugin.config import Settings, load_settings
from ler_plugin.db import make_engine, make_session_factory

ARTIFACTS = Path(__file__).parent / ".artifacts"


def _postgres_url() -> str | None:
    url = os.environ.get("LER_DATABASE_URL", "")
    return url if url.startswith("postgres") else None


# The app connects as an ordinary role that owns its schema, as docs/deployment.md asks: a
# superuser would pass the district wall (row-level security) that the whole suite must respect.
APP_ROLE = "ler_app"


def _create_schema(url: str) -> tuple[str, str]:
    """A new schema owned by the app role, and the URL that connects as that role."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"t_{os.getpid()}_{secrets.token_hex(4)}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(
            f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(f'CREATE SCHEMA "{name}" AUTHORIZATION {APP_ROLE}')
    as_app = make_url(url).set(username=APP_ROLE)
    return name, as_app.render_as_string(hide_password=False)


def _drop_schema(name: str) -> None:
    import psycopg

    plain = (_postgres_url() or "").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def fresh_settings(tmp_dir: Path, **overrides: object) -> tuple[Settings, str | None]:
    """Settings for a brand-new empty database: a new SQLite file or a new PostgreSQL schema."""
    pg = _postgres_url()
    schema, url = (
        _create_schema(pg)
        if pg
        else (None, f"sqlite+aiosqlite:///{tmp_dir / f'ler-{secrets.token_hex(4)}.sqlite3'}")
    )
    values: dict[str, object] = {
        "environment": "test",
        "database_url": url,
        "database_schema": schema,
        "allow_insecure_loopback": True,
        "secret_key": "test-secret-key-" + secrets.token_hex(16),
        "data_dir": tmp_dir,
        # The suite makes thousands of requests from 127.0.0.1 in a few minutes; the limits
        # themselves are tested on servers of their own (tests/security/test_rate_limits.py).
        "token_requests_per_minute": 100_000,
        "launches_per_minute": 100_000,
        "badge_posts_per_minute": 100_000,
    }
    values.update(overrides)
    return load_settings(**values), schema


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[Settings]:
    """An empty database of the backend under test, for migration tests; dropped afterwards."""
    settings, schema = fresh_settings(tmp_path)
    yield settings
    if schema:
        _drop_schema(schema)


@pytest.fixture(scope="session")
def free_port_base() -> int:
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    tmp = tmp_path_factory.mktemp("db")
    port = free_port()
    base, schema = fresh_settings(tmp, base_url=f"http://127.0.0.1:{port}")
    yield base
    if schema:
        _drop_schema(schema)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = rollups.install(make_engine(settings))
    await migrate.upgrade(engine, settings)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose every change is rolled back when the test ends."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        db = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield db
        finally:
            await db.close()
            await outer.rollback()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that really commit: for data a live server must see."""
    return make_session_factory(engine)


class LiveServer:
    def __init__(self, settings: Settings, port: int | None = None) -> None:
        self.settings = settings
        port = port or int(settings.base_url.rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            build_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 120  # returns as soon as the server answers
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def live_server(settings: Settings, engine: AsyncEngine) -> AsyncIterator[LiveServer]:
    """The whole app served over real HTTP on 127.0.0.1, on the test database."""
    server = LiveServer(settings)
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


@pytest.fixture(scope="session")
def switchboard() -> Iterator[Any]:
    """One server for the test LMSs of the whole run; each test attaches its own LMS to it."""
    from tests.lti.advantage.lms import Switchboard, serve  # it imports this module

    board = Switchboard()
    with serve(board) as url:
        board.url = url
        yield board
