from __future__ import annotations

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="School districts (tenants).")


@app.command("add")
def add(
    slug: str = typer.Option(..., help="Short name used in URLs and commands, e.g. austin-isd."),
    name: str = typer.Option(..., help="The district's full name."),
    state: str = typer.Option(..., help="Two-letter state code, e.g. TX."),
) -> None:
    """Create a district."""
    cfg = settings()

    from ler_plugin.districts import service
    from ler_plugin.principal import Principal

    async def go() -> int:
        async with session_scope(cfg) as session:
            district = await service.create(
                session=session, principal=Principal.operator(), slug=slug, name=name, state=state
            )
            return district.id

    district_id = run(go)
    console.print(f"district {slug} created (id {district_id})")
