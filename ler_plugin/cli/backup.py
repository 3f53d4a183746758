from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from ler_plugin.cli.common import console, run, session_scope, settings


def backup(slug: str = typer.Option(..., "--district", help="The district's slug.")) -> None:
    """Write one district's data as JSON on standard output."""
    from ler_plugin import backup as backups
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> dict[str, Any]:
        async with session_scope(cfg) as session:
            return await backups.backup(session=session, principal=Principal.operator(), slug=slug)

    document = run(go)
    json.dump(document, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")
    rows = sum(len(v) for v in document["tables"].values())
    console.print(f"backed up district {slug}: {rows} rows")


def restore(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A backup file."),
) -> None:
    """Restore a district from a backup file (all or nothing)."""
    from ler_plugin import backup as backups
    from ler_plugin.principal import Principal

    cfg = settings()
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        console.print(f"[red]error (bad_backup):[/red] {path} is not a JSON backup: {exc}")
        raise typer.Exit(1) from None

    async def go() -> dict[str, int]:
        async with session_scope(cfg) as session:
            return await backups.restore(
                session=session, principal=Principal.operator(), document=document
            )

    counts = run(go)
    console.print(f"restored {sum(counts.values())} rows in {len(counts)} tables")
