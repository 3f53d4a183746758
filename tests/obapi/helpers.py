"""The Open Badges API's tests: 1EdTech's JSON Schemas (read from the public spec repository
through tests/conformance.py, never copied here), a client app on 127.0.0.1 whose callback a
browser is redirected to, and the steps every flow shares (register, consent in a browser,
exchange the code). The client side is Authlib's OAuth 2.0 *client*
(httpx), not the server code under test."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
import jsonschema
from authlib.integrations.httpx_client import OAuth2Client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ler_plugin.config import Settings
from ler_plugin.principal import Principal
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import RecordKind, RecordStatus, Visibility
from tests import conformance, factories

# 1EdTech publishes the OB 3.0 JSON Schemas and OpenAPI file from the spec repository's gh-pages.
SPEC_SITE = "gh-pages"
SCOPES = [
    "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly",
    "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.upsert",
    "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly",
    "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.update",
]


def schema(name: str) -> jsonschema.Draft201909Validator:
    loaded = conformance.read_json(conformance.OB_SPEC, f"docs/schema/{name}.json", SPEC_SITE)
    return jsonschema.Draft201909Validator(loaded)


def service_description_schema() -> jsonschema.Draft201909Validator:
    """ServiceDescriptionDocument from the spec's OpenAPI file (its components reference each other)."""
    openapi = conformance.read_json(conformance.OB_SPEC, "docs/openapi/openapi.json", SPEC_SITE)
    root = {
        "components": openapi["components"],
        "$ref": "#/components/schemas/ServiceDescriptionDocument",
    }
    return jsonschema.Draft201909Validator(root)


def assert_valid(validator: jsonschema.Draft201909Validator, instance: Any) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def assert_imsx(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert_valid(schema("imsx_statusinfo"), body)
    assert body["imsx_codeMajor"] == "failure"
    return body


# --- the world: two districts, a teacher with records of every visibility ---------------------


@dataclass
class Teacher:
    district_id: int
    slug: str
    teacher_id: int
    email: str
    session: str
    visible: dict[str, set[str]] = field(default_factory=dict)  # records by what a grant allows


async def make_teacher(
    factory: async_sessionmaker[AsyncSession], settings: Settings, name: str = "Ada Lovelace"
) -> Teacher:
    async with factory() as session, session.begin():
        district = await factories.district(session)
        email = f"{factories.unique('ada')}@example.org"
        teacher = await factories.teacher(session, district.id, name=name, email=email)
        made = {}
        for title, visibility, status in (
            ("Public workshop", Visibility.PUBLIC, RecordStatus.APPROVED),
            ("District seminar", Visibility.DISTRICT, RecordStatus.APPROVED),
            ("District course", Visibility.DISTRICT, RecordStatus.VERIFIED),
            ("Public conference", Visibility.PUBLIC, RecordStatus.VERIFIED),
            ("Private coaching", Visibility.PRIVATE, RecordStatus.APPROVED),
            ("Waiting for approval", Visibility.PUBLIC, RecordStatus.SUBMITTED),
        ):
            made[title] = await factories.record(
                session,
                teacher,
                title=title,
                visibility=visibility,
                status=status,
                kind=RecordKind.CEU if "course" in title else RecordKind.PD_HOURS,
                ceus="1.5" if "course" in title else None,
                completed_on=dt.date(2026, 2, 1),
            )
        ids = (district.id, district.slug, teacher.id)
    district_id, slug, teacher_id = ids
    token = issue_token(settings, Principal.for_teacher(teacher_id, district_id))
    return Teacher(
        district_id,
        slug,
        teacher_id,
        email,
        token,
        visible={
            "public": {"Public workshop", "Public conference"},
            "district": {
                "Public workshop",
                "Public conference",
                "District seminar",
                "District course",
            },
        },
    )


# --- the client application --------------------------------------------------------------------


class ClientApp:
    """A web client on 127.0.0.1: its callback records what the browser brings back."""

    def __init__(self) -> None:
        self.url = ""
        self.callbacks: list[dict[str, str]] = []

    async def callback(self, request: Request) -> PlainTextResponse:
        self.callbacks.append(dict(request.query_params))
        return PlainTextResponse("connected")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/callback", self.callback)])

    @property
    def redirect_uri(self) -> str:
        return f"{self.url}/callback"


@contextmanager
def client_app() -> Iterator[ClientApp]:
    from tests.lti.advantage.lms import serve

    made = ClientApp()
    with serve(made.app()) as url:
        made.url = url
        yield made


def registration(app: ClientApp, **changes: Any) -> dict[str, Any]:
    """The spec's sample registration request (OB 3.0 7.1.1, example 18), for our client."""
    body: dict[str, Any] = {
        "client_name": "Example Client Application",
        "client_uri": f"{app.url}/",
        "logo_uri": f"{app.url}/logo.png",
        "tos_uri": f"{app.url}/terms",
        "policy_uri": f"{app.url}/privacy",
        "software_id": "c88b6ed8-269e-448e-99be-7e2ff47167d1",
        "software_version": "v4.0.30319",
        "redirect_uris": [app.redirect_uri],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": " ".join([*SCOPES, "offline_access"]),
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def discover(base_url: str, slug: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/d/{slug}/ims/ob/v3p0/discovery")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def register(sdd: dict[str, Any], app: ClientApp, **changes: Any) -> dict[str, Any]:
    scheme = sdd["components"]["securitySchemes"]["OAuth2ACG"]
    response = httpx.post(scheme["x-imssf-registrationUrl"], json=registration(app, **changes))
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def oauth_client(sdd: dict[str, Any], client: dict[str, Any], app: ClientApp) -> OAuth2Client:
    flow = sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]
    return OAuth2Client(
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
        redirect_uri=app.redirect_uri,
        scope=" ".join(SCOPES),
        code_challenge_method="S256",
        token_endpoint=flow["tokenUrl"],
    )


class _Forms(HTMLParser):
    """The forms of a page: action, and every input/button name and value (checked ones only)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "fields": [], "buttons": []})
        elif tag == "input" and self.forms and "name" in values:
            kind = values.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in values:
                return
            self.forms[-1]["fields"].append((values["name"], values.get("value", "")))
        elif tag == "button" and self.forms and "name" in values:
            self.forms[-1]["buttons"].append((values["name"], values.get("value", "")))


def forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def browser(base_url: str, teacher: Teacher | None) -> httpx.Client:
    """A browser signed in to the wallet (its session cookie), following redirects."""
    jar = httpx.Cookies()
    if teacher is not None:
        jar.set("ler_session", teacher.session, domain="127.0.0.1")
    return httpx.Client(base_url=base_url, cookies=jar, follow_redirects=True, timeout=30)


def consent(
    browser_: httpx.Client,
    authorize_url: str,
    *,
    decision: str = "approve",
    scopes: list[str] | None = None,
    records: str = "district",
    show_identity: bool = True,
) -> httpx.Response:
    """Open the authorization URL as the client redirected the browser there, read the consent
    form, and send it with the teacher's choices; the browser follows the redirect back."""
    page = browser_.get(authorize_url)
    assert page.status_code == 200, page.text
    [form] = [f for f in forms(page.text) if "/authorize" in f["action"]]
    kept = ("grant_scope", "records", "show_identity")
    fields = [(k, v) for k, v in form["fields"] if k not in kept]
    fields += [("grant_scope", s) for s in (SCOPES if scopes is None else scopes)]
    fields += [("records", records), ("decision", decision)]
    if show_identity:
        fields.append(("show_identity", "yes"))
    action = re.sub("&amp;", "&", form["action"])
    return browser_.post(action, data=as_form(fields))


def as_form(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in fields:
        found.setdefault(name, []).append(value)
    return found


def connect(
    base_url: str,
    teacher: Teacher,
    app: ClientApp,
    **choices: Any,
) -> tuple[dict[str, Any], OAuth2Client, dict[str, Any]]:
    """Discover, register, consent in the browser and exchange the code with PKCE: the
    discovery document, the client (holding its token) and the token response."""
    sdd = discover(base_url, teacher.slug)
    client = register(sdd, app)
    oauth = oauth_client(sdd, client, app)
    flow = sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]
    verifier = _verifier()
    url, state = oauth.create_authorization_url(flow["authorizationUrl"], code_verifier=verifier)
    with browser(base_url, teacher) as b:
        landed = consent(b, url, **choices)
    assert landed.status_code == 200 and landed.text == "connected", landed.text
    back = app.callbacks[-1]
    assert back["state"] == state
    token = oauth.fetch_token(
        authorization_response=str(landed.url), code_verifier=verifier, scope=None
    )
    return sdd, oauth, dict(token)


def _verifier() -> str:
    import secrets

    return secrets.token_urlsafe(48)
