"""A test LMS course on 127.0.0.1: signs launches, hands out tokens only to a client assertion
signed by the tool's published key, serves a paged NRPS roster and AGS line items and scores,
and checks deep linking responses against the tool's JWKS, as a real platform would."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ler_plugin.lti import service as lti

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
NRPS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"


def member(n: int, role: str = "Learner", **extra: Any) -> dict[str, Any]:
    return {
        "user_id": f"u-{secrets.token_hex(3)}-{n}",
        "name": f"Teacher {n}",
        "given_name": "Teacher",
        "family_name": str(n),
        "email": f"t{n}-{secrets.token_hex(3)}@school.example",
        "roles": [MEMBERSHIP + role],
        **extra,
    }


@dataclass
class CourseLms:
    tool_url: str
    base: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: "k-" + secrets.token_hex(4))
    client_id: str = field(default_factory=lambda: "client-" + secrets.token_hex(4))
    deployment_id: str = field(default_factory=lambda: "dep-" + secrets.token_hex(4))
    context_id: str = field(default_factory=lambda: "course-" + secrets.token_hex(4))
    members: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    refuse_scores_for: set[str] = field(default_factory=set)
    refuse_tokens: bool = False
    gradebook_down: bool = False
    tokens: set[str] = field(default_factory=set)
    roster_pages: int = 0
    line_items: dict[int, dict[str, Any]] = field(default_factory=dict)
    scores: list[dict[str, Any]] = field(default_factory=list)
    deep_link_claims: list[dict[str, Any]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.base}/lms"

    def registration(self) -> lti.PlatformInput:
        """What an operator registers for this LMS, with the course's deployment approved."""
        return lti.PlatformInput(
            issuer=self.issuer,
            client_id=self.client_id,
            auth_login_url=self.auth_login_url,
            auth_token_url=self.token_url,
            jwks_url=self.jwks_url,
            deployment_ids=[self.deployment_id],
        )

    @property
    def auth_login_url(self) -> str:
        return f"{self.base}/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.base}/jwks"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/jwks", self.jwks),
                Route("/token", self.token, methods=["POST"]),
                Route("/memberships", self.roster),
                Route("/lineitems", self.line_items_view, methods=["GET", "POST"]),
                Route("/lineitems/{n:int}/scores", self.score, methods=["POST"]),
                Route("/deep-link-return", self.deep_link_return, methods=["POST"]),
            ]
        )

    # -- launches ----------------------------------------------------------------------------
    def id_token(
        self, nonce: str, *, sub: str, roles: list[str], deep_link: bool = False, name: str = ""
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": name or sub,
            CLAIM + "version": "1.3.0",
            CLAIM + "message_type": "LtiDeepLinkingRequest"
            if deep_link
            else "LtiResourceLinkRequest",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": f"{self.tool_url}/lti/launch",
            CLAIM + "roles": roles,
            CLAIM + "context": {"id": self.context_id, "title": "Literacy PD, spring"},
            AGS: {
                "scope": [
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                ],
                "lineitems": f"{self.base}/lineitems",
            },
            NRPS: {
                "context_memberships_url": f"{self.base}/memberships",
                "service_versions": ["2.0"],
            },
        }
        if deep_link:
            claims[DL + "deep_linking_settings"] = {
                "deep_link_return_url": f"{self.base}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "data": "opaque-" + secrets.token_hex(4),
            }
        else:
            claims[CLAIM + "resource_link"] = {"id": "link-1"}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    async def jwks(self, request: Request) -> Response:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return JSONResponse({"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]})

    # -- the platform's view of the tool -----------------------------------------------------
    def tool_claims(self, token: str, audience: str) -> dict[str, Any]:
        """Verify a JWT the tool signed with the key its JWKS publishes."""
        keys = httpx.get(f"{self.tool_url}/lti/jwks", timeout=5).json()
        kid = jwt.get_unverified_header(token)["kid"]
        jwk = next(k for k in keys["keys"] if k["kid"] == kid)
        public = jwt.PyJWK(jwk).key
        return jwt.decode(token, public, algorithms=["RS256"], audience=audience)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if self.refuse_tokens:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "key unknown"}, 401
            )
        try:
            claims = self.tool_claims(str(form["client_assertion"]), self.token_url)
        except Exception as exc:
            return JSONResponse({"error": "invalid_client", "error_description": str(exc)}, 401)
        if claims.get("sub") != self.client_id:
            return JSONResponse({"error": "invalid_client"}, 401)
        value = secrets.token_urlsafe(16)
        self.tokens.add(value)
        return JSONResponse({"access_token": value, "token_type": "Bearer", "expires_in": 3600})

    def _refused(self, request: Request) -> Response | None:
        kind, _, value = request.headers.get("authorization", "").partition(" ")
        if kind != "Bearer" or value not in self.tokens:
            return PlainTextResponse("no valid token", 401)
        return None

    async def roster(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        if request.headers.get("accept") != NRPS_TYPE:
            return PlainTextResponse("bad accept", 400)
        self.roster_pages += 1
        page = int(request.query_params.get("page", "0"))
        chunk = self.members[page * self.page_size : (page + 1) * self.page_size]
        headers = {}
        if (page + 1) * self.page_size < len(self.members):
            headers["Link"] = f'<{self.base}/memberships?page={page + 1}>; rel="next"'
        body = {"id": str(request.url), "context": {"id": self.context_id}, "members": chunk}
        return Response(json.dumps(body), media_type=NRPS_TYPE, headers=headers)

    async def line_items_view(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        if self.gradebook_down:
            return PlainTextResponse("maintenance", 503)
        if request.method == "POST":
            if request.headers.get("content-type") != LINEITEM_TYPE:
                return PlainTextResponse("wrong content type", 415)
            n = len(self.line_items) + 1
            item = {**await request.json(), "id": f"{self.base}/lineitems/{n}"}
            self.line_items[n] = item
            return JSONResponse(item, status_code=201, media_type=LINEITEM_TYPE)
        wanted = request.query_params.get("resource_id")
        return JSONResponse(
            [i for i in self.line_items.values() if not wanted or i.get("resourceId") == wanted]
        )

    async def score(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        if request.headers.get("content-type") != SCORE_TYPE:
            return PlainTextResponse("wrong content type", 415)
        body = await request.json()
        if body["userId"] in self.refuse_scores_for:
            return PlainTextResponse("this user is no longer enrolled", 400)
        self.scores.append({**body, "line_item": request.path_params["n"]})
        return Response(status_code=204)

    async def deep_link_return(self, request: Request) -> Response:
        form = await request.form()
        self.deep_link_claims.append(self.tool_claims(str(form["JWT"]), self.issuer))
        return PlainTextResponse("content added")
