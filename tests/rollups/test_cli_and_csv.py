"""The CLI commands in-process (real settings from the environment, real database), and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from ler_plugin.cli import app
from ler_plugin.config import Settings
from tests import factories


@pytest.fixture
def env(settings: Settings, engine: AsyncEngine) -> Iterator[dict[str, str]]:
    values = {"LER_DATABASE_URL": settings.database_url, "LER_SECRET_KEY": settings.secret_key}
    if settings.database_schema:
        values["LER_DATABASE_SCHEMA"] = settings.database_schema
    yield values


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_seed_then_every_export_and_rules(env: dict[str, str]) -> None:
    runner = CliRunner()
    slug = factories.unique("cli")
    seeded = runner.invoke(
        app, ["seed", "--district", slug, "--teachers", "25", "--years", "2"], env=env
    )
    assert seeded.exit_code == 0, seeded.output

    records = runner.invoke(app, ["export", "records", "--district", slug], env=env)
    assert records.exit_code == 0, records.output
    rows = _csv(records.stdout)
    assert list(rows[0]) == [
        "record_id",
        "teacher_id",
        "teacher",
        "school",
        "kind",
        "source",
        "status",
        "category",
        "provider",
        "completed_on",
        "clock_hours",
        "ceus",
    ]
    # Private self reports and provider records never leave the wallet.
    assert len(rows) > 500 and len({r["record_id"] for r in rows}) == len(rows)

    rollup = runner.invoke(
        app,
        [
            "export",
            "rollup",
            "--district",
            slug,
            "--by",
            "school,category",
            "--from",
            "2024-07-01",
            "--to",
            "2026-06-30",
            "--min-teachers",
            "10",
        ],
        env=env,
    )
    assert rollup.exit_code == 0, rollup.output
    groups = _csv(rollup.stdout)
    assert groups and list(groups[0])[:3] == ["school_id", "school", "category"]
    for group in groups:
        if group["suppressed"] == "true":
            assert group["records"] == group["teachers"] == ""
        else:
            assert int(group["teachers"]) >= 10
    assert any(g["suppressed"] == "true" for g in groups)

    bad = runner.invoke(
        app, ["export", "rollup", "--district", slug, "--by", "school,colour"], env=env
    )
    assert bad.exit_code == 1 and "bad_group_by" in bad.output

    loaded = runner.invoke(app, ["rules", "load", "tx", "generic"], env=env)
    assert loaded.exit_code == 0, loaded.output
    chosen = runner.invoke(app, ["rules", "use", "--district", slug, "generic"], env=env)
    assert chosen.exit_code == 0 and "generic" in chosen.output
    unknown = runner.invoke(app, ["rules", "use", "--district", slug, "mars"], env=env)
    assert unknown.exit_code == 1 and "unknown_ruleset" in unknown.output
    back = runner.invoke(app, ["rules", "use", "--district", slug], env=env)
    assert back.exit_code == 0 and "tx" in back.output

    standing = runner.invoke(app, ["export", "compliance", "--district", slug], env=env)
    assert standing.exit_code == 0, standing.output
    teachers = _csv(standing.stdout)
    assert len(teachers) == 25
    assert {t["status"] for t in teachers} <= {
        "complete",
        "on_track",
        "at_risk",
        "behind",
        "exempt",
    }

    refreshed = runner.invoke(app, ["compliance", "refresh", "--district", slug], env=env)
    assert refreshed.exit_code == 0, refreshed.output
    assert "25 teachers evaluated" in refreshed.output
    again = runner.invoke(app, ["compliance", "refresh", "--district", slug], env=env)
    assert again.exit_code == 0 and "0 teachers evaluated" in again.output
    missing = runner.invoke(app, ["compliance", "refresh", "--district", "no-such"], env=env)
    assert missing.exit_code == 1 and "district" in missing.output
