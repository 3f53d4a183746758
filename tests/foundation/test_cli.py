"""The `ler-plugin` command as an administrator runs it: real settings, a real database; the demo
as a real process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner, Result

from ler_plugin.cli import app
from ler_plugin.config import Settings
from tests.conftest import free_port


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
    env["LER_DATABASE_URL"] = settings.database_url
    if settings.database_schema:
        env["LER_DATABASE_SCHEMA"] = settings.database_schema
    env.update(extra)
    return env


def _cli(*args: str, env: dict[str, str]) -> Result:
    """The command's own code in this process (a subprocess costs seconds of imports each)."""
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LER_")}
    overrides.update({k: v for k, v in env.items() if k.startswith("LER_")})
    return CliRunner().invoke(app, list(args), env=overrides, catch_exceptions=False)


def test_db_upgrade_then_district_add(fresh_database: Settings) -> None:
    env = _env(fresh_database)
    assert _cli("db", "upgrade", env=env).exit_code == 0
    added = _cli(
        "district", "add", "--slug", "austin-isd", "--name", "Austin ISD", "--state", "tx", env=env
    )
    assert added.exit_code == 0, added.output
    assert "austin-isd created" in added.output
    again = _cli(
        "district", "add", "--slug", "austin-isd", "--name", "Austin ISD", "--state", "TX", env=env
    )
    assert again.exit_code == 1
    assert "district_exists" in again.output
    bad = _cli("district", "add", "--slug", "x", "--name", "X", "--state", "ZZ", env=env)
    assert bad.exit_code == 1 and "bad_state" in bad.output


def test_invalid_settings_stop_the_program_naming_the_setting(fresh_database: Settings) -> None:
    result = _cli("db", "upgrade", env=_env(fresh_database, LER_BASE_URL="not a url"))
    assert result.exit_code == 2
    assert "LER_BASE_URL" in result.output
    assert "Traceback" not in result.output
    result = _cli("db", "upgrade", env=_env(fresh_database, LER_ENVIRONMENT="production"))
    assert result.exit_code == 2 and "LER_SECRET_KEY" in result.output


def test_demo_serves_health_and_a_teacher_wallet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
    database = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "ler_plugin", "demo", "--port", str(port), "--database", database],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 60
        token = None
        assert process.stdout is not None
        while time.monotonic() < deadline and token is None:
            line = process.stdout.readline()
            output += line
            if re.fullmatch(r"ey[\w-]+\.[\w-]+\.[\w-]+\n", line):
                token = line.strip()
        assert token, output
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{base}/healthz")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        answer = httpx.post(
            f"{base}/graphql",
            json={"query": "{ wallet { owner { displayName } records(first: 3) { totalCount } } }"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert answer["data"]["wallet"]["owner"]["displayName"] == "Ana Flores"
        assert answer["data"]["wallet"]["records"]["totalCount"] >= 4
    finally:
        process.terminate()
        process.wait(timeout=20)
