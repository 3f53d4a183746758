"""Server-rendered pages: one Jinja2 environment (autoescaped), the per-request page context,
and the `page` wrapper every signed-in page goes through (session, CSRF, errors, headers)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ler_plugin.config import Settings
from ler_plugin.errors import LerError
from ler_plugin.licences.tracking import in_days
from ler_plugin.principal import Principal, Role
from ler_plugin.web.security import (
    CSRF_FIELD,
    content_security_policy,
    csrf_ok,
    csrf_token,
    frame_ancestors,
)
from ler_plugin.web.session import principal_from_request, token_from_request

log = logging.getLogger("ler_plugin.web")

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
# Forms carry at most one evidence file (10 MB) plus a few short fields.
MAX_BODY = 11 * 1024 * 1024


def _hours(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%b} {value.day}, {value.year}"


def _from_today(value: dt.date) -> str:
    """'in 45 days', 'today', '3 days ago'."""
    return in_days((value - dt.date.today()).days)


def _image_url(value: str | None) -> str:
    """Image addresses that came from outside: web addresses and inline images, nothing else."""
    if not value:
        return ""
    lowered = value.strip().lower()
    if lowered.startswith(("https://", "http://", "data:image/png", "data:image/svg+xml")):
        return value.strip()
    return ""


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["hours"] = _hours
environment.filters["day"] = _day
environment.filters["image_url"] = _image_url
environment.filters["from_today"] = _from_today


def security_headers(response: Response, settings: Settings, ancestors: list[str]) -> Response:
    response.headers["content-security-policy"] = content_security_policy(settings, ancestors)
    response.headers["x-content-type-options"] = "nosniff"
    # Links carry the session token: never hand it to another site in a Referer.
    response.headers["referrer-policy"] = "no-referrer"
    response.headers["cache-control"] = "no-store"
    return response


@dataclass
class PageContext:
    """Everything a signed-in page handler needs about this request."""

    request: Request
    settings: Settings
    session: AsyncSession
    principal: Principal
    token: str
    form: FormData | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    def url(self, path: str, **params: object) -> str:
        """A link inside the tool; it carries the session because the iframe may drop cookies."""
        query = {k: str(v) for k, v in params.items() if v is not None and v != ""}
        query["session"] = self.token
        return f"{path}?{urlencode(query)}"

    @property
    def csrf(self) -> str:
        return csrf_token(self.settings, self.token)

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""

    def redirect(self, path: str, **params: object) -> RedirectResponse:
        return RedirectResponse(self.url(path, **params), status_code=303)

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(
            environment.get_template(template).render(page=self, **values), status_code=status
        )

    @property
    def is_admin(self) -> bool:
        return Role.DISTRICT_ADMIN in self.principal.roles

    @property
    def is_facilitator(self) -> bool:
        return Role.FACILITATOR in self.principal.roles

    @property
    def is_teacher(self) -> bool:
        return self.principal.teacher_id is not None


Handler = Callable[[PageContext], Awaitable[Response]]


def plain_page(
    settings: Settings,
    template: str,
    *,
    status: int,
    ancestors: list[str] | None = None,
    **values: Any,
) -> Response:
    """A page with no session (errors before sign-in, the public share page)."""
    html = environment.get_template(template).render(page=None, **values)
    return security_headers(
        HTMLResponse(html, status_code=status), settings, ancestors or ["'self'"]
    )


def error_page(
    settings: Settings, status: int, message: str, ancestors: list[str] | None = None
) -> Response:
    titles = {401: "Please open the wallet again", 403: "Not allowed", 404: "Not found"}
    return plain_page(
        settings,
        "error.html",
        status=status,
        ancestors=ancestors,
        title=titles.get(status, "Something is not right"),
        message=message,
    )


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: signed-in principal, one transaction, CSRF on POST, errors as pages."""

    async def endpoint(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        found = principal_from_request(settings, request)
        token = token_from_request(request)
        if found is None or token is None:
            return error_page(
                settings, 401, "You are not signed in: open the wallet from your LMS course."
            )
        if isinstance(found, LerError):
            return error_page(settings, 401, found.message)
        factory = request.app.state.session_factory
        async with factory() as session:
            ancestors = await frame_ancestors(session, found)
            context = PageContext(
                request=request, settings=settings, session=session, principal=found, token=token
            )
            try:
                if request.method == "POST":
                    refused = await _read_form(context)
                    if refused is not None:
                        return security_headers(refused, settings, ancestors)
                response = await handler(context)
                await session.commit()
            except LerError as exc:
                await session.rollback()
                return error_page(settings, exc.status, exc.message, ancestors)
            finally:
                if context.form is not None:
                    await context.form.close()
        security_headers(response, settings, ancestors)
        for name, value in context.extra_headers.items():
            response.headers[name] = value
        return response

    endpoint.__name__ = handler.__name__
    return endpoint


async def _read_form(context: PageContext) -> Response | None:
    """Parse the posted form within limits and check its CSRF token; a refusal page, or None."""
    settings, request = context.settings, context.request
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return error_page(
            settings, 411, "The form was sent without a length; please send it again."
        )
    if int(length) > MAX_BODY:
        return error_page(settings, 413, "That is too large: files can be at most 10 MB.")
    context.form = await request.form(max_files=1, max_fields=600)
    if not csrf_ok(settings, context.token, context.form.get(CSRF_FIELD)):
        log.info("refused a form without a valid CSRF token: %s", request.url.path)
        return error_page(
            settings,
            403,
            "This form has expired or did not come from the wallet. Please try again.",
        )
    return None
