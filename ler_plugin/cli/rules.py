"""`ler-plugin rules`: store credit ruleset files and choose a district's ruleset."""

from __future__ import annotations

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="Credit rulesets (state and district rules).")


@app.command("load")
def load(
    paths: list[str] = typer.Argument(
        None,
        help="Ruleset files, or names of shipped rulesets (tx, ny, ...). Default: all shipped.",
    ),
) -> None:
    """Check and store ruleset files; each file's newest version date decides which is in force."""
    from ler_plugin.principal import Principal
    from ler_plugin.rollups import compliance

    cfg = settings()

    async def go() -> list[tuple[str, str, str]]:
        async with session_scope(cfg) as session:
            stored = await compliance.load_rulesets(
                session=session, principal=Principal.operator(), sources=list(paths or [])
            )
            return [(s.key, s.version, s.effective_from.isoformat()) for s in stored]

    for key, version, effective in run(go):
        console.print(f"ruleset {key} version {version} (effective {effective}) stored")


@app.command("use")
def use(
    district: str = typer.Option(..., help="Slug of the district."),
    ruleset: str = typer.Argument(None, help="Ruleset key; omit to follow the district's state."),
) -> None:
    """Choose the ruleset a district follows."""
    from ler_plugin.districts import service as districts
    from ler_plugin.principal import Principal
    from ler_plugin.rollups import compliance

    cfg = settings()

    async def go() -> str:
        async with session_scope(cfg) as session:
            found = await districts.get_by_slug(session=session, slug=district)
            updated = await compliance.set_district_ruleset(
                session=session, principal=Principal.operator(), district=found, key=ruleset
            )
            return compliance.ruleset_key(updated)

    console.print(f"district {district} follows ruleset {run(go)}")
