"""The ceiling: a bare strawberry + Starlette "hello" query, served exactly as `ler-plugin serve`
serves the tool (uvicorn, same options), with no database, middleware or logging of its own.

    python -m bench.bare_app --port 8001 --workers 2   (from the repository)
"""

from __future__ import annotations

import argparse

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hello"


def app() -> Starlette:
    return Starlette(routes=[Route("/graphql", GraphQL(strawberry.Schema(Query)))])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The same call as ler_plugin.cli.serve.serve.
    uvicorn.run(
        "bench.bare_app:app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_level="info",
    )
