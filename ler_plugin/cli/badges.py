"""`ler-plugin badges ...`: verify one badge, recheck the hosted ones."""

from __future__ import annotations

import json

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="Open Badges: verify, recheck.")


@app.command("verify")
def verify(
    path_or_url: str = typer.Argument(
        ..., help="A hosted assertion URL, or a file: JSON, JWS / VC-JWT, baked PNG or SVG."
    ),
) -> None:
    """Verify one badge; print the report as JSON. Exit 0 valid, 1 not valid, 2 usage error."""
    import re
    from pathlib import Path

    from ler_plugin.badges.verify import verify_path_or_url
    from ler_plugin.fetch import FetchPolicy

    cfg = settings()
    if not re.match(r"^https?://", path_or_url, re.IGNORECASE) and not Path(path_or_url).is_file():
        console.print(f"[red]error:[/red] {path_or_url} is neither an http(s) URL nor a file")
        raise typer.Exit(2)
    report = verify_path_or_url(path_or_url, policy=FetchPolicy.from_settings(cfg))
    typer.echo(json.dumps(report.to_json(), indent=2, default=str))
    raise typer.Exit(0 if report.valid else 1)


@app.command("recheck")
def recheck(
    district: str | None = typer.Option(None, help="Only this district (slug); default all."),
) -> None:
    """Verify hosted badges again; mark the revoked and expired ones."""
    from rich.progress import Progress

    from ler_plugin.badges import service
    from ler_plugin.districts import service as districts
    from ler_plugin.fetch import FetchPolicy
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> service.RecheckSummary:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("rechecking badges", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            async with session_scope(cfg, one_transaction=False) as session:
                district_id = None
                if district is not None:
                    found = await districts.get_by_slug(session=session, slug=district)
                    district_id = found.id
                summary = service.RecheckSummary()
                # One unit of work per badge, committed here: none is held while fetching.
                async for step in service.recheck(
                    session=session,
                    principal=Principal.operator(),
                    policy=FetchPolicy.from_settings(cfg),
                    district_id=district_id,
                ):
                    await session.commit()
                    advance(step.done, step.total)
                    summary = step.summary
                return summary

    summary = run(go)
    console.print(
        f"checked {summary.checked}: {summary.still_valid} still valid, "
        f"{summary.revoked} revoked, {summary.expired} expired, "
        f"{summary.unreachable} unreachable (left as they were)"
    )
