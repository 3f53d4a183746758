"""The `ler-plugin` command as an operator runs it: a real process on a real, fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin import migrate, rollups
from ler_plugin.config import Settings
from ler_plugin.db import make_engine, make_session_factory
from ler_plugin.districts import service as districts
from ler_plugin.principal import Principal


@dataclass
class Install:
    """A fresh database migrated by `ler-plugin db upgrade`, with one district made by the CLI."""

    settings: Settings
    district: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
        # Each run compiles every module again unless bytecode may be cached: seconds each.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["LER_DATABASE_URL"] = self.settings.database_url
        env["LER_SECRET_KEY"] = self.settings.secret_key
        env["LER_DATA_DIR"] = str(self.settings.data_dir)
        env["LER_ALLOW_INSECURE_LOOPBACK"] = "true"
        env["COLUMNS"] = "250"  # error lines unwrapped, as a log reads them
        if self.settings.database_schema:
            env["LER_DATABASE_SCHEMA"] = self.settings.database_schema
        env.update(extra)
        return env

    def run(self, *args: str, ok: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "ler_plugin", *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        engine = rollups.install(make_engine(self.settings))
        try:
            async with make_session_factory(engine)() as session:
                yield session
        finally:
            await engine.dispose()


async def install(settings: Settings, district: str = "district-one", state: str = "TX") -> Install:
    """Migrated, with its district (in this process: `db upgrade` and `district add` have subprocess
    tests of their own, and these run before every test here)."""
    engine = rollups.install(make_engine(settings))
    try:
        await migrate.upgrade(engine, settings)
        async with make_session_factory(engine)() as session, session.begin():
            await districts.create(
                session=session,
                principal=Principal.operator(),
                slug=district,
                name=f"{district} schools",
                state=state,
            )
    finally:
        await engine.dispose()
    return Install(settings, district)
