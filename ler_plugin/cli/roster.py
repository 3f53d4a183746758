"""`ler-plugin roster import`: staff, schools and school assignments from the district's systems."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

if TYPE_CHECKING:
    from ler_plugin.config import Settings
    from ler_plugin.roster.service import ImportSummary
    from ler_plugin.roster.sources import Source

app = typer.Typer(no_args_is_help=True, help="Staff and schools from the district's systems.")

REFUSALS_SHOWN = 500


@app.command("import")
def import_roster(
    district: str = typer.Option(..., help="Slug of the district."),
    oneroster_csv: Path | None = typer.Option(
        None, "--oneroster-csv", help="A OneRoster CSV bundle: a folder or a zip."
    ),
    oneroster_url: str | None = typer.Option(
        None,
        "--oneroster-url",
        help="A OneRoster 1.2 rostering API: its base URL, …/ims/oneroster/rostering/v1p2.",
    ),
    token_url: str | None = typer.Option(
        None,
        "--token-url",
        help="The server's OAuth 2.0 token endpoint (OneRoster does not fix where it is).",
    ),
    edfi_url: str | None = typer.Option(
        None, "--edfi-url", help="An Ed-Fi ODS/API 7 base URL (its root names the other URLs)."
    ),
    client_id: str | None = typer.Option(None, "--client-id", help="OAuth 2.0 client id."),
    client_secret_env: str | None = typer.Option(
        None,
        "--client-secret-env",
        help="The environment variable that holds the client secret (never on the command line).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report what would change; write nothing."
    ),
) -> None:
    """Import staff, schools and assignments: prints what was created, updated, deactivated and
    refused (with file and line). One transaction: all of it lands, or none."""
    from ler_plugin.roster.sources import EdFi, OneRosterCsv, OneRosterRest, remote_policy

    cfg = settings()
    if sum(o is not None for o in (oneroster_csv, oneroster_url, edfi_url)) != 1:
        usage("give one of --oneroster-csv DIR_OR_ZIP, --oneroster-url URL and --edfi-url URL")
    source: Source
    if oneroster_csv is not None:
        source = OneRosterCsv(oneroster_csv)
    elif oneroster_url is not None:
        if not token_url:
            usage("--oneroster-url needs --token-url (OneRoster does not fix where it is)")
        client, secret = credentials(client_id, client_secret_env)
        source = OneRosterRest(oneroster_url, token_url, client, secret, remote_policy(cfg))
    else:
        assert edfi_url is not None
        client, secret = credentials(client_id, client_secret_env)
        source = EdFi(edfi_url, client, secret, remote_policy(cfg))
    run_import(cfg, district, source, dry_run)


def usage(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def credentials(client_id: str | None, secret_env: str | None) -> tuple[str, str]:
    """The client id and secret a server needs; a usage error when either is missing."""
    if not client_id or not secret_env:
        usage("a server needs --client-id and --client-secret-env")
    secret = os.environ.get(secret_env, "")
    if not secret:
        usage(f"the environment variable {secret_env} (--client-secret-env) is not set")
    return client_id, secret


def run_import(cfg: Settings, district: str, source: Source, dry_run: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ler_plugin.districts import service as districts
    from ler_plugin.principal import Principal
    from ler_plugin.roster import service

    started = time.perf_counter()
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )

    async def go() -> ImportSummary:
        with bar:
            task = bar.add_task("reading", total=None)

            def advance(done: int, total: int | None, what: str) -> None:
                bar.update(task, completed=done, total=total, description=what)

            async with session_scope(cfg, one_transaction=False) as session:
                # The district first: a wrong slug stops before anything is fetched.
                async with session.begin():
                    await districts.get_by_slug(session=session, slug=district)
                roster = await source.read(advance)
                async with session.begin() as transaction:
                    found = await districts.get_by_slug(session=session, slug=district)
                    summary = await service.apply(
                        session=session,
                        principal=Principal.operator(),
                        district_id=found.id,
                        roster=roster,
                        progress=advance,
                    )
                    if dry_run:
                        await transaction.rollback()
            return summary

    report(run(go), dry_run, time.perf_counter() - started)


def report(summary: ImportSummary, dry_run: bool, elapsed: float) -> None:
    refused = sorted(summary.refused, key=lambda r: (r.where.file, r.where.line or 0))
    for refusal in refused[:REFUSALS_SHOWN]:
        typer.echo(f"refused {refusal.where}: {refusal.reason}")
    if len(summary.refused) > REFUSALS_SHOWN:
        typer.echo(f"... and {len(summary.refused) - REFUSALS_SHOWN} more refused rows")
    s, t = summary.schools, summary.staff
    typer.echo(
        f"{summary.source} ({'full roster' if summary.full else 'changes only'})"
        + (": DRY RUN, nothing was written" if dry_run else "")
    )
    typer.echo(f"  schools: {s.created} created, {s.updated} updated, {s.unchanged} unchanged")
    typer.echo(
        f"  staff: {t.created} created, {t.updated} updated, {t.deactivated} deactivated, "
        f"{t.unchanged} unchanged"
    )
    typer.echo(
        f"  school assignments: {summary.memberships_added} added, "
        f"{summary.memberships_removed} removed"
    )
    typer.echo(f"  refused: {len(summary.refused)} rows")
    typer.echo(f"  skipped: {summary.not_staff} people who are not staff (students, guardians...)")
    typer.echo(f"  in {elapsed:.1f}s")
