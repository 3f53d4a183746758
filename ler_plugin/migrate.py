"""Schema migrations from code: `ler-plugin db upgrade`, the demo, and the tests all come here."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ler_plugin.config import Settings
from ler_plugin.models import metadata

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(settings: Settings) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["settings"] = settings
    return cfg


async def upgrade(engine: AsyncEngine, settings: Settings, revision: str = "heads") -> None:
    await _run(engine, settings, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, settings: Settings, revision: str = "base") -> None:
    await _run(engine, settings, lambda cfg: command.downgrade(cfg, revision))


async def pending_diff(engine: AsyncEngine) -> list[object]:
    """What autogenerate would still write: empty when the models and migrations agree."""

    def compare(connection: Connection) -> list[object]:
        ctx = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))

    async with engine.connect() as connection:
        return await connection.run_sync(compare)


async def _run(engine: AsyncEngine, settings: Settings, action: object) -> None:
    def run(connection: Connection) -> None:
        cfg = alembic_config(settings)
        cfg.attributes["connection"] = connection
        action(cfg)  # type: ignore[operator]

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def revisions(engine: AsyncEngine, settings: Settings) -> tuple[set[str], set[str]]:
    """(the revisions the database is at, the heads the code expects)."""
    from alembic.script import ScriptDirectory

    expected = set(ScriptDirectory.from_config(alembic_config(settings)).get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        return await connection.run_sync(current), expected
