"""``ler-plugin lti config <lms>``: what an LMS admin pastes to install the tool."""

from __future__ import annotations

from pathlib import Path

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="LTI: configuration for LMS administrators.")


@app.command("config")
def config(
    lms: str = typer.Argument(
        ..., help="canvas, moodle, schoology, brightspace, openedx or dynamic."
    ),
    district: str | None = typer.Option(
        None, help="dynamic only: print this district's registration URL (its slug)."
    ),
    base_url: str | None = typer.Option(
        None, help="The tool's public URL (default: LER_BASE_URL)."
    ),
) -> None:
    """Print the LMS configuration for this deployment of the tool."""
    from ler_plugin.lti.artifacts import LMS_CHOICES, render
    from ler_plugin.lti.services import LtiServiceError

    if lms not in LMS_CHOICES:
        console.print(f"[red]unknown LMS {lms!r}[/red]: choose one of {', '.join(LMS_CHOICES)}")
        raise typer.Exit(2)
    if district and lms != "dynamic":
        console.print("[red]--district only applies to `dynamic`[/red]")
        raise typer.Exit(2)
    cfg = settings()
    if district:
        from ler_plugin.districts import service as districts

        async def check_district() -> None:
            async with session_scope(cfg) as session:
                await districts.get_by_slug(session=session, slug=district)

        run(check_district)
    try:
        text = render(
            lms,
            base_url or cfg.base_url,
            district_slug=district,
            secret_key=cfg.secret_key if district else None,
        )
    except LtiServiceError as exc:
        console.print(f"[red]error ({exc.code}):[/red] {exc.message}")
        raise typer.Exit(1) from None
    typer.echo(text, nl=False)


@app.command("write-artifacts")
def write_artifacts_command(
    folder: Path = typer.Argument(Path("lti"), help="Where to write (the repository's lti/)."),
) -> None:
    """Regenerate the committed LMS artifacts for the example base URL."""
    from ler_plugin.lti.artifacts import EXAMPLE_BASE_URL, write_artifacts

    for path in write_artifacts(folder, EXAMPLE_BASE_URL):
        console.print(f"wrote {path}")
