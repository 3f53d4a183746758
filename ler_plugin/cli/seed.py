"""`ler-plugin seed`: generate a realistic district for demos and benchmarks."""

from __future__ import annotations

import time

import typer

from ler_plugin.cli.common import console, run, session_scope, settings


def seed(
    district: str = typer.Option(..., help="Slug of the district; created when missing."),
    teachers: int = typer.Option(200, help="How many teachers to generate."),
    years: int = typer.Option(3, help="Years of activity before today."),
    state: str = typer.Option(None, help="Two-letter state for a new district (default TX)."),
    random_seed: int = typer.Option(1, "--random-seed", help="Same seed, same district."),
) -> None:
    """Generate schools, providers, teachers with licences and years of skewed PD activity."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ler_plugin.seed import seed as generate

    cfg = settings()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]seeding {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("teachers  {task.fields[records]:,} records  {task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    started = time.perf_counter()

    async def go() -> tuple[int, int, int, int]:
        with progress:
            task = progress.add_task(district, total=teachers, records=0, rate=0.0)

            def advance(done: int, records: int) -> None:
                rate = records / max(time.perf_counter() - started, 1e-6)
                progress.update(task, completed=done, records=records, rate=rate)

            async with session_scope(cfg) as session:
                report = await generate(
                    session=session,
                    slug=district,
                    teachers=teachers,
                    years=years,
                    state=state,
                    random_seed=random_seed,
                    progress=advance,
                )
            return report.district_id, report.schools, report.records, report.cells

    district_id, schools, records, cells = run(go)
    elapsed = time.perf_counter() - started
    console.print(
        f"district {district} (id {district_id}): {schools} schools, {teachers:,} teachers, "
        f"{records:,} records, {cells:,} summary cells in {elapsed:.1f}s"
    )
