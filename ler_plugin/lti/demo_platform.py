"""The demo LMS as a platform: its own RSA key, its registration in the demo district, its tokens.

Only the demo uses this (`ler-plugin demo`): it lets a visitor perform real LTI 1.3 launches
without an LMS. Its key lives in the data directory so launches survive a restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.config import Settings
from ler_plugin.lti import service
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.launch import (
    AGS_CLAIM,
    CLAIM,
    DEEP_LINKING,
    DL_CLAIM,
    NRPS_CLAIM,
    RESOURCE_LINK,
)
from ler_plugin.lti.models import Platform
from ler_plugin.principal import Principal

CLIENT_ID = "teacher-wallet-demo"
DEPLOYMENT_ID = "demo-deployment-1"
KEY_FILE = "demo-lms-key.pem"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
COURSE = {
    "id": "demo-course-pd101",
    "label": "PD101",
    "title": "PD 101: Structured literacy",
    "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
}


@dataclass(frozen=True)
class DemoUser:
    key: str
    sub: str
    name: str
    email: str
    roles: tuple[str, ...]
    in_course: bool
    description: str


USERS = {
    user.key: user
    for user in (
        DemoUser(
            "ana",
            "demo-ana-flores",
            "Ana Flores",
            "ana.flores@demo.k12.example",
            (MEMBERSHIP + "Learner", INSTITUTION + "Faculty"),
            True,
            "a teacher taking the PD course: opens her wallet",
        ),
        DemoUser(
            "marcus",
            "demo-marcus-reed",
            "Marcus Reed",
            "marcus.reed@demo.k12.example",
            (MEMBERSHIP + "Instructor", INSTITUTION + "Faculty"),
            True,
            "the course's facilitator: opens the facilitator page",
        ),
        DemoUser(
            "dana",
            "demo-dana-whitfield",
            "Dana Whitfield",
            "dana.whitfield@demo.k12.example",
            (INSTITUTION + "Administrator",),
            False,
            "a district administrator, from the LMS's admin menu: opens the dashboard",
        ),
    )
}


# The rest of the PD course's roster, beyond the users who can launch: names the demo LMS
# serves through its roster service (NRPS) so the facilitator has a class to award.
CLASSMATES = (
    ("demo-bea-chen", "Bea Chen", "bea.chen@demo.k12.example"),
    ("demo-luis-ortega", "Luis Ortega", "luis.ortega@demo.k12.example"),
    ("demo-priya-natarajan", "Priya Natarajan", "priya.natarajan@demo.k12.example"),
)


def roster_members() -> list[dict[str, Any]]:
    """The course roster as NRPS 2.0 members."""
    members = []
    for user in USERS.values():
        if user.in_course:
            members.append(_member(user.sub, user.name, user.email, list(user.roles)))
    for sub, name, email in CLASSMATES:
        members.append(_member(sub, name, email, [MEMBERSHIP + "Learner"]))
    return members


def _member(sub: str, name: str, email: str, roles: list[str]) -> dict[str, Any]:
    given, _, family = name.partition(" ")
    return {
        "user_id": sub,
        "name": name,
        "given_name": given,
        "family_name": family,
        "email": email,
        "roles": [r for r in roles if r.startswith(MEMBERSHIP)],
        "status": "Active",
    }


@dataclass
class Gradebook:
    """The demo course's gradebook and access tokens, in memory (a demo restart clears them)."""

    tokens: set[str] = field(default_factory=set)
    line_items: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    added_content: list[dict[str, Any]] = field(default_factory=list)

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return token

    def add_line_item(self, course_url: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("label") or not body.get("scoreMaximum"):
            raise LtiError("demo_bad_line_item", "a line item needs a label and a scoreMaximum")
        item = {**body, "id": f"{course_url}/lineitems/{len(self.line_items) + 1}"}
        self.line_items.append(item)
        return item

    def add_score(self, number: int, body: dict[str, Any]) -> None:
        if not 1 <= number <= len(self.line_items):
            raise LtiError("demo_no_line_item", "no such line item", status=404)
        members = {m["user_id"] for m in roster_members()}
        if body.get("userId") not in members:
            raise LtiError("demo_not_enrolled", "that user is not enrolled in this course")
        self.scores[(number, str(body["userId"]))] = body


async def _tool_claims(
    session: AsyncSession, settings: Settings, token: str, audience: str, code: str
) -> dict[str, Any]:
    """A JWT the tool signed, verified with a key its JWKS publishes, as any LMS does."""
    from ler_plugin.lti.keys import published_jwks

    try:
        kid = jwt.get_unverified_header(token).get("kid")
        found = await published_jwks(session=session, settings=settings)
        jwk = next(k for k in found["keys"] if k.get("kid") == kid)
        claims: dict[str, Any] = jwt.decode(
            token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=audience
        )
    except (StopIteration, jwt.PyJWTError) as exc:
        raise LtiError(code, f"the tool's JWT does not verify: {exc}") from None
    if claims.get("iss") != CLIENT_ID:
        raise LtiError(code, "the tool's JWT is not from the demo's client id")
    return claims


async def check_client_assertion(
    *, session: AsyncSession, settings: Settings, assertion: str
) -> None:
    """The token endpoint's check: the tool proves who it is by its signature (RFC 7523)."""
    claims = await _tool_claims(
        session, settings, assertion, f"{settings.base_url}/demo-lms/token", "demo_bad_client"
    )
    if claims.get("sub") != CLIENT_ID:
        raise LtiError("demo_bad_client", "the client assertion's sub is not the client id")


async def check_deep_link_response(
    *, session: AsyncSession, settings: Settings, token: str
) -> dict[str, Any]:
    """The tool's deep linking answer, addressed to this LMS."""
    return await _tool_claims(session, settings, token, issuer(settings), "demo_bad_deep_link")


def issuer(settings: Settings) -> str:
    return f"{settings.base_url}/demo-lms"


def private_key(settings: Settings) -> rsa.RSAPrivateKey:
    path = settings.data_dir / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


def _kid(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "demo-" + hashlib.sha256(der).hexdigest()[:16]


def jwks(settings: Settings) -> dict[str, Any]:
    key = private_key(settings)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": _kid(key), "alg": "RS256", "use": "sig"}]}


async def register(*, session: AsyncSession, settings: Settings, district_id: int) -> Platform:
    """Register the demo LMS for the demo district (once). Ana's first launch finds the seeded
    Ana Flores by the email the demo LMS vouches for (the wallet's matching rules)."""
    found = await service.find_platform(
        session=session, issuer=issuer(settings), client_id=CLIENT_ID
    )
    platform = found or await service.add_platform(
        session=session,
        settings=settings,
        principal=Principal.operator(),
        district_id=district_id,
        data=service.PlatformInput(
            name="Demo LMS",
            issuer=issuer(settings),
            client_id=CLIENT_ID,
            auth_login_url=f"{settings.base_url}/demo-lms/auth",
            auth_token_url=f"{settings.base_url}/demo-lms/token",
            jwks_url=f"{settings.base_url}/demo-lms/jwks",
            deployment_ids=[DEPLOYMENT_ID],
        ),
    )
    return platform


def authenticate(settings: Settings, params: dict[str, str]) -> tuple[str, str, str]:
    """Answer the tool's OIDC authentication request: (redirect_uri, id_token, state)."""
    redirect_uri = f"{settings.base_url}/lti/launch"
    expected = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
    }
    for name, value in expected.items():
        if params.get(name) != value:
            raise LtiError("demo_bad_auth_request", f"the demo LMS expected {name}={value}")
    user = USERS.get(params.get("login_hint", ""))
    if user is None or not params.get("nonce") or not params.get("state"):
        raise LtiError(
            "demo_bad_auth_request", "the demo LMS needs a known login_hint, nonce, state"
        )
    deep_linking = params.get("lti_message_hint") == "deep-link"
    return redirect_uri, id_token(settings, user, params["nonce"], deep_linking), params["state"]


def id_token(settings: Settings, user: DemoUser, nonce: str, deep_linking: bool) -> str:
    now = dt.datetime.now(dt.UTC)
    base = settings.base_url
    given, _, family = user.name.partition(" ")
    claims: dict[str, Any] = {
        "iss": issuer(settings),
        "aud": CLIENT_ID,
        "sub": user.sub,
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        "nonce": nonce,
        "name": user.name,
        "given_name": given,
        "family_name": family,
        "email": user.email,
        CLAIM + "version": "1.3.0",
        CLAIM + "message_type": DEEP_LINKING if deep_linking else RESOURCE_LINK,
        CLAIM + "deployment_id": DEPLOYMENT_ID,
        CLAIM + "target_link_uri": f"{base}/lti/launch",
        CLAIM + "roles": list(user.roles),
        CLAIM + "launch_presentation": {
            "document_target": "iframe",
            "return_url": f"{base}/demo-lms/",
        },
    }
    if user.in_course:
        course = f"{base}/demo-lms/courses/{COURSE['id']}"
        claims[CLAIM + "context"] = COURSE
        claims[AGS_CLAIM] = {
            "scope": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            ],
            "lineitems": f"{course}/lineitems",
        }
        claims[NRPS_CLAIM] = {
            "context_memberships_url": f"{course}/memberships",
            "service_versions": ["2.0"],
        }
    if deep_linking:
        claims[DL_CLAIM + "deep_linking_settings"] = {
            "deep_link_return_url": f"{base}/demo-lms/deep-link-return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "data": "demo-deep-link",
        }
    else:
        claims[CLAIM + "resource_link"] = {"id": "demo-link-wallet", "title": "Teacher Wallet"}
    key = private_key(settings)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": _kid(key)})
