"""`build_app(settings)`: the whole service as one Starlette application."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from cross_web import HTTPException
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from graphql import GraphQLError
from ler_plugin import rollups
from ler_plugin.api import persisted
from ler_plugin.api.context import Context, NotSignedIn
from ler_plugin.api.schema import production_schema, schema
from ler_plugin.config import Settings
from ler_plugin.db import NOBODY, make_engine, make_session_factory
from ler_plugin.errors import LerError
from ler_plugin.fetch import FetchPolicy, guarded_async_client
from ler_plugin.lti.services import TokenCache
from ler_plugin.principal import Principal
from ler_plugin.web import (
    badges_pages,
    demo_lms,
    exports,
    facilitator,
    lti,
    lti_registration,
    oauth,
    ob3_export,
    obapi,
    pages,
)
from ler_plugin.web.middleware import RequestMiddleware, configure_logging
from ler_plugin.web.session import principal_from_request

log = logging.getLogger("ler_plugin")


def _bad_request(message: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "bad_request"}}]},
        status_code=status,
    )


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            production_schema if settings.is_production else schema,
            graphql_ide=None if settings.is_production else "graphiql",
        )
        self.settings = settings
        persisted.published()  # read the operation files now: a broken one fails the start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As strawberry's, but a malformed request gets a GraphQL-shaped JSON error, not plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            response = _bad_request(exc.reason, exc.status_code)
        except RecursionError:  # json.loads on absurdly nested input
            response = _bad_request("the request body is nested too deeply", 400)
        await response(scope, receive, send)

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Run a persisted operation by its hash, or a free-form one if the asker may."""
        roles = (
            frozenset(r.value for r in context.principal.roles)
            if context.principal
            else frozenset()
        )
        try:
            query = persisted.resolve(
                request_data.query,
                request_data.extensions,
                roles,
                self.settings.arbitrary_operation_roles,
            )
        except LerError as exc:
            error = GraphQLError(exc.message, extensions={"code": exc.code})
            return ExecutionResult(data=None, errors=[error])
        return await super().execute_single(
            request,
            request_adapter,
            sub_response,
            context,
            root_value,
            replace(request_data, query=query),
        )

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


async def readyz(request: Request) -> Response:
    """Ready to serve: the database answers and its schema is at the migrations' head."""
    from ler_plugin import migrate

    try:
        current, expected = await migrate.revisions(
            request.app.state.engine, request.app.state.settings
        )
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    if current != expected:
        body = {"status": "migrating", "database": sorted(current), "expected": sorted(expected)}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "revision": sorted(current)})


def build_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Rows are walled by district: a request sees the rows of its principal's district.
        engine = rollups.install(make_engine(settings, default_tenant=NOBODY))
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        # Every call to a URL from outside (LMS JWKS, tokens, services, registrations) is guarded.
        # The client lives as long as the process, so it gets a request budget that does not run
        # out: one verification's budget (30 requests) would refuse every call after the 30th.
        app.state.http_client = guarded_async_client(
            FetchPolicy.from_settings(settings, max_requests=sys.maxsize)
        )
        app.state.lti_tokens = TokenCache()
        try:
            yield
        finally:
            await app.state.http_client.aclose()
            await engine.dispose()

    configure_logging(settings)
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", WithSession(GraphQLApp(settings)), methods=["GET", "POST"]),
            *lti_registration.routes(),
            *pages.routes(),
            *facilitator.routes(),
            *ob3_export.routes(),
            *lti.routes(),
            *demo_lms.routes(settings),
            *oauth.routes(),
            *exports.routes(),
            *badges_pages.routes(),
            *obapi.routes(),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestMiddleware, settings=settings)],
    )
    app.state.settings = settings
    return app


def app_from_environment() -> Starlette:
    """The factory `ler-plugin serve` hands to uvicorn: every worker reads the same LER_* settings."""
    from ler_plugin.config import load_settings

    return build_app(load_settings())
