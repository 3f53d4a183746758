"""The Open Badges 3.0 API over HTTP: each district's endpoints under ``/d/{district}/ims/ob/v3p0``
(discovery, registration, the consent page, token and revocation, credentials and profile), and
the teacher's Connected apps page. Authlib's requests and answers are translated here; what they
mean is decided in `ler_plugin.obapi.service`.

Every API request runs in its district's rows (the district named by the path; a token or a
client of another district is unknown there). Errors of the resource endpoints answer the spec's
Imsx_StatusInfo; the OAuth endpoints answer RFC 6749 / 7591 JSON errors (Authlib's).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ler_plugin import ratelimit
from ler_plugin.badges import service as badges
from ler_plugin.config import Settings
from ler_plugin.db import SYSTEM, Tenant, tenant_scope
from ler_plugin.districts import service as districts
from ler_plugin.districts.models import District
from ler_plugin.errors import LerError
from ler_plugin.fetch import FetchPolicy
from ler_plugin.obapi import authorization as oauth
from ler_plugin.obapi import discovery as sdd
from ler_plugin.obapi import service as obapi
from ler_plugin.principal import Principal
from ler_plugin.wallet import service as wallets
from ler_plugin.web.middleware import client_address
from ler_plugin.web.render import PageContext, page, plain_page
from ler_plugin.web.security import content_security_policy, origin_of
from ler_plugin.web.session import principal_from_request, session_cookie

API = "/d/{district}" + sdd.PATH
JSON_TYPES = ("application/json", "application/vc+ld+json", "application/ld+json")
# Imsx_CodeMinorFieldValue for each HTTP status this API answers with.
CODE_MINOR = {
    400: "invalid_data",
    401: "unauthorizedrequest",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    413: "invalid_data",
    429: "server_busy",
    500: "internal_server_error",
}
OAUTH_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def imsx(status: int, description: str, minor: str | None = None, **headers: str) -> Response:
    """An Imsx_StatusInfo error (OB 3.0 B.3.1)."""
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": minor or CODE_MINOR.get(status, "unknown"),
                }
            ]
        },
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _answer(answer: oauth.Answer) -> Response:
    headers = {k: v for k, v in answer.headers if k.lower() != "content-type"}
    if answer.status in (301, 302, 303, 307):
        return Response(status_code=answer.status, headers=headers)
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def _plain(
    request: Request, form: FormData | None = None, json_body: Any = None
) -> oauth.PlainRequest:
    """Authlib's view of a request. Its URI is the public one (https behind a proxy)."""
    settings: Settings = request.app.state.settings
    query = request.url.query
    uri = settings.base_url + request.url.path + (f"?{query}" if query else "")
    fields: dict[str, list[str]] = {}
    if form is not None:
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
    args: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        args.setdefault(key, []).append(value)
    return oauth.PlainRequest(request.method, uri, request.headers, args, fields, json_body)


async def _district(request: Request) -> District:
    """The district the path names (looked up across districts: nobody is signed in yet)."""
    with tenant_scope(SYSTEM):
        async with request.app.state.session_factory() as session:
            return await districts.get_by_slug(
                session=session, slug=request.path_params["district"]
            )


Endpoint = Callable[[Request, AsyncSession, District], Awaitable[Response]]


def api(
    handlers: dict[str, Endpoint], *, oauth_errors: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """One path's methods, run in one transaction in the district's rows. Errors answer as
    Imsx_StatusInfo (resource endpoints) or RFC 6749 JSON (`oauth_errors`)."""

    def refuse(status: int, code: str, message: str, **headers: str) -> Response:
        if oauth_errors:
            body = {"error": code, "error_description": message}
            return JSONResponse(body, status_code=status, headers=headers)
        return imsx(status, message, **headers)

    async def endpoint(request: Request) -> Response:
        handler = handlers.get(request.method)
        if handler is None:
            allowed = ", ".join(sorted(handlers))
            return refuse(405, "not_allowed", f"use {allowed}", Allow=allowed)
        try:
            district = await _district(request)
        except LerError as exc:
            return refuse(exc.status, exc.code, exc.message)
        factory = request.app.state.session_factory
        with tenant_scope(Tenant.of(district.id)):
            async with factory() as session:
                try:
                    response = await handler(request, session, district)
                    await session.commit()
                except obapi.Unauthorised as exc:
                    await session.rollback()
                    return imsx(exc.status, exc.message, **{"WWW-Authenticate": exc.challenge})
                except ratelimit.RateLimited as exc:
                    await session.rollback()
                    return refuse(
                        429, "slow_down", exc.message, **{"Retry-After": str(exc.retry_after)}
                    )
                except LerError as exc:
                    await session.rollback()
                    minor = exc.code if exc.code == "invalid_query_parameter" else None
                    if oauth_errors:
                        return refuse(exc.status, exc.code, exc.message)
                    return imsx(exc.status, exc.message, minor)
        return response

    return endpoint


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, RecursionError):
        raise obapi.ObApiError("invalid_data", "the body is not JSON") from None


async def _limit(request: Request, what: str) -> None:
    per_minute = request.app.state.settings.token_requests_per_minute
    key = f"obapi:{what}:ip:{client_address(request)}"
    await ratelimit.count(request.app.state.session_factory, key, limit=3 * per_minute)


# --- discovery, registration, tokens -------------------------------------------------------------


def _discovery(request: Request, district: District) -> Response:
    body = sdd.discovery(request.app.state.settings, district)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})


async def discovery(request: Request, session: AsyncSession, district: District) -> Response:
    return _discovery(request, district)


async def sole_discovery(request: Request) -> Response:
    """The bare ``/ims/ob/v3p0/discovery`` of an installation that serves one district."""
    with tenant_scope(SYSTEM):
        async with request.app.state.session_factory() as session:
            try:
                district = await sdd.sole_district(session=session)
            except LerError as exc:
                return imsx(exc.status, exc.message)
    return _discovery(request, district)


async def register(request: Request, session: AsyncSession, district: District) -> Response:
    await _limit(request, "register")
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise obapi.ObApiError("invalid_client_metadata", "send the registration as JSON")
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise obapi.ObApiError("invalid_client_metadata", "the registration must be a JSON object")
    answer = await obapi.register(
        session=session,
        settings=request.app.state.settings,
        district=district,
        request=_plain(request, json_body=body),
    )
    return _answer(answer)


async def token(request: Request, session: AsyncSession, district: District) -> Response:
    await _limit(request, "token")
    async with request.form(max_files=0, max_fields=50) as form:
        answer = await obapi.token(
            session=session,
            settings=request.app.state.settings,
            district=district,
            request=_plain(request, form),
        )
    return _answer(answer)


async def revoke(request: Request, session: AsyncSession, district: District) -> Response:
    async with request.form(max_files=0, max_fields=50) as form:
        answer = await obapi.revoke_token(
            session=session,
            settings=request.app.state.settings,
            district=district,
            request=_plain(request, form),
        )
    return _answer(answer)


# --- resources -------------------------------------------------------------------------------------


async def _access(
    request: Request, session: AsyncSession, district: District, scope: str
) -> obapi.Access:
    return await obapi.authenticate(
        session=session,
        settings=request.app.state.settings,
        district=district,
        request=_plain(request),
        scope=scope,
    )


def _links(base: str, found: obapi.CredentialsPage) -> str:
    def at(offset: int) -> str:
        query = {"limit": found.limit, "offset": offset}
        if found.since:
            query["since"] = found.since  # type: ignore[assignment]
        return f"<{base}/credentials?{urlencode(query)}>"

    last = max(0, (found.total - 1) // found.limit * found.limit)
    links = []
    if found.offset + found.limit < found.total:
        links.append(f'{at(found.offset + found.limit)}; rel="next"')
    links.append(f'{at(last)}; rel="last"')
    links.append(f'{at(0)}; rel="first"')
    if found.offset > 0:
        links.append(f'{at(max(0, found.offset - found.limit))}; rel="prev"')
    return ", ".join(links)


async def get_credentials(request: Request, session: AsyncSession, district: District) -> Response:
    access = await _access(request, session, district, oauth.CREDENTIAL_READ)
    params = request.query_params
    found = await obapi.credentials(
        session=session,
        settings=request.app.state.settings,
        access=access,
        limit=params.get("limit"),
        offset=params.get("offset"),
        since=params.get("since"),
    )
    base = sdd.api_base(request.app.state.settings, district)
    headers = {"X-Total-Count": str(found.total), "Link": _links(base, found)}
    return JSONResponse({"credential": found.credentials}, headers=headers)


async def upsert_credential(
    request: Request, session: AsyncSession, district: District
) -> Response:
    access = await _access(request, session, district, oauth.CREDENTIAL_UPSERT)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    credential: dict[str, Any] | str
    if kind in JSON_TYPES:
        credential = await _json_body(request)
        if not isinstance(credential, dict):
            raise obapi.ObApiError("invalid_data", "the credential must be a JSON object")
    elif kind == "text/plain":
        credential = (await request.body()).decode("utf-8", "replace").strip()
    else:
        raise obapi.ObApiError(
            "invalid_data", "send the credential as application/json, or as text/plain (VC-JWT)"
        )
    received = await obapi.receive_credential(session=session, access=access, credential=credential)
    await session.commit()  # reads only: nothing is held while issuers are fetched
    policy = FetchPolicy.from_settings(request.app.state.settings)
    checked = await badges.check(received, policy=policy)
    created = await obapi.upsert_credential(session=session, access=access, checked=checked)
    status = 201 if created else 200
    if isinstance(credential, str):
        return PlainTextResponse(credential, status_code=status)
    return JSONResponse(credential, status_code=status)


async def get_profile(request: Request, session: AsyncSession, district: District) -> Response:
    access = await _access(request, session, district, oauth.PROFILE_READ)
    found = await obapi.profile(session=session, settings=request.app.state.settings, access=access)
    return JSONResponse(found)


async def put_profile(request: Request, session: AsyncSession, district: District) -> Response:
    access = await _access(request, session, district, oauth.PROFILE_UPDATE)
    found = await obapi.put_profile(
        session=session,
        settings=request.app.state.settings,
        access=access,
        body=await _json_body(request),
    )
    return JSONResponse(found)


# --- the consent page -----------------------------------------------------------------------------

NOTICES = {
    "revoked": "That app can no longer reach your wallet.",
    "profile": "Your profile is saved.",
}
RECORD_LABELS = {
    "public": "Only records I made public",
    "district": "Records I share with my district, and public ones",
}


async def _consent_district(ctx: PageContext) -> District:
    """The district of the path, which must be the teacher's own: another district's page is
    not found (the page runs in the teacher's rows, where no other district exists)."""
    district = await districts.get_by_slug(
        session=ctx.session, slug=ctx.request.path_params["district"]
    )
    if district.id != ctx.principal.district_id:
        raise obapi.ObApiError("not_found", "no such Open Badges API in your district", status=404)
    return district


@page
async def _consent(ctx: PageContext) -> Response:
    district = await _consent_district(ctx)
    settings = ctx.settings
    error = None
    if ctx.request.method == "GET":
        request = _plain(ctx.request)
    else:
        assert ctx.form is not None
        request = _plain_oauth_form(ctx, ctx.form)
        decision = obapi.Decision(
            approve=ctx.field("decision") == "approve",
            scopes=[v for v in ctx.form.getlist("grant_scope") if isinstance(v, str)],
            records=ctx.field("records"),
            show_identity=ctx.field("show_identity") == "yes",
        )
        try:
            answer = await obapi.decide(
                session=ctx.session,
                settings=settings,
                principal=ctx.principal,
                district=district,
                request=request,
                decision=decision,
            )
            return _answer(answer)
        except obapi.ObApiError as exc:
            if exc.code not in obapi.CHOICE_ERRORS:
                raise
            error = exc.message  # asked again, with what is missing
    asked = await obapi.consent_request(
        session=ctx.session,
        settings=settings,
        principal=ctx.principal,
        district=district,
        request=request,
    )
    if isinstance(asked, oauth.Answer):
        return _answer(asked)
    return _consent_page(ctx, asked, request, status=400 if error else 200, error=error)


def _plain_oauth_form(ctx: PageContext, form: FormData) -> oauth.PlainRequest:
    """The authorization request the consent form carries back (its hidden fields)."""
    fields = {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in OAUTH_FIELDS}
    settings = ctx.settings
    uri = settings.base_url + ctx.request.url.path
    return oauth.PlainRequest("POST", uri, ctx.request.headers, {}, fields)


def _consent_page(
    ctx: PageContext,
    asked: obapi.ConsentRequest,
    request: oauth.PlainRequest,
    status: int = 200,
    error: str | None = None,
) -> Response:
    previous = asked.previous if asked.previous and asked.previous.revoked_at is None else None
    redirect = str(request.payload.data.get("redirect_uri", ""))
    response = ctx.render(
        "ob_consent.html",
        status=status,
        client=asked.metadata,
        client_host=urlsplit(str(asked.metadata.get("client_uri", ""))).hostname or "",
        scopes=[(s, oauth.SCOPES[s]) for s in asked.scopes],
        granted=set(previous.scope.split()) if previous else set(asked.scopes),
        records=previous.records if previous else "public",
        show_identity=previous.show_identity if previous else False,
        record_labels=RECORD_LABELS,
        hidden=[(name, request.payload.data.get(name, "")) for name in OAUTH_FIELDS],
        action=ctx.url(ctx.request.url.path),
        error=error,
    )
    # The decision's redirect goes to the client: let the form's answer leave for its origin.
    # Never framed (no clickjacking of a consent); the decision's redirect may leave for the
    # client's origin (browsers apply form-action to the redirect after a form is sent).
    policy = content_security_policy(ctx.settings, ["'none'"])
    origin = origin_of(redirect)
    if origin:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {origin}")
    ctx.extra_headers["content-security-policy"] = policy
    return response


async def authorize(request: Request) -> Response:
    """The authorization endpoint: the consent page of the signed-in teacher."""
    settings: Settings = request.app.state.settings
    found = principal_from_request(settings, request)
    if not isinstance(found, Principal):
        return plain_page(
            settings,
            "ob_signin.html",
            status=401,
            title="Open your wallet first",
        )
    return await _consent(request)


# --- the teacher's Connected apps page -------------------------------------------------------------


async def _apps(
    ctx: PageContext, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    district = await ctx.session.get(District, ctx.principal.district_id)
    assert district is not None
    assert ctx.principal.teacher_id is not None
    chosen = await obapi.profile_of(session=ctx.session, principal=ctx.principal)
    teacher = await wallets.get_teacher(session=ctx.session, teacher_id=ctx.principal.teacher_id)
    return ctx.render(
        "ob_apps.html",
        status=status,
        apps=await obapi.connected_apps(session=ctx.session, principal=ctx.principal),
        api_base=f"{ctx.settings.base_url}/d/{district.slug}",
        record_labels=RECORD_LABELS,
        scopes=oauth.SCOPES,
        profile_name=ctx.field("name") if ctx.form else (chosen.name if chosen else "") or "",
        profile_email=ctx.field("email") if ctx.form else (chosen.email if chosen else "") or "",
        lms_name=teacher.display_name,
        emails=await wallets.verified_emails(ctx.session, teacher.id),
        errors=errors or {},
        notice=NOTICES.get(ctx.request.query_params.get("notice", "")),
    )


@page
async def apps_page(ctx: PageContext) -> Response:
    if ctx.request.method == "GET":
        return await _apps(ctx)
    try:
        await obapi.set_profile(
            session=ctx.session,
            principal=ctx.principal,
            name=ctx.field("name"),
            email=ctx.field("email"),
        )
    except obapi.ObApiError as exc:
        if exc.status != 400:
            raise
        field = "email" if exc.code == "bad_email" else "name"
        return await _apps(
            ctx, status=400, errors={field: exc.message[0].upper() + exc.message[1:]}
        )
    return ctx.redirect("/app/wallet/apps", notice="profile")


@page
async def sign_in_here(ctx: PageContext) -> Response:
    """Keep the wallet session in a window of its own (the form opens one): an app sends the
    teacher to the consent page in its own tab, where the LMS iframe's cookie is not sent."""
    ctx.extra_headers["set-cookie"] = session_cookie(ctx.settings, ctx.token)
    return ctx.render("ob_signed_in.html", title="Ready to connect an app")


@page
async def revoke_app(ctx: PageContext) -> Response:
    await obapi.revoke_grant(
        session=ctx.session,
        principal=ctx.principal,
        grant_id=int(ctx.request.path_params["grant_id"]),
    )
    return ctx.redirect("/app/wallet/apps", notice="revoked")


async def policy(request: Request) -> Response:
    """The terms and privacy policy the discovery document names (OB 3.0 7.1.1 requires both)."""
    settings: Settings = request.app.state.settings
    try:
        district = await _district(request)
    except LerError as exc:
        return imsx(exc.status, exc.message)
    kind = request.url.path.rsplit("/", 1)[1]
    return plain_page(
        settings,
        "ob_policy.html",
        status=200,
        title="Privacy policy" if kind == "privacy" else "Terms of service",
        kind=kind,
        district=district,
    )


def routes() -> list[BaseRoute]:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        Route("/ims/ob/v3p0/discovery", sole_discovery, methods=["GET"]),
        Route(f"{API}/discovery", api({"GET": discovery}), methods=methods),
        Route(f"{API}/register", api({"POST": register}, oauth_errors=True), methods=methods),
        Route(f"{API}/token", api({"POST": token}, oauth_errors=True), methods=methods),
        Route(f"{API}/revoke", api({"POST": revoke}, oauth_errors=True), methods=methods),
        Route(f"{API}/authorize", authorize, methods=["GET", "POST"]),
        Route(
            f"{API}/credentials",
            api({"GET": get_credentials, "POST": upsert_credential}),
            methods=methods,
        ),
        Route(f"{API}/profile", api({"GET": get_profile, "PUT": put_profile}), methods=methods),
        Route("/d/{district}/privacy", policy, methods=["GET"]),
        Route("/d/{district}/terms", policy, methods=["GET"]),
        Route("/app/wallet/apps", apps_page, methods=["GET", "POST"]),
        Route("/app/wallet/apps/{grant_id:int}/revoke", revoke_app, methods=["POST"]),
        Route("/app/wallet/apps/sign-in", sign_in_here, methods=["POST"]),
    ]
