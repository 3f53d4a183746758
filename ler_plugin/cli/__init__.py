"""The `ler-plugin` command. Each room adds its own sub-command module here."""

from __future__ import annotations

import typer

from ler_plugin.cli import (
    backup,
    badges,
    compliance,
    db,
    district,
    export,
    keys,
    licences,
    lti_config,
    notify,
    obapi,
    platform,
    provider,
    roster,
    rules,
    schema,
    seed,
    serve,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Teacher Wallet: an LTI 1.3 tool for teachers' professional learning.",
)
app.command("serve")(serve.serve)
app.command("demo")(serve.demo)
app.command("export-schema")(schema.export_schema)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.add_typer(db.app, name="db")
app.add_typer(district.app, name="district")
app.add_typer(lti_config.app, name="lti")
app.add_typer(platform.app, name="platform")
app.add_typer(keys.app, name="keys")
app.add_typer(provider.app, name="provider")
app.add_typer(badges.app, name="badges")
app.command("seed")(seed.seed)
app.add_typer(rules.app, name="rules")
app.add_typer(export.app, name="export")
app.add_typer(compliance.app, name="compliance")
app.add_typer(obapi.app, name="obapi")
app.add_typer(roster.app, name="roster")
app.add_typer(licences.app, name="licences")
app.command("notify")(notify.notify)


def main() -> None:
    app()
