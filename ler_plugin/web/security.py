"""What keeps the pages safe inside an LMS iframe: CSRF tokens and the Content-Security-Policy.

The CSRF token is an HMAC of the session token under the service secret, so it is bound to the
session, needs no storage, and cannot be made by a site that does not hold the session. The CSP
lets only the district's registered LMS origins frame the pages and allows no inline script.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.config import Settings
from ler_plugin.lti.models import Platform
from ler_plugin.principal import Principal

CSRF_FIELD = "csrf"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(?::[0-9]{1,5})?$")


def csrf_token(settings: Settings, session_token: str) -> str:
    mac = hmac.new(settings.secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256)
    return mac.hexdigest()


def csrf_ok(settings: Settings, session_token: str, offered: object) -> bool:
    if not isinstance(offered, str) or not offered:
        return False
    return hmac.compare_digest(csrf_token(settings, session_token), offered)


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an http(s) URL; None for anything a CSP source must not carry."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not _HOST.match(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


# Launch context keys (set by the LTI launch in the signed session) naming where the LMS really
# runs: Canvas's issuer and login URLs are on instructure.com/canvaslms.com while the page that
# frames the tool is the school's own Canvas domain.
LAUNCH_ORIGIN_KEYS = ("return_url", "platform_url")


async def frame_ancestors(session: AsyncSession, principal: Principal | None) -> list[str]:
    """'self', the origins of the LMS platforms registered for the principal's district, and
    the LMS origin the launch came from."""
    sources = ["'self'"]
    if principal is None or principal.district_id is None:
        return sources
    rows = await session.execute(
        select(Platform.issuer, Platform.auth_login_url).where(
            Platform.district_id == principal.district_id
        )
    )
    urls = [url for row in rows for url in row]
    urls += [principal.context.get(key) for key in LAUNCH_ORIGIN_KEYS]
    for url in urls:
        origin = origin_of(url or "")
        if origin and origin not in sources:
            sources.append(origin)
    return sources


def content_security_policy(settings: Settings, ancestors: list[str]) -> str:
    images = "'self' https: data:"
    if settings.allow_insecure_loopback:
        images += " http://127.0.0.1:*"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors " + " ".join(ancestors),
        )
    )
