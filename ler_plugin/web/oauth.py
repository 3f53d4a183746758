"""The OAuth2 token endpoint (RFC 6749 section 4.4, client_credentials) for PD providers.

Clients authenticate with HTTP Basic or with ``client_id`` / ``client_secret`` form fields (not
both) and get a short-lived bearer token for /graphql. Failures answer the RFC's JSON error body
(section 5.2) with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ler_plugin import ratelimit
from ler_plugin.errors import LerError
from ler_plugin.providers import service as providers
from ler_plugin.sessions import issue_token
from ler_plugin.web.middleware import client_address, system_rows

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(code: str, description: str, status: int = 400, basic: bool = False) -> JSONResponse:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="ler-plugin"' if basic else "Bearer"
    return JSONResponse(
        {"error": code, "error_description": description}, status_code=status, headers=headers
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, sep, secret = decoded.partition(":")
    # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    return (unquote(client_id), unquote(secret)) if sep else ("", "")


async def token(request: Request) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _error("invalid_request", "send the request as application/x-www-form-urlencoded")
    form = await request.form()
    grant_type = form.get("grant_type")
    basic = _basic_credentials(request)
    in_form = form.get("client_id"), form.get("client_secret")
    if basic is not None and any(in_form[1:]):
        return _error("invalid_request", "authenticate with HTTP Basic or the form, not both")
    if not grant_type:
        return _error("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _error(
            "unsupported_grant_type", "this endpoint issues tokens for client_credentials only"
        )
    client_id, client_secret = basic if basic is not None else in_form
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        return _error("invalid_client", "client_id and client_secret are required", 401, True)
    if not client_id or not client_secret:
        return _error("invalid_client", "client_id and client_secret are required", 401, True)
    settings = request.app.state.settings
    per_minute = settings.token_requests_per_minute
    try:
        factory = request.app.state.session_factory
        await ratelimit.count(factory, f"token:ip:{client_address(request)}", limit=3 * per_minute)
        await ratelimit.count(factory, f"token:client:{client_id[:100]}", limit=per_minute)
    except ratelimit.RateLimited as exc:
        response = _error("slow_down", exc.message, 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    async with request.app.state.session_factory() as session:
        try:
            principal = await providers.authenticate_client(
                session=session, client_id=client_id, client_secret=client_secret
            )
        except LerError as exc:
            return _error(
                exc.code,
                exc.message,
                401 if exc.code == "invalid_client" else 400,
                basic is not None,
            )
    ttl = providers.TOKEN_TTL
    access_token = issue_token(settings, principal, ttl)
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(ttl.total_seconds()),
        },
        headers=NO_STORE,
    )


def routes() -> list[Route]:
    return [Route("/oauth/token", system_rows(token), methods=["POST"])]
