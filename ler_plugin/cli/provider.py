"""`ler-plugin provider ...`: register PD providers and manage their API credentials."""

from __future__ import annotations

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="PD providers that post badges through the API.")


def _print_secret(client_id: str, client_secret: str) -> None:
    # The secret goes to stdout (it is the command's output); the notes go to stderr.
    typer.echo(f"client_id: {client_id}")
    typer.echo(f"client_secret: {client_secret}")
    console.print("[yellow]Store the secret now: it is shown only once.[/yellow]")


@app.command("add")
def add(
    district: str = typer.Option(..., help="The district's slug."),
    name: str = typer.Option(..., help="The provider's name, unique in the district."),
    issuer: list[str] = typer.Option(
        ..., help="An Open Badges issuer id (URL or DID) it may post for; repeat for several."
    ),
    credit_unit: str | None = typer.Option(
        None, help="Unit of its badges' creditsEarned: clock_hour, ceu or semester_hour."
    ),
) -> None:
    """Register a provider and print its client id and secret (once)."""
    from ler_plugin.districts import service as districts
    from ler_plugin.principal import Principal
    from ler_plugin.providers import service

    cfg = settings()

    async def go() -> service.NewCredential:
        async with session_scope(cfg) as session:
            found = await districts.get_by_slug(session=session, slug=district)
            return await service.create(
                session=session,
                principal=Principal.operator(),
                district_id=found.id,
                name=name,
                issuers=issuer,
                credit_unit=credit_unit,
            )

    made = run(go)
    console.print(f"provider {name!r} registered (id {made.provider_id})")
    _print_secret(made.client_id, made.client_secret)


@app.command("rotate-secret")
def rotate_secret(provider_id: int = typer.Argument(..., help="The provider's id.")) -> None:
    """Issue a new client id and secret; the old ones stop working at once."""
    from ler_plugin.principal import Principal
    from ler_plugin.providers import service

    cfg = settings()

    async def go() -> service.NewCredential:
        async with session_scope(cfg) as session:
            return await service.rotate_secret(
                session=session, principal=Principal.operator(), provider_id=provider_id
            )

    made = run(go)
    _print_secret(made.client_id, made.client_secret)


@app.command("revoke")
def revoke(provider_id: int = typer.Argument(..., help="The provider's id.")) -> None:
    """Stop a provider: no more tokens, no more posts. Badges it posted stay."""
    from ler_plugin.principal import Principal
    from ler_plugin.providers import service

    cfg = settings()

    async def go() -> None:
        async with session_scope(cfg) as session:
            await service.revoke(
                session=session, principal=Principal.operator(), provider_id=provider_id
            )

    run(go)
    console.print(f"provider {provider_id} revoked")


@app.command("list")
def list_(district: str = typer.Option(..., help="The district's slug.")) -> None:
    """The district's providers, their issuers and live client ids."""
    from rich.table import Table

    from ler_plugin.districts import service as districts
    from ler_plugin.principal import Principal
    from ler_plugin.providers import service

    cfg = settings()

    async def go() -> list[service.ProviderSummary]:
        async with session_scope(cfg) as session:
            found = await districts.get_by_slug(session=session, slug=district)
            return await service.list_providers(
                session=session, principal=Principal.operator(), district_id=found.id
            )

    table = Table("id", "name", "status", "credit unit")
    table.add_column("issuers", overflow="fold")
    table.add_column("client ids", overflow="fold")
    for p in run(go):
        table.add_row(
            str(p.id),
            p.name,
            "active" if p.approved else "revoked",
            p.credit_unit or "-",
            "\n".join(p.issuers),
            "\n".join(p.client_ids) or "-",
        )
    from rich.console import Console

    Console().print(table)
