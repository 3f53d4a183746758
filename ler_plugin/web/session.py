"""How a browser session reaches the server after an LTI launch, inside an LMS iframe.

Third-party cookies are often blocked in iframes (Safari, Chrome's phase-out), so the session token
travels three ways, first found wins: an ``Authorization: Bearer`` header (the page's fetches to
/graphql), a ``session`` query or form field (links and forms in our pages carry it), and the
``ler_session`` cookie (``SameSite=None; Secure; Partitioned``) where the browser keeps it.
The token itself is short-lived and bound to its launch (see `ler_plugin.sessions`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse

from ler_plugin.config import Settings
from ler_plugin.errors import LerError
from ler_plugin.principal import Principal
from ler_plugin.sessions import SESSION_TTL, issue_token, read_token

COOKIE = "ler_session"


def token_from_request(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer":
        return token.strip()
    return request.query_params.get("session") or request.cookies.get(COOKIE)


def principal_from_request(settings: Settings, request: Request) -> Principal | LerError | None:
    """The session's principal, the reason its token was refused, or None when there is none.

    Read once per request and kept in its state: the request middleware reads it first (for the
    request's tenant), the GraphQL context, pages and exports find it there."""
    state = request.scope.setdefault("state", {})
    if "principal" not in state:
        token = token_from_request(request)
        try:
            state["principal"] = read_token(settings, token) if token else None
        except LerError as exc:
            state["principal"] = exc
    found: Principal | LerError | None = state["principal"]
    return found


def start_session(settings: Settings, principal: Principal, path: str) -> RedirectResponse:
    """End of a launch: set the session cookie and send the browser to the page, token in hand."""
    token = issue_token(settings, principal)
    response = RedirectResponse(f"{path}?{urlencode({'session': token})}", status_code=303)
    response.headers.append("set-cookie", session_cookie(settings, token))
    return response


def session_cookie(settings: Settings, token: str) -> str:
    """The ``Set-Cookie`` value that keeps `token` in this browser. Partitioned: set inside an LMS
    iframe it belongs to that LMS's pages; set in a window of our own, to our site's."""
    secure = settings.base_url.startswith("https://")
    return f"{COOKIE}={token}; Path=/; Max-Age={int(SESSION_TTL.total_seconds())}; HttpOnly; " + (
        "SameSite=None; Secure; Partitioned" if secure else "SameSite=Lax"
    )
