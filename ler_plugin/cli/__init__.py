"""The `ler-plugin` command. Each room adds its own sub-command module here."""

from __future__ import annotations

import typer

from ler_plugin.cli import db, district, export, rules, schema, seed, serve

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Teacher Wallet: an LTI 1.3 tool for teachers' professional learning.",
)
app.command("serve")(serve.serve)
app.command("demo")(serve.demo)
app.command("export-schema")(schema.export_schema)
app.add_typer(db.app, name="db")
app.add_typer(district.app, name="district")
app.command("seed")(seed.seed)
app.add_typer(rules.app, name="rules")
app.add_typer(export.app, name="export")


def main() -> None:
    app()
