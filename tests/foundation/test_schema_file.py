from pathlib import Path

from ler_plugin.api.schema import schema

ROOT = Path(__file__).resolve().parents[2]


def test_published_sdl_matches_the_code() -> None:
    published = (ROOT / "graphql" / "schema.graphql").read_text()
    assert published == schema.as_str() + "\n", (
        "graphql/schema.graphql is stale: run `uv run ler-plugin export-schema` and commit it"
    )


def test_graphql_folder_holds_no_python() -> None:
    assert not list((ROOT / "graphql").rglob("*.py")), "graphql/ would shadow graphql-core"
