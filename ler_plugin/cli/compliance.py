"""`ler-plugin compliance refresh`: evaluate every teacher whose stored status is not current.

Run it nightly (cron, a systemd timer) so each day's dashboards and compliance counts find every
status current and evaluate only the teachers whose records or licences changed since.
"""

from __future__ import annotations

import time

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="Teachers' renewal-cycle compliance.")


@app.command("refresh")
def refresh(district: str = typer.Option(..., help="Slug of the district.")) -> None:
    """Evaluate, for today, every teacher of the district whose stored status is not current."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ler_plugin.districts import service as districts
    from ler_plugin.principal import Principal
    from ler_plugin.rollups import compliance

    cfg = settings()
    progress = Progress(
        TextColumn("[bold]evaluating {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("teachers"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    started = time.perf_counter()

    async def go() -> int:
        with progress:
            task = progress.add_task(district, total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            async with session_scope(cfg) as session:
                found = await districts.get_by_slug(session=session, slug=district)
                return await compliance.refresh(
                    session=session,
                    principal=Principal.operator(),
                    district_id=found.id,
                    progress=advance,
                )

    evaluated = run(go)
    console.print(
        f"district {district}: {evaluated:,} teachers evaluated in "
        f"{time.perf_counter() - started:.1f}s; every status is current for today"
    )
