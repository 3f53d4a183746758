"""LTI 1.3 endpoints: /lti/login, /lti/launch, /lti/jwks. Thin: the work is in `ler_plugin.lti`."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ler_plugin import ratelimit
from ler_plugin.config import Settings
from ler_plugin.lti import keys as tool_keys
from ler_plugin.lti import launch as launches
from ler_plugin.lti import login as logins
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.jwks import PlatformKeyCache
from ler_plugin.web.middleware import client_address, system_rows
from ler_plugin.web.session import start_session

log = logging.getLogger(__name__)
_pages = Environment(autoescape=True)

ERROR_PAGE = _pages.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Teacher Wallet: launch refused</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:.1rem .3rem}</style></head>
<body><h1>{{ title }}</h1><p>{{ message }}</p>
<p>If this keeps happening, give your LMS administrator this code: <code>{{ code }}</code></p>
</body></html>""")

# Client-side OIDC state (LTI postMessage storage): the LMS keeps our secret in its own frame.
STORE_PAGE = _pages.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Teacher Wallet: signing in</title></head>
<body><p id="status">Signing in…</p>
<script>
(function () {
  const cfg = {{ cfg|tojson }};
  const id = "ler-" + Math.random().toString(36).slice(2);
  const target = cfg.target === "_parent" ? window.parent : window.parent.frames[cfg.target];
  let done = false;
  function next() { if (!done) { done = true; window.location.replace(cfg.next); } }
  window.addEventListener("message", function (event) {
    if (event.origin !== cfg.origin || !event.data || event.data.message_id !== id) return;
    next();
  });
  try { target.postMessage({subject: "lti.put_data", message_id: id, key: cfg.key, value: cfg.value}, cfg.origin); }
  catch (e) { next(); }
  setTimeout(next, 3000);  // no answer: the cookie may still do
})();
</script></body></html>""")

FETCH_PAGE = _pages.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Teacher Wallet: signing in</title></head>
<body><p id="status">Signing in…</p>
<form id="launch" method="post" action="{{ action }}">
<input type="hidden" name="id_token" value="{{ id_token }}">
<input type="hidden" name="state" value="{{ state }}">
<input type="hidden" name="lti_storage_value" value="">
</form>
<script>
(function () {
  const cfg = {{ cfg|tojson }};
  const id = "ler-" + Math.random().toString(36).slice(2);
  const target = cfg.target === "_parent" ? window.parent : window.parent.frames[cfg.target];
  const form = document.getElementById("launch");
  window.addEventListener("message", function (event) {
    if (event.origin !== cfg.origin || !event.data || event.data.message_id !== id) return;
    if (event.data.error || !event.data.value) {
      document.getElementById("status").textContent =
        "Your browser kept no sign-in data for this launch. Open the tool again from the LMS.";
      return;
    }
    form.elements.lti_storage_value.value = event.data.value;
    form.submit();
  });
  try { target.postMessage({subject: "lti.get_data", message_id: id, key: cfg.key}, cfg.origin); }
  catch (e) {
    document.getElementById("status").textContent =
      "The LMS frame that keeps the sign-in data is gone. Open the tool again from the LMS.";
  }
})();
</script></body></html>""")

TITLES = {401: "This launch could not be verified", 403: "This launch is not allowed yet"}


def error_page(error: LtiError) -> HTMLResponse:
    title = TITLES.get(error.status, "The launch could not be completed")
    return HTMLResponse(
        ERROR_PAGE.render(title=title, message=error.message, code=error.code),
        status_code=error.status,
    )


def key_cache(app: Starlette) -> PlatformKeyCache:
    """One platform key cache per process; uses the app's guarded HTTP client when it has one."""
    cache: PlatformKeyCache | None = getattr(app.state, "lti_keys", None)
    if cache is None:
        http = getattr(app.state, "http_client", None) or httpx.AsyncClient(timeout=10.0)
        cache = app.state.lti_keys = PlatformKeyCache(http)
    return cache


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _state_cookie(settings: Settings, name: str, value: str, max_age: int) -> str:
    # In an LMS iframe the launch is cross-site: only SameSite=None (and so Secure) cookies return;
    # Partitioned keeps them working where third-party cookies are otherwise blocked.
    attributes = "SameSite=None; Secure; Partitioned" if _https(settings) else "SameSite=Lax"
    return f"{name}={value}; Path=/lti/; Max-Age={max_age}; HttpOnly; {attributes}"


def _https(settings: Settings) -> bool:
    return settings.base_url.startswith("https://")


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


async def _guarded(request: Request, work: Any, *, limited: bool = True) -> Response:
    """Run one unit of work; what was written before a refusal (a pending deployment, a used
    state, fetched keys) is kept, and a refusal becomes a page, never a trace. Logins and
    launches are rate-limited per client address."""
    if limited:
        try:
            await ratelimit.count(
                request.app.state.session_factory,
                f"launch:ip:{client_address(request)}",
                limit=_settings(request).launches_per_minute,
            )
        except ratelimit.RateLimited as exc:
            page = error_page(LtiError("rate_limited", exc.message, status=429))
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
    session: AsyncSession
    async with request.app.state.session_factory() as session:
        try:
            response: Response = await work(session)
        except LtiError as error:
            await session.commit()
            log.info("LTI refused: %s", error)
            return error_page(error)
        except Exception:
            await session.rollback()
            log.exception("LTI request failed")
            return error_page(
                LtiError(
                    "internal_error", "something went wrong on our side; try again", status=500
                )
            )
        await session.commit()
        return response


async def login(request: Request) -> Response:
    settings = _settings(request)
    params = await _params(request)

    async def work(session: AsyncSession) -> Response:
        start = await logins.begin_login(session=session, settings=settings, params=params)
        response: Response
        if start.storage_target:
            response = HTMLResponse(
                STORE_PAGE.render(
                    cfg={
                        "target": start.storage_target,
                        "origin": start.platform_origin,
                        "key": start.storage_key,
                        "value": start.browser_secret,
                        "next": start.auth_url,
                    }
                )
            )
        else:
            response = RedirectResponse(start.auth_url, status_code=302)
        max_age = int(logins.STATE_TTL.total_seconds())
        response.headers.append(
            "set-cookie", _state_cookie(settings, start.cookie_name, start.browser_secret, max_age)
        )
        response.headers["cache-control"] = "no-store"
        return response

    return await _guarded(request, work)


async def launch(request: Request) -> Response:
    settings = _settings(request)
    form = await request.form()
    id_token = str(form.get("id_token") or "")
    state = str(form.get("state") or "")
    if form.get("error"):  # the platform refused the authentication request
        description = str(form.get("error_description") or form.get("error"))
        return error_page(LtiError("platform_error", f"the LMS refused the sign-in: {description}"))
    cookie_name = logins.state_cookie_name(state)
    secret = request.cookies.get(cookie_name) or str(form.get("lti_storage_value") or "") or None
    keys = key_cache(request.app)

    async def work(session: AsyncSession) -> Response:
        result = await launches.launch(
            session=session, keys=keys, id_token=id_token, state=state, browser_secret=secret
        )
        if isinstance(result, launches.NeedsBrowserStorage):
            return HTMLResponse(
                FETCH_PAGE.render(
                    action=f"{settings.base_url}/lti/launch",
                    id_token=id_token,
                    state=state,
                    cfg={
                        "target": result.storage_target,
                        "origin": result.platform_origin,
                        "key": result.storage_key,
                    },
                )
            )
        response = start_session(settings, result.principal, result.path)
        response.headers.append("set-cookie", _state_cookie(settings, cookie_name, "", 0))
        return response

    return await _guarded(request, work)


async def jwks(request: Request) -> Response:
    settings = _settings(request)

    async def work(session: AsyncSession) -> Response:
        body = await tool_keys.published_jwks(session=session, settings=settings)
        return JSONResponse(body, headers={"cache-control": "public, max-age=300"})

    return await _guarded(request, work, limited=False)


def routes() -> list[Route]:
    return [
        Route("/lti/login", system_rows(login), methods=["GET", "POST"]),
        Route("/lti/launch", system_rows(launch), methods=["POST"]),
        Route("/lti/jwks", jwks, methods=["GET"]),
    ]
