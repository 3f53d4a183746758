from __future__ import annotations

from pathlib import Path

import typer

from ler_plugin.cli.common import console

SDL_PATH = Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql"


def export_schema(
    output: Path = typer.Option(SDL_PATH, help="Where to write the SDL."),
) -> None:
    """Write the GraphQL schema (SDL) that the code serves, for clients and reviewers, and the
    persisted operations' manifest (graphql/operations/manifest.json)."""
    from ler_plugin.api.persisted import write_manifest
    from ler_plugin.api.schema import schema

    output.write_text(schema.as_str() + "\n")
    console.print(f"wrote {output}")
    console.print(f"wrote {write_manifest()}")
