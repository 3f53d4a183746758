from __future__ import annotations

import typer

from ler_plugin.cli.common import console, run, settings

app = typer.Typer(no_args_is_help=True, help="The database schema.")


@app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("heads", help="Target revision (default: latest)."),
) -> None:
    """Apply migrations up to REVISION."""
    cfg = settings()

    async def go() -> None:
        from ler_plugin import migrate
        from ler_plugin.db import make_engine

        engine = make_engine(cfg)
        try:
            await migrate.upgrade(engine, cfg, revision)
        finally:
            await engine.dispose()

    run(go)
    console.print(f"database at {revision}")


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Revert migrations down to REVISION."""
    cfg = settings()

    async def go() -> None:
        from ler_plugin import migrate
        from ler_plugin.db import make_engine

        engine = make_engine(cfg)
        try:
            await migrate.downgrade(engine, cfg, revision)
        finally:
            await engine.dispose()

    run(go)
    console.print(f"database at {revision}")
