"""An LMS that is not ours, on 127.0.0.1: Open edX's LTI 1.3 consumer plus its Advantage services.

Open edX's `lti_consumer` (the lti-consumer-xblock package) answers the OIDC authentication
request and signs the launch, checks the client assertions at the token endpoint and verifies
deep linking responses, with the tool's public key or with the tool's published JWKS; around it
this module serves what the XBlock leaves to the LMS: the authentication endpoint (its form_post
back to the tool), the platform's JWKS, a token endpoint, a paged NRPS roster, AGS line
items/scores/results in Moodle's URL style (``?type_id=`` on every URL), a deep linking return
URL, and a dynamic registration endpoint (Moodle or Canvas flavoured).
It checks what real platforms check (audience, one-use jti, User-Agent, media types, Moodle's
required score fields) so our side cannot pass by being lenient with itself.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.conftest import free_port


def configure_django() -> None:
    """`lti_consumer` is a Django app; standalone it needs settings and a cache, nothing else."""
    from django.conf import settings

    if not settings.configured:
        import django

        settings.configure(
            PLATFORM_NAME="Open edX test LMS",
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
            INSTALLED_APPS=[],
            USE_TZ=True,
            LMS_ROOT_URL="http://127.0.0.1",
        )
        django.setup()


@dataclass(frozen=True)
class Key:
    """The tool's signing key, shaped like `ler_plugin.lti.keys.SigningKey`."""

    kid: str
    private_key: rsa.RSAPrivateKey


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class Switchboard:
    """One server for the whole test session; each test plugs its own platform's app into it
    (starting a server costs about half a second)."""

    def __init__(self) -> None:
        self.app: Starlette | None = None
        self.url = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "no platform attached"
        await self.app(scope, receive, send)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 over real HTTP for the duration; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test platform did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def members(count: int) -> list[dict[str, object]]:
    """A course roster: user-0 teaches, the others attend, user-4 has left (Inactive)."""
    return [
        {
            "user_id": f"user-{n}",
            "name": f"Teacher {n}",
            "given_name": "Teacher",
            "family_name": str(n),
            "email": f"teacher{n}@district.example",
            "roles": [ROLE + ("Instructor" if n == 0 else "Learner")],
            **({"status": "Inactive"} if n == 4 else {}),
        }
        for n in range(count)
    ]


MOODLE_TYPE = "type_id=7"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
NRPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"


@dataclass
class Lms:
    """The LMS state the tests look at; `url` is set once it is served.

    The tool's key is given either as a key (`tool_key`) or as its JWKS URL (`tool_jwks_url`,
    fetched by the consumer at each check, as Open edX's "Keyset URL" mode does).
    """

    tool_key: rsa.RSAPrivateKey | None = None
    tool_jwks_url: str | None = None
    tool_login_url: str = "http://127.0.0.1:9/lti/login"
    tool_launch_url: str = "http://127.0.0.1:9/lti/launch"
    client_id: str = field(default_factory=lambda: "edx-" + secrets.token_hex(4))
    deployment_id: str = "1"
    page_size: int = 2
    # A broken platform whose last roster page links back to the first.
    roster_loops: bool = False
    members: list[dict[str, Any]] = field(default_factory=list)
    granted_scopes: set[str] | None = None
    # Canvas refuses a token request naming a scope the developer key lacks; Open edX drops it.
    refuse_ungranted: bool = False
    audience: str | None = None
    url: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=new_rsa_key)
    key_id: str = "platform-key-1"
    token_requests: int = 0
    jwks_hits: int = 0
    jtis: set[str] = field(default_factory=set)
    user_agents: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    line_items: dict[int, dict[str, Any]] = field(default_factory=dict)
    scores: list[dict[str, Any]] = field(default_factory=list)
    deep_link_items: list[list[dict[str, Any]]] = field(default_factory=list)
    deep_link_claims: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    registration_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    flavour: str = "moodle"
    issuer_override: str | None = None
    consumer: Any = None

    # -- what the XBlock's consumer does ---------------------------------------------------
    def make_consumer(self) -> Any:
        configure_django()
        from lti_consumer.lti_1p3.consumer import LtiAdvantageConsumer

        consumer = LtiAdvantageConsumer(
            iss=self.url,
            lti_oidc_url=self.tool_login_url,
            lti_launch_url=self.tool_launch_url,
            client_id=self.client_id,
            deployment_id=self.deployment_id,
            rsa_key=private_pem(self.key),
            rsa_key_id=self.key_id,
            redirect_uris=[self.tool_launch_url],
            tool_key=public_pem(self.tool_key) if self.tool_key else None,
            tool_keyset_url=self.tool_jwks_url,
        )
        consumer.enable_nrps(self.memberships_url)
        consumer.enable_ags(
            lineitems_url=self.lineitems_url, allow_programmatic_grade_interaction=True
        )
        consumer.enable_deep_linking(self.tool_launch_url, self.deep_link_return_url)
        return consumer

    def rotate_key(self) -> None:
        """The platform moves to a new signing key and stops publishing the old one."""
        from lti_consumer.lti_1p3.key_handlers import PlatformKeyHandler

        self.key, self.key_id = new_rsa_key(), f"platform-key-{secrets.token_hex(3)}"
        self.consumer.key_handler = PlatformKeyHandler(private_pem(self.key), self.key_id)

    @property
    def auth_login_url(self) -> str:
        return f"{self.url}/auth"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/access_token"

    @property
    def memberships_url(self) -> str:
        # Mixed case and a query of its own: the tool must use it exactly as given.
        return f"{self.url}/api/Courses/PD-101/Memberships?{MOODLE_TYPE}"

    @property
    def lineitems_url(self) -> str:
        return f"{self.url}/ags/PD-101/lineitems?{MOODLE_TYPE}"

    @property
    def deep_link_return_url(self) -> str:
        return f"{self.url}/deep_linking/return"

    @property
    def openid_configuration_url(self) -> str:
        return f"{self.url}/mod/lti/openid-configuration.php"

    @property
    def jwks(self) -> dict[str, Any]:
        return self.consumer.get_public_keyset()

    # -- the HTTP side ---------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/auth", self.authenticate, methods=["GET", "POST"]),
                Route("/jwks", self.publish_jwks),
                Route("/oauth2/access_token", self.token, methods=["POST"]),
                Route("/api/Courses/PD-101/Memberships", self.roster_page, methods=["GET"]),
                Route("/api/Courses/PD-101/Memberships/{page:int}", self.roster_page),
                Route("/ags/PD-101/lineitems", self.line_items_view, methods=["GET", "POST"]),
                Route(
                    "/ags/PD-101/lineitems/{n:int}/lineitem/scores", self.score, methods=["POST"]
                ),
                Route("/ags/PD-101/lineitems/{n:int}/lineitem/results", self.results),
                Route("/deep_linking/return", self.deep_link_return, methods=["POST"]),
                Route("/mod/lti/openid-configuration.php", self.openid_configuration),
                Route("/mod/lti/register", self.register, methods=["POST"]),
                Route("/broken/{status:int}", self.broken),
                Route("/slow", self.slow),
                Route("/not-json", self.not_json),
            ]
        )

    def attach(self, board: Switchboard) -> Lms:
        """Answer on the switchboard's address from now on."""
        self.url = board.url
        self.consumer = self.make_consumer()
        board.app = self.app()
        return self

    def _agent_ok(self, request: Request) -> bool:
        agent = request.headers.get("user-agent", "")
        self.user_agents.append(agent)
        return agent.startswith("ler-plugin/")

    async def authenticate(self, request: Request) -> Response:
        """The OIDC authentication endpoint: the consumer checks the tool's request and signs the
        launch, which the browser form_posts to the tool's redirect_uri."""
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        try:
            answer = self.consumer.generate_launch_request(params)
        except Exception as exc:
            return PlainTextResponse(f"authentication refused: {exc!r}", status_code=400)
        action = html.escape(params["redirect_uri"], quote=True)
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value, quote=True)}">'
            for name, value in answer.items()
        )
        return HTMLResponse(
            f'<form method="post" action="{action}">{fields}</form>'
            "<script>document.forms[0].submit()</script>"
        )

    async def publish_jwks(self, request: Request) -> Response:
        self.jwks_hits += 1
        return JSONResponse(self.jwks)

    def tool_claims(self, token: str, audience: str) -> dict[str, Any]:
        """The consumer's own check of a JWT signed by the tool, then the audience."""
        claims: dict[str, Any] = self.consumer.tool_jwt.validate_and_decode(token)
        aud = claims.get("aud")
        if audience not in (aud if isinstance(aud, list) else [aud]):
            raise ValueError(f"aud is {aud!r}, not {audience}")
        return claims

    async def token(self, request: Request) -> Response:
        if not self._agent_ok(request):
            return JSONResponse({"error": "user agent required"}, status_code=400)
        form = dict(await request.form())
        self.token_requests += 1
        try:
            # Open edX's own checks: required parameters, grant type, signature by the tool's key.
            answer = self.consumer.access_token(form)
            claims = self.tool_claims(
                str(form["client_assertion"]), self.audience or self.token_url
            )
        except Exception as exc:
            return JSONResponse(
                {"error": "invalid_client", "error_description": str(exc)}, status_code=401
            )
        header = jwt.get_unverified_header(str(form["client_assertion"]))
        problems = []
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            problems.append("iss and sub must be the client id")
        if claims["jti"] in self.jtis:
            problems.append("jti reused")
        if not 0 < claims["exp"] - claims["iat"] <= 600:
            problems.append("assertion lifetime")
        if not header.get("kid"):
            problems.append("no kid")
        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            problems.append("client_assertion_type")
        if problems:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "; ".join(problems)},
                status_code=401,
            )
        self.jtis.add(claims["jti"])
        asked = set(str(form["scope"]).split(" "))
        if self.refuse_ungranted and self.granted_scopes is not None:
            if asked - self.granted_scopes:
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
        if self.granted_scopes is not None:
            answer["scope"] = " ".join(
                s for s in answer["scope"].split(" ") if s in self.granted_scopes
            )
        # Re-signed with a jti so two tokens issued in the same second differ.
        answer["access_token"] = self.consumer.key_handler.encode_and_sign(
            {
                "sub": self.client_id,
                "iss": self.url,
                "scopes": answer["scope"],
                "jti": secrets.token_hex(8),
            },
            expiration=3600,
        )
        return JSONResponse(answer)

    def _authorised(self, request: Request, scope: str) -> Response | None:
        if not self._agent_ok(request):
            return PlainTextResponse("a User-Agent is required", status_code=400)
        kind, _, token = request.headers.get("authorization", "").partition(" ")
        if kind.lower() != "bearer" or not token or token in self.revoked:
            return PlainTextResponse("no valid token", status_code=401)
        try:
            allowed = self.consumer.check_token(token, [scope])
        except Exception:
            return PlainTextResponse("bad token", status_code=401)
        if not allowed:
            return PlainTextResponse("scope not granted", status_code=403)
        return None

    def revoke_tokens(self, tokens: list[str]) -> None:
        self.revoked.update(tokens)

    async def roster_page(self, request: Request) -> Response:
        refused = self._authorised(
            request, "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
        )
        if refused:
            return refused
        if request.headers.get("accept") != NRPS_TYPE or request.url.query != MOODLE_TYPE:
            return PlainTextResponse("bad accept or query", status_code=400)
        page = int(request.path_params.get("page", 0))
        chunk = self.members[page * self.page_size : (page + 1) * self.page_size]
        headers = {}
        if (page + 1) * self.page_size < len(self.members) or self.roster_loops:
            following = 0 if self.roster_loops else page + 1
            next_url = f"{self.url}/api/Courses/PD-101/Memberships/{following}?{MOODLE_TYPE}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        body = {
            "id": request.url._url,
            "context": {"id": "PD-101", "title": "Literacy PD"},
            "members": chunk,
        }
        return Response(json.dumps(body), media_type=NRPS_TYPE, headers=headers)

    def _line_item_url(self, n: int) -> str:
        return f"{self.url}/ags/PD-101/lineitems/{n}/lineitem?{MOODLE_TYPE}"

    async def line_items_view(self, request: Request) -> Response:
        scope = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
        refused = self._authorised(request, scope)
        if refused:
            return refused
        if request.query_params.get("type_id") != "7":
            return PlainTextResponse("type_id lost", status_code=400)
        if request.method == "POST":
            if request.headers.get("content-type") != LINEITEM_TYPE:
                return PlainTextResponse("wrong content type", status_code=415)
            body = await request.json()
            if not body.get("label") or not body.get("scoreMaximum"):
                return PlainTextResponse("label and scoreMaximum required", status_code=400)
            n = len(self.line_items) + 1
            item = {**body, "id": self._line_item_url(n)}
            self.line_items[n] = item
            return JSONResponse(item, status_code=201, media_type=LINEITEM_TYPE)
        wanted = request.query_params.get("resource_id")
        items = [i for i in self.line_items.values() if not wanted or i.get("resourceId") == wanted]
        return JSONResponse(items)

    async def score(self, request: Request) -> Response:
        refused = self._authorised(request, "https://purl.imsglobal.org/spec/lti-ags/scope/score")
        if refused:
            return refused
        if request.headers.get("content-type") != SCORE_TYPE:
            return PlainTextResponse("wrong content type", status_code=415)
        if request.query_params.get("type_id") != "7":
            return PlainTextResponse("type_id lost", status_code=400)
        body = await request.json()
        # What Moodle's scores service requires (mod/lti/service/gradebookservices).
        required = (
            "userId",
            "scoreGiven",
            "scoreMaximum",
            "activityProgress",
            "gradingProgress",
            "timestamp",
        )
        missing = [name for name in required if name not in body]
        if missing:
            return PlainTextResponse(f"missing {missing}", status_code=400)
        stamp = dt.datetime.fromisoformat(body["timestamp"])
        if stamp.tzinfo is None:
            return PlainTextResponse("timestamp without timezone", status_code=400)
        if request.path_params["n"] not in self.line_items:
            return PlainTextResponse("no such line item", status_code=404)
        if body["userId"] not in {m["user_id"] for m in self.members}:
            return PlainTextResponse("Incorrect user", status_code=400)
        self.scores.append({**body, "line_item": request.path_params["n"]})
        return Response(status_code=204)

    async def results(self, request: Request) -> Response:
        refused = self._authorised(
            request, "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
        )
        if refused:
            return refused
        n = request.path_params["n"]
        wanted = request.query_params.get("user_id")
        latest: dict[str, dict[str, Any]] = {}
        for score in self.scores:
            if score["line_item"] == n:
                latest[score["userId"]] = score
        return JSONResponse(
            [
                {
                    "id": f"{self.url}/ags/PD-101/lineitems/{n}/lineitem/results/{user}",
                    "scoreOf": self._line_item_url(n),
                    "userId": user,
                    "resultScore": s["scoreGiven"],
                    "resultMaximum": s["scoreMaximum"],
                    "comment": s.get("comment"),
                }
                for user, s in latest.items()
                if not wanted or user == wanted
            ]
        )

    async def deep_link_return(self, request: Request) -> Response:
        form = await request.form()
        token = str(form.get("JWT", ""))
        try:
            items = self.consumer.check_and_decode_deep_linking_token(token)
            claims = self.tool_claims(token, self.url)
        except Exception as exc:
            return PlainTextResponse(f"rejected: {exc!r}", status_code=400)
        self.deep_link_items.append(items)
        self.deep_link_claims.append(claims)
        return PlainTextResponse("content added")

    async def openid_configuration(self, request: Request) -> Response:
        if self.flavour == "canvas" and (
            request.headers.get("authorization") != f"Bearer {self.registration_token}"
        ):
            return PlainTextResponse("registration token required", status_code=401)
        product: dict[str, Any] = {
            "product_family_code": self.flavour,
            "version": "4.4",
            "messages_supported": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest"},
            ],
        }
        return JSONResponse(
            {
                "issuer": self.issuer_override or self.url,
                "authorization_endpoint": f"{self.url}/mod/lti/auth.php",
                "registration_endpoint": f"{self.url}/mod/lti/register",
                "jwks_uri": f"{self.url}/mod/lti/certs.php",
                "token_endpoint": self.token_url,
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "authorization_server": (
                    "canvas.instructure.com" if self.flavour == "canvas" else self.token_url
                ),
                "scopes_supported": ["openid"],
                "response_types_supported": ["id_token"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": product,
            }
        )

    async def register(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.registration_token}":
            return JSONResponse({"error": "invalid registration token"}, status_code=401)
        body = await request.json()
        self.registrations.append((request.headers.get("user-agent"), body))
        tool = dict(body["https://purl.imsglobal.org/spec/lti-tool-configuration"])
        if self.flavour != "canvas":
            tool["deployment_id"] = self.deployment_id
        return JSONResponse({**body, "client_id": self.client_id, TOOL_CONFIG: tool})

    async def broken(self, request: Request) -> Response:
        return PlainTextResponse("platform trouble", status_code=request.path_params["status"])

    async def slow(self, request: Request) -> Response:
        import asyncio

        await asyncio.sleep(0.6)
        return PlainTextResponse("late")

    async def not_json(self, request: Request) -> Response:
        return PlainTextResponse("<html>login page</html>")


TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
