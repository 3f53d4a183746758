"""Migrations: up to head, down to base, up again, on the backend under test; models agree."""

from __future__ import annotations

from sqlalchemy import inspect

from ler_plugin import migrate
from ler_plugin.config import Settings
from ler_plugin.db import make_engine
from ler_plugin.models import metadata


async def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return set(names) - {"alembic_version"}


async def test_upgrade_downgrade_upgrade(fresh_database: Settings) -> None:
    engine = make_engine(fresh_database)
    try:
        await migrate.upgrade(engine, fresh_database)
        assert await _tables(engine) == set(metadata.tables)
        await migrate.downgrade(engine, fresh_database, "base")
        assert await _tables(engine) == set()
        await migrate.upgrade(engine, fresh_database)
        assert await _tables(engine) == set(metadata.tables)
        assert await migrate.pending_diff(engine) == []
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(engine) -> None:  # type: ignore[no-untyped-def]
    assert await migrate.pending_diff(engine) == []
