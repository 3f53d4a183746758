"""``GET /lti/register/<district>/<key>``: the page an LMS opens for Dynamic Registration.

Thin: it hands the query to `ler_plugin.lti.registration.register`, commits, and answers with
a page that tells the LMS we are done (``org.imsglobal.lti.close`` posted to the window that
opened us: Canvas listens on the parent frame, Moodle on the opener).
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ler_plugin.config import Settings
from ler_plugin.errors import LerError
from ler_plugin.lti.registration import register
from ler_plugin.web.middleware import system_rows

CLOSE_SCRIPT = (
    "<script>function ltiClose(){(window.opener||window.parent)"
    ".postMessage({subject:'org.imsglobal.lti.close'},'*');}</script>"
)


def _page(title: str, body: str, *, close_now: bool, status: int = 200) -> HTMLResponse:
    on_load = "<script>ltiClose();</script>" if close_now else ""
    return HTMLResponse(
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"{CLOSE_SCRIPT}</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n"
        '<button type="button" onclick="ltiClose()">Close</button>\n'
        f"{on_load}</body></html>\n",
        status_code=status,
    )


async def dynamic_registration(request: Request) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    try:
        async with request.app.state.session_factory() as session, session.begin():
            outcome = await register(
                session=session,
                client=request.app.state.http_client,
                settings=settings,
                district_slug=request.path_params["district"],
                key=request.path_params["key"],
                openid_configuration=request.query_params.get("openid_configuration"),
                registration_token=request.query_params.get("registration_token"),
            )
    except LerError as exc:
        return _page(
            "Registration failed",
            f"<p>{html.escape(exc.message)}</p>\n<p><code>{html.escape(exc.code)}</code></p>",
            close_now=False,
            status=exc.status,
        )
    deployment = (
        f"deployment {html.escape(outcome.deployment_id)}"
        if outcome.deployment_id
        else "its first launch will create the deployment"
    )
    return _page(
        "Teacher Wallet is registered",
        f"<p>Registered with {html.escape(outcome.platform.issuer)} as client "
        f"{html.escape(outcome.platform.client_id)} ({deployment}).</p>",
        close_now=True,
    )


def routes() -> list[Route]:
    return [
        Route("/lti/register/{district}/{key}", system_rows(dynamic_registration), methods=["GET"])
    ]
