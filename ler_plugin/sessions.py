"""Short-lived bearer tokens for the browser after a launch and for provider clients.

A token is a JWT signed with the tool's secret (HS256: only this service reads it) carrying the
Principal. It is bound to the launch it came from and expires quickly; the page asks for a new
one by launching again.
"""

from __future__ import annotations

import datetime as dt
import secrets

import jwt

from ler_plugin.config import Settings
from ler_plugin.errors import LerError
from ler_plugin.principal import Principal, Role

SESSION_TTL = dt.timedelta(hours=2)
AUDIENCE = "ler-plugin"


class SessionError(LerError):
    status = 401


def issue_token(settings: Settings, principal: Principal, ttl: dt.timedelta = SESSION_TTL) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(12),
        "sub": principal.subject,
        "roles": sorted(r.value for r in principal.roles),
        "district": principal.district_id,
        "teacher": principal.teacher_id,
        "provider": principal.provider_id,
        "launch": principal.launch_id,
        "ctx": principal.context,
    }
    return jwt.encode(claims, settings.secret_key, algorithm="HS256")


def read_token(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise SessionError(
            "session_expired", "your session has expired: open the tool again from your LMS"
        ) from None
    except jwt.PyJWTError:
        raise SessionError("session_invalid", "the session token is not valid") from None
    try:
        roles = frozenset(Role(r) for r in claims["roles"])
    except (KeyError, ValueError):
        raise SessionError("session_invalid", "the session token names an unknown role") from None
    return Principal(
        roles=roles,
        district_id=claims.get("district"),
        teacher_id=claims.get("teacher"),
        provider_id=claims.get("provider"),
        subject=claims["sub"],
        launch_id=claims.get("launch"),
        context=claims.get("ctx") or {},
    )
