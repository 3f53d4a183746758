"""`ler-plugin licences import`: teachers' licences from the district's CSV file."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="Teachers' licences.")


@app.command("import")
def import_licences(
    file: Path = typer.Argument(..., help="The licence CSV file (docs/roster-files.md)."),
    district: str = typer.Option(..., help="Slug of the district."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report what would change; write nothing."
    ),
) -> None:
    """Create or update licences from a CSV file: prints what was created, updated, unchanged
    and refused (with line and reason). One transaction: all of it lands, or none."""
    from ler_plugin.districts import service as districts
    from ler_plugin.licences import service
    from ler_plugin.principal import Principal

    cfg = settings()
    if not file.is_file():
        console.print(f"[red]error:[/red] {file} is not a file")
        raise typer.Exit(2)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        console.print(f"[red]error (bad_encoding):[/red] {file} is not UTF-8 (byte {exc.start})")
        raise typer.Exit(1) from None
    started = time.perf_counter()

    async def go() -> service.LicenceImport:
        async with session_scope(cfg, one_transaction=False) as session:
            async with session.begin() as transaction:
                found = await districts.get_by_slug(session=session, slug=district)
                result = await service.import_file(
                    session=session,
                    principal=Principal.operator(),
                    district_id=found.id,
                    name=file.name,
                    text=text,
                )
                if dry_run:
                    await transaction.rollback()
        return result

    result = run(go)
    for refusal in sorted(result.refused, key=lambda r: r.where.line or 0):
        typer.echo(f"refused {refusal.where}: {refusal.reason}")
    typer.echo(f"licences {file.name}" + (": DRY RUN, nothing was written" if dry_run else ""))
    typer.echo(
        f"  licences: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )
    typer.echo(f"  birth months: {result.birth_months} given or changed")
    typer.echo(f"  refused: {len(result.refused)} rows")
    typer.echo(f"  in {time.perf_counter() - started:.1f}s")
