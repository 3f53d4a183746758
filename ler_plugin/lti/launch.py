"""The launch: the id_token the platform posts back, checked claim by claim, then the person.

`validate_id_token` is pure verification (signature and claims, each failure its own code);
`launch` adds the login state (browser binding, single use, nonce), the deployment, the teacher
(found or made by the wallet's one rule), and the `Principal` the session carries.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.badges import service as badges
from ler_plugin.db import utcnow
from ler_plugin.errors import LerError
from ler_plugin.lti import login as logins
from ler_plugin.lti import roles as lti_roles
from ler_plugin.lti import service
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.jwks import PlatformKeyCache
from ler_plugin.lti.models import DeploymentStatus, Platform
from ler_plugin.principal import Principal
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.models import Teacher

log = logging.getLogger(__name__)

LEEWAY = 60  # seconds of clock skew allowed on exp and iat
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"


@dataclass(frozen=True)
class Launched:
    principal: Principal
    path: str
    teacher: Teacher


@dataclass(frozen=True)
class NeedsBrowserStorage:
    """No cookie came back: read the browser's secret from the platform's postMessage storage."""

    storage_target: str
    storage_key: str
    platform_origin: str


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    return claims.get(CLAIM + name)


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LtiError("missing_claim", f"the id_token has no numeric {name} claim")
    return float(value)


def _require(condition: object, code: str, message: str) -> None:
    if not condition:
        raise LtiError(code, message)


async def validate_id_token(
    *,
    session: AsyncSession,
    keys: PlatformKeyCache,
    platform: Platform,
    id_token: str,
    nonce: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The verified claims of a platform's id_token, or an `LtiError` naming the first problem."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise LtiError("token_malformed", "the id_token is not a JWT") from None
    # Only RS256: `none` and HS256 (signed with our copy of the public key) are forgeries.
    if header.get("alg") != "RS256":
        raise LtiError(
            "bad_algorithm",
            f"the id_token is signed with {header.get('alg')!r}; only RS256 is accepted",
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise LtiError("token_malformed", "the id_token's kid is not a string")
    key = await keys.public_key(session=session, platform=platform, kid=kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=["RS256"],
            # Each claim is checked below, so each failure gets its own code.
            options={
                "verify_aud": False,
                "verify_iss": False,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise LtiError("bad_signature", "the id_token's signature does not verify") from None
    except jwt.PyJWTError:
        raise LtiError("token_malformed", "the id_token cannot be decoded") from None
    check_claims(claims, platform=platform, nonce=nonce, now=now or utcnow())
    return claims


def check_claims(
    claims: Mapping[str, Any], *, platform: Platform, nonce: str, now: dt.datetime
) -> None:
    _require(
        claims.get("iss") == platform.issuer,
        "bad_issuer",
        f"the id_token was issued by {claims.get('iss')!r}, not by {platform.issuer}",
    )
    aud = claims.get("aud")
    audiences: list[Any] = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    _require(
        platform.client_id in audiences,
        "bad_audience",
        f"the id_token is not meant for client id {platform.client_id}",
    )
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise LtiError("azp_missing", "the id_token has several audiences and no azp claim")
    _require(
        azp is None or azp == platform.client_id,
        "bad_azp",
        f"the id_token's azp is {azp!r}, not {platform.client_id}",
    )
    timestamp = now.timestamp()
    _require(
        _number(claims, "exp") + LEEWAY > timestamp, "token_expired", "the id_token has expired"
    )
    _require(
        _number(claims, "iat") - LEEWAY <= timestamp,
        "token_from_future",
        "the id_token was issued in the future: check the LMS server's clock",
    )
    if "nbf" in claims:
        _require(
            _number(claims, "nbf") - LEEWAY <= timestamp,
            "token_from_future",
            "the id_token is not valid yet: check the LMS server's clock",
        )
    _require("nonce" in claims, "nonce_missing", "the id_token has no nonce")
    _require(
        claims["nonce"] == nonce, "nonce_mismatch", "the id_token's nonce is not this launch's"
    )
    _require(
        _claim(claims, "version") == "1.3.0",
        "bad_lti_version",
        f"the launch is LTI version {_claim(claims, 'version')!r}; this tool speaks 1.3.0",
    )
    message_type = _claim(claims, "message_type")
    _require(
        message_type in (RESOURCE_LINK, DEEP_LINKING),
        "bad_message_type",
        f"the message type {message_type!r} is not one this tool handles",
    )
    for name, present in (
        ("sub", isinstance(claims.get("sub"), str) and claims["sub"]),
        (CLAIM + "roles", isinstance(_claim(claims, "roles"), list)),
        (CLAIM + "deployment_id", isinstance(_claim(claims, "deployment_id"), str)),
        (CLAIM + "target_link_uri", isinstance(_claim(claims, "target_link_uri"), str)),
    ):
        _require(present, "missing_claim", f"the id_token has no {name} claim")
    if message_type == RESOURCE_LINK:
        link = _claim(claims, "resource_link")
        _require(
            isinstance(link, dict) and link.get("id"),
            "missing_claim",
            f"the id_token has no {CLAIM}resource_link claim with an id",
        )
    else:
        settings = claims.get(DL_CLAIM + "deep_linking_settings")
        _require(
            isinstance(settings, dict) and settings.get("deep_link_return_url"),
            "missing_claim",
            f"the id_token has no {DL_CLAIM}deep_linking_settings with a deep_link_return_url",
        )


async def check_deployment(
    *, session: AsyncSession, platform: Platform, deployment_id: str
) -> None:
    deployment = await service.note_deployment(
        session=session, platform=platform, deployment_id=deployment_id
    )
    if deployment.status == DeploymentStatus.PENDING:
        raise LtiError(
            "deployment_pending",
            f"this LMS deployment ({deployment_id}) is waiting for a district administrator to "
            "approve it in the Teacher Wallet; ask them to run `ler-plugin platform "
            "approve-deployment`",
        )
    if deployment.status == DeploymentStatus.REJECTED:
        raise LtiError(
            "deployment_rejected",
            f"this LMS deployment ({deployment_id}) was refused by the district",
        )


async def launch(
    *,
    session: AsyncSession,
    keys: PlatformKeyCache,
    id_token: str,
    state: str,
    browser_secret: str | None,
) -> Launched | NeedsBrowserStorage:
    """Check everything, then find or make the teacher. Refusals come before any teacher write."""
    if not id_token or not state:
        raise LtiError("bad_launch_request", "the launch has no id_token or state: launch again")
    pending = await logins.find_login(session=session, state=state)
    if not browser_secret and pending.state.storage_target:
        return NeedsBrowserStorage(
            storage_target=pending.state.storage_target,
            storage_key=logins.STORAGE_KEY_PREFIX + state,
            platform_origin=logins.origin_of(pending.platform.auth_login_url),
        )
    logins.check_browser(pending, browser_secret)
    platform = pending.platform
    claims = await validate_id_token(
        session=session, keys=keys, platform=platform, id_token=id_token, nonce=pending.state.nonce
    )
    await logins.consume(session=session, login=pending)
    deployment_id = _claim(claims, "deployment_id")
    await check_deployment(session=session, platform=platform, deployment_id=deployment_id)

    teacher = await link_teacher(session=session, platform=platform, claims=claims)
    principal = build_principal(platform=platform, teacher=teacher, claims=claims)
    record_event(
        session,
        "lti:launch:accept",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=platform.district_id,
        subject_type="lti_platform",
        subject_id=platform.id,
        deployment_id=deployment_id,
        message_type=_claim(claims, "message_type"),
        launch_id=principal.launch_id,
    )
    await claim_pending_badges(session=session, teacher=teacher)
    in_context = isinstance(_claim(claims, "context"), dict)
    path = lti_roles.landing_path(
        _claim(claims, "roles"),
        in_context=in_context,
        deep_linking=_claim(claims, "message_type") == DEEP_LINKING,
    )
    return Launched(principal=principal, path=path, teacher=teacher)


async def link_teacher(
    *, session: AsyncSession, platform: Platform, claims: Mapping[str, Any]
) -> Teacher:
    """The teacher behind the launch (found by the wallet's rules, or made with a wallet)."""
    found = await wallets.find_or_create_teacher(
        session=session, district_id=platform.district_id, person=person_of(platform, claims)
    )
    if found.created:
        record_event(
            session,
            "lti:teacher:create",
            actor_kind="lti",
            actor_id=platform.issuer,
            district_id=platform.district_id,
            subject_type="teacher",
            subject_id=found.teacher.id,
            platform_id=platform.id,
        )
    return found.teacher


def person_of(platform: Platform, claims: Mapping[str, Any]) -> wallets.Person:
    """What the id_token says about the person. The LMS vouches for the email it sends unless it
    says otherwise (``email_verified: false``): badges and roster rows match on it."""

    def text(value: object) -> str | None:
        return value if isinstance(value, str) and value.strip() else None

    given, family, name = (text(claims.get(n)) for n in ("given_name", "family_name", "name"))
    lis = _claim(claims, "lis")
    verified = claims.get("email_verified") is not False
    return wallets.Person(
        display_name=name or " ".join(p for p in (given, family) if p) or "Teacher",
        given_name=given,
        family_name=family,
        email=text(claims.get("email")) if verified else None,
        sourced_id=text(lis.get("person_sourcedid")) if isinstance(lis, dict) else None,
        lms=wallets.LmsIdentity(platform.id, platform.issuer, str(claims["sub"]), launched=True),
    )


def build_principal(
    *, platform: Platform, teacher: Teacher, claims: Mapping[str, Any]
) -> Principal:
    """The session's principal, with what later calls (AGS, NRPS, deep linking) need."""
    context_claim = _claim(claims, "context")
    in_context = isinstance(context_claim, dict)
    context: dict[str, str] = {
        "platform_id": str(platform.id),
        "deployment_id": _claim(claims, "deployment_id"),
        "message_type": _claim(claims, "message_type"),
    }
    if in_context:
        _put(context, "context_id", context_claim.get("id"))
        _put(context, "context_title", context_claim.get("title"))
    link = _claim(claims, "resource_link")
    if isinstance(link, dict):
        _put(context, "resource_link_id", link.get("id"))
    ags = claims.get(AGS_CLAIM)
    if isinstance(ags, dict):
        _put(context, "ags_lineitems_url", ags.get("lineitems"))
        _put(context, "ags_lineitem_url", ags.get("lineitem"))
        scopes = ags.get("scope")
        if isinstance(scopes, list):
            _put(context, "ags_scope", " ".join(s for s in scopes if isinstance(s, str)))
    nrps = claims.get(NRPS_CLAIM)
    if isinstance(nrps, dict):
        _put(context, "nrps_memberships_url", nrps.get("context_memberships_url"))
    dl = claims.get(DL_CLAIM + "deep_linking_settings")
    if isinstance(dl, dict):
        _put(context, "deep_link_return_url", dl.get("deep_link_return_url"))
        _put(context, "deep_link_data", dl.get("data"))
        accept = dl.get("accept_types")
        if isinstance(accept, list):
            _put(
                context, "deep_link_accept_types", " ".join(a for a in accept if isinstance(a, str))
            )
    presentation = _claim(claims, "launch_presentation")
    if isinstance(presentation, dict):
        # Where the LMS shows us: Canvas's issuer is canvas.instructure.com while the page that
        # frames us is the school's own Canvas domain, which frame-ancestors must allow.
        _put(context, "return_url", presentation.get("return_url"))
    custom = _claim(claims, "custom")
    if isinstance(custom, dict):
        # The PD activity a deep-linked link names (pd_title, pd_hours, pd_category): the
        # facilitator's award form starts from it.
        for key in ("pd_title", "pd_hours", "pd_category"):
            value = custom.get(key)
            _put(context, f"custom_{key}", value[:200] if isinstance(value, str) else None)
    roles = lti_roles.map_roles(_claim(claims, "roles"), in_context=in_context)
    return Principal(
        roles=roles,
        district_id=platform.district_id,
        teacher_id=teacher.id,
        subject=f"teacher:{teacher.id}",
        launch_id=secrets.token_urlsafe(16),
        context=context,
    )


def _put(context: dict[str, str], name: str, value: object) -> None:
    if isinstance(value, str) and value:
        context[name] = value


async def claim_pending_badges(*, session: AsyncSession, teacher: Teacher) -> None:
    """Badges that waited for this teacher's email land now (the launch orchestrates the wallet
    and the badges room: lti sits above both)."""
    # A badge that cannot be claimed now must not lock the teacher out: it stays pending.
    try:
        async with session.begin_nested():
            await badges.claim_pending_for_teacher(session=session, teacher_id=teacher.id)
    except LerError as error:
        log.warning("pending badges of teacher %s not claimed: %s", teacher.id, error)
