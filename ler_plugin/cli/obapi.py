"""`ler-plugin obapi ...`: the apps registered with a district's Open Badges API (docs/ob3-api.md)."""

from __future__ import annotations

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="Apps registered with a district's Open Badges API.")


@app.command("apps")
def apps(district: str = typer.Option(..., help="The district's slug.")) -> None:
    """The registered apps: client id, name, site, when, and how many teachers allowed each."""
    from rich.console import Console
    from rich.table import Table

    from ler_plugin.districts import service as districts
    from ler_plugin.obapi import service
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> list[service.RegisteredApp]:
        async with session_scope(cfg) as session:
            found = await districts.get_by_slug(session=session, slug=district)
            return await service.registered_apps(
                session=session, principal=Principal.operator(), district_id=found.id
            )

    table = Table("client id", "name", "site", "registered", "teachers")
    for registered in run(go):
        meta = registered.client.client_metadata
        table.add_row(
            registered.client.client_id,
            str(meta.get("client_name", "")),
            str(meta.get("client_uri", "")),
            f"{registered.client.created_at:%Y-%m-%d}",
            str(registered.teachers),
        )
    Console().print(table)


@app.command("remove")
def remove(client_id: str = typer.Argument(..., help="The app's client id.")) -> None:
    """Remove an app's registration: every teacher's grant and token to it end at once."""
    from ler_plugin.obapi import service
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> None:
        async with session_scope(cfg) as session:
            await service.remove_app(
                session=session, principal=Principal.operator(), client_id=client_id
            )

    run(go)
    console.print(f"app {client_id} removed")
