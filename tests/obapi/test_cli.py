"""`ler-plugin obapi` as an operator runs it, in processes of its own on a fresh database: the
district's registered apps, and removing one, which ends its teachers' tokens at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from ler_plugin import rollups
from ler_plugin.config import Settings
from ler_plugin.db import make_engine, make_session_factory
from tests.conftest import LiveServer, _drop_schema, free_port, fresh_settings
from tests.obapi.helpers import assert_imsx, client_app, connect, make_teacher


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
    env["LER_DATABASE_URL"] = settings.database_url
    if settings.database_schema:
        env["LER_DATABASE_SCHEMA"] = settings.database_schema
    env["COLUMNS"] = "250"  # rich tables: no wrapped client ids
    return subprocess.run(
        [sys.executable, "-m", "ler_plugin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def test_an_operator_lists_and_removes_a_districts_apps(tmp_path: Path) -> None:
    settings, schema = fresh_settings(tmp_path, base_url=f"http://127.0.0.1:{free_port()}")
    try:
        upgraded = _cli(settings, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
        engine = rollups.install(make_engine(settings))
        teacher = await make_teacher(make_session_factory(engine), settings)
        await engine.dispose()
        server = LiveServer(settings)
        await asyncio.to_thread(server.start)
        try:
            with client_app() as app:
                sdd, oauth, token = connect(server.url, teacher, app)
            listed = _cli(settings, "obapi", "apps", "--district", teacher.slug)
            assert listed.returncode == 0, listed.stderr
            row = next(line for line in listed.stdout.splitlines() if oauth.client_id in line)
            assert "Example Client Application" in row and row.rstrip(" │").endswith("1")

            removed = _cli(settings, "obapi", "remove", str(oauth.client_id))
            assert removed.returncode == 0, removed.stderr
            assert f"app {oauth.client_id} removed" in removed.stderr
            api = sdd["servers"][0]["url"]
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            assert_imsx(httpx.get(f"{api}/credentials", headers=bearer), 401)

            again = _cli(settings, "obapi", "remove", str(oauth.client_id))
            assert again.returncode == 1 and "client_not_found" in again.stderr
            assert "Traceback" not in again.stderr
            listed = _cli(settings, "obapi", "apps", "--district", teacher.slug)
            assert oauth.client_id not in listed.stdout
        finally:
            await asyncio.to_thread(server.stop)
    finally:
        if schema:
            _drop_schema(schema)
