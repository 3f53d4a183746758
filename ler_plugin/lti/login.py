"""OIDC login initiation (the first leg of an LTI 1.3 launch) and the state it leaves behind.

The platform calls /lti/login; we answer with the authentication request to send the browser to
the platform. The state and nonce live in the database (any worker can finish the launch), bound
to the browser by a secret it carries back: a cookie, or, where the browser refuses cookies in
the LMS iframe, the platform's postMessage storage (`lti_storage_target`). A state is good for
ten minutes and for one launch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.config import Settings
from ler_plugin.db import aware, utcnow
from ler_plugin.lti import service
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.models import LoginState, Platform

STATE_TTL = dt.timedelta(minutes=10)
# Used and expired states are kept a day (to tell a replay from a stranger), then swept.
STATE_KEEP = dt.timedelta(days=1)
STATE_COOKIE_PREFIX = "ler_lti_state_"
STORAGE_KEY_PREFIX = "ler_lti_state_"
PARAM_MAX = 2048


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and what it must carry back."""

    auth_url: str
    state: str
    browser_secret: str
    storage_target: str | None
    platform_origin: str

    @property
    def cookie_name(self) -> str:
        return state_cookie_name(self.state)

    @property
    def storage_key(self) -> str:
        return STORAGE_KEY_PREFIX + self.state


def state_cookie_name(state: str) -> str:
    # One cookie per login, so two launches in two tabs do not overwrite each other.
    return STATE_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def browser_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _param(params: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    value = (params.get(name) or "").strip()
    if len(value) > PARAM_MAX:
        raise LtiError("bad_login_request", f"the login parameter {name} is too long")
    if not value:
        if required:
            raise LtiError(
                "bad_login_request",
                f"the login request has no {name}: start the launch from the LMS",
            )
        return None
    return value


async def _platform_for(session: AsyncSession, issuer: str, client_id: str | None) -> Platform:
    if client_id:
        return await service.get_platform(session=session, issuer=issuer, client_id=client_id)
    # client_id is optional in the initiation; with one registration for the issuer it is clear.
    candidates = await service.platforms_for_issuer(session=session, issuer=issuer)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise LtiError(
            "unknown_platform", f"no platform is registered with issuer {issuer}", status=404
        )
    raise LtiError(
        "client_id_required",
        f"several registrations share issuer {issuer}: the LMS must send client_id in the login",
    )


async def begin_login(
    *, session: AsyncSession, settings: Settings, params: Mapping[str, str]
) -> LoginStart:
    issuer = _param(params, "iss", required=True)
    login_hint = _param(params, "login_hint", required=True)
    target_link_uri = _param(params, "target_link_uri", required=True)
    assert issuer and login_hint and target_link_uri
    if origin_of(target_link_uri) != origin_of(settings.base_url):
        raise LtiError(
            "bad_target_link_uri",
            f"the target link URI {target_link_uri} is not this tool ({settings.base_url})",
        )
    platform = await _platform_for(session, issuer, _param(params, "client_id"))
    state, nonce, secret = (secrets.token_urlsafe(32) for _ in range(3))
    storage_target = _param(params, "lti_storage_target")
    now = utcnow()
    await session.execute(delete(LoginState).where(LoginState.expires_at < now - STATE_KEEP))
    session.add(
        LoginState(
            state=state,
            nonce=nonce,
            browser_hash=browser_hash(secret),
            platform_id=platform.id,
            storage_target=storage_target,
            created_at=now,
            expires_at=now + STATE_TTL,
        )
    )
    await session.flush()
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": f"{settings.base_url}/lti/launch",
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if message_hint := _param(params, "lti_message_hint"):
        query["lti_message_hint"] = message_hint
    separator = "&" if urlsplit(platform.auth_login_url).query else "?"
    return LoginStart(
        auth_url=platform.auth_login_url + separator + urlencode(query),
        state=state,
        browser_secret=secret,
        storage_target=storage_target,
        platform_origin=origin_of(platform.auth_login_url),
    )


@dataclass(frozen=True)
class PendingLogin:
    state: LoginState
    platform: Platform


async def find_login(*, session: AsyncSession, state: str) -> PendingLogin:
    """The login a launch answers; refused when unknown, expired or already used."""
    row = await session.scalar(select(LoginState).where(LoginState.state == state))
    if row is None:
        raise LtiError(
            "state_unknown", "this launch was not started here (unknown state): launch again"
        )
    if row.used_at is not None:
        raise LtiError("replay", "this launch was already used once: launch again from the LMS")
    if aware(row.expires_at) <= utcnow():
        raise LtiError("state_expired", "this launch took too long (over 10 minutes): launch again")
    platform = await session.get(Platform, row.platform_id)
    assert platform is not None  # the foreign key cascades
    return PendingLogin(row, platform)


def check_browser(login: PendingLogin, secret: str | None) -> None:
    if not secret:
        raise LtiError(
            "browser_unknown",
            "your browser did not keep the launch cookie (third-party cookies blocked?) and the "
            "LMS offered no other storage: allow cookies for this tool or open it in a new window",
        )
    if not hmac.compare_digest(browser_hash(secret), login.state.browser_hash):
        raise LtiError("browser_mismatch", "this launch was started in another browser")


async def consume(*, session: AsyncSession, login: PendingLogin) -> None:
    """Mark the state used: one conditional UPDATE, so of two racing workers only one wins."""
    now = utcnow()
    result = await session.execute(
        update(LoginState)
        .where(
            LoginState.id == login.state.id,
            LoginState.used_at.is_(None),
            LoginState.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LtiError("replay", "this launch was already used once: launch again from the LMS")
