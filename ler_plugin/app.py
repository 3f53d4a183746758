"""`build_app(settings)`: the whole service as one Starlette application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from ler_plugin.api.context import Context, NotSignedIn
from ler_plugin.api.schema import schema
from ler_plugin.config import Settings
from ler_plugin.db import make_engine, make_session_factory
from ler_plugin.errors import LerError
from ler_plugin.principal import Principal
from ler_plugin.web import exports
from ler_plugin.web.session import principal_from_request

log = logging.getLogger("ler_plugin")


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(schema, graphql_ide=None if settings.is_production else "graphiql")
        self.settings = settings

    async def get_context(self, request: Any, response: Any) -> Context:
        found = principal_from_request(self.settings, request)
        context = Context(
            settings=self.settings,
            session=request.state.db,
            principal=found if isinstance(found, Principal) else None,
            request=request,
        )
        if isinstance(found, LerError):
            refused = found

            def need_principal() -> Principal:
                raise NotSignedIn(refused.code, refused.message)

            context.need_principal = need_principal  # type: ignore[method-assign]
        return context


class WithSession:
    """Give each request one database session, closed when the response is sent."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        factory = scope["app"].state.session_factory
        async with factory() as session:
            scope.setdefault("state", {})["db"] = session
            await self.app(scope, receive, send)


async def healthz(request: Request) -> Response:
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check: database unreachable")
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def build_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", WithSession(GraphQLApp(settings)), methods=["GET", "POST"]),
            *exports.routes(),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def app_from_environment() -> Starlette:
    """The factory `ler-plugin serve` hands to uvicorn: every worker reads the same LER_* settings."""
    from ler_plugin.config import load_settings

    return build_app(load_settings())
