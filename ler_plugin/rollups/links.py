"""Download links for CSV exports: signed, short-lived, bound to who asked for them.

A link carries what to export (kind and parameters) and who asked (subject and district), signed
with the tool's secret. Whoever follows it must hold a session for the same person, and the
export itself checks that principal again, so a leaked link is useless to anyone else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt

from ler_plugin.config import Settings
from ler_plugin.errors import Forbidden
from ler_plugin.principal import Principal
from ler_plugin.rollups.errors import RollupError

LINK_TTL = dt.timedelta(minutes=10)
AUDIENCE = "ler-plugin:export"
KINDS = ("records", "rollup", "compliance")


@dataclass(frozen=True)
class ExportLink:
    kind: str
    district_id: int
    subject: str
    params: dict[str, Any]


def sign(
    settings: Settings,
    principal: Principal,
    kind: str,
    district_id: int,
    params: dict[str, Any],
    ttl: dt.timedelta = LINK_TTL,
) -> str:
    """The absolute download URL of an export for this principal."""
    if kind not in KINDS:
        raise RollupError("bad_export", f"no export named {kind!r}: choose from {', '.join(KINDS)}")
    now = dt.datetime.now(dt.UTC)
    token = jwt.encode(
        {
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl,
            "sub": principal.subject,
            "district": district_id,
            "kind": kind,
            "params": params,
        },
        settings.secret_key,
        algorithm="HS256",
    )
    return f"{settings.base_url}/exports/{kind}.csv?{urlencode({'t': token})}"


def read(settings: Settings, token: str, principal: Principal) -> ExportLink:
    """The export a link names, when it is still valid and `principal` is the one it was made for."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise RollupError(
            "export_link_expired", "this download link has expired: ask for a new one", status=410
        ) from None
    except jwt.PyJWTError:
        raise RollupError("export_link_invalid", "this download link is not valid") from None
    bound = principal.district_id is None or claims.get("district") == principal.district_id
    if claims["sub"] != principal.subject or not bound:
        raise Forbidden("forbidden", "this download link was made for someone else")
    return ExportLink(
        kind=claims["kind"],
        district_id=int(claims["district"]),
        subject=claims["sub"],
        params=dict(claims.get("params") or {}),
    )
