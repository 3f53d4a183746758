"""Platform public keys: fetched from the platform's JWKS URL, cached, refetched on an unknown kid.

Two layers: a dict in each process (no database trip on a warm launch) and a row per platform in
`lti_platform_keyset` that every worker shares, so a fleet fetches a platform's JWKS once per
expiry rather than once per process. A token whose kid is unknown triggers one refetch (the
platform may have rotated its key); such forced refetches happen at most once per
`refetch_interval` per platform, across workers, so forged kids cannot flood an LMS.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.db import aware, utcnow
from ler_plugin.errors import LerError
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.models import Platform, PlatformKeyset

log = logging.getLogger(__name__)

DEFAULT_TTL = dt.timedelta(minutes=10)
MIN_TTL = dt.timedelta(minutes=1)
MAX_TTL = dt.timedelta(days=1)
REFETCH_INTERVAL = dt.timedelta(seconds=30)
MAX_JWKS_BYTES = 256 * 1024


@dataclass
class _Entry:
    keys: dict[str | None, Any]  # kid -> public key object; None holds a lone key without kid
    jwks: dict[str, Any]
    fetched_at: dt.datetime
    expires_at: dt.datetime
    forced_at: dt.datetime | None


def _parse(jwks: Any, url: str) -> dict[str | None, Any]:
    """RSA signing keys by kid; anything else in the set is ignored, a set with none is refused."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise LtiError("jwks_invalid", f"the platform's JWKS at {url} is not a JSON key set")
    keys: dict[str | None, Any] = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
            continue
        if jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            keys[jwk.get("kid")] = jwt.PyJWK(jwk, algorithm="RS256").key
        except jwt.PyJWTError:
            log.warning("skipping an unreadable key in %s", url)
    if not keys:
        raise LtiError("jwks_invalid", f"the platform's JWKS at {url} has no RSA signing key")
    return keys


def _max_age(response: httpx.Response) -> dt.timedelta:
    """The Cache-Control max-age, kept within a minute and a day."""
    match = re.search(r"max-age=(\d+)", response.headers.get("cache-control", ""))
    if not match:
        return DEFAULT_TTL
    return min(MAX_TTL, max(MIN_TTL, dt.timedelta(seconds=int(match.group(1)))))


class PlatformKeyCache:
    """One per process (the app keeps it in its state); `http` is the guarded fetcher's client."""

    def __init__(
        self, http: httpx.AsyncClient, *, refetch_interval: dt.timedelta = REFETCH_INTERVAL
    ) -> None:
        self.http = http
        self.refetch_interval = refetch_interval
        self._entries: dict[int, _Entry] = {}
        self.fetches = 0  # how many times a JWKS was fetched over HTTP (for tests and metrics)

    def preload(self, platform_id: int, jwks: dict[str, Any]) -> None:
        """Use this key set for a platform without fetching (benchmarks, tests)."""
        now = utcnow()
        self._entries[platform_id] = _Entry(
            _parse(jwks, "preloaded"), jwks, now, MAX_TTL + now, None
        )

    async def public_key(
        self, *, session: AsyncSession, platform: Platform, kid: str | None
    ) -> Any:
        now = utcnow()
        entry = self._entries.get(platform.id)
        if entry is None or entry.expires_at <= now:
            entry = await self._shared(session, platform)
            if entry is None or entry.expires_at <= now:
                entry = await self._fetch(session, platform, forced_at=None)
        key = self._find(entry, kid)
        if key is not None:
            return key
        # Unknown kid: another worker may have refetched already; else refetch, rate-limited.
        shared = await self._shared(session, platform)
        if shared is not None and shared.fetched_at > entry.fetched_at:
            entry = shared
            if (key := self._find(entry, kid)) is not None:
                return key
        forced = [entry.forced_at, shared.forced_at if shared else None]
        last_forced = max((t for t in forced if t is not None), default=None)
        if last_forced is not None and now - last_forced < self.refetch_interval:
            raise LtiError(
                "unknown_kid",
                f"the token was signed with key {kid!r}, which the platform's JWKS does not list",
            )
        entry = await self._fetch(session, platform, forced_at=now)
        key = self._find(entry, kid)
        if key is None:
            raise LtiError(
                "unknown_kid",
                f"the token was signed with key {kid!r}, which the platform's JWKS does not list",
            )
        return key

    @staticmethod
    def _find(entry: _Entry, kid: str | None) -> Any:
        if kid in entry.keys:
            return entry.keys[kid]
        if kid is None and len(entry.keys) == 1:
            return next(iter(entry.keys.values()))
        return None

    async def _shared(self, session: AsyncSession, platform: Platform) -> _Entry | None:
        row = await session.get(PlatformKeyset, platform.id, populate_existing=True)
        if row is None:
            return None
        try:
            keys = _parse(row.jwks, platform.jwks_url)
        except LtiError:
            return None
        entry = _Entry(
            keys, row.jwks, aware(row.fetched_at), aware(row.expires_at), aware(row.forced_at)
        )
        self._entries[platform.id] = entry
        return entry

    async def _fetch(
        self, session: AsyncSession, platform: Platform, *, forced_at: dt.datetime | None
    ) -> _Entry:
        url = platform.jwks_url
        self.fetches += 1
        try:
            response = await self.http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise LtiError("jwks_invalid", f"the platform's JWKS at {url} is too large")
            jwks = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LtiError(
                "jwks_unavailable",
                f"the launch cannot be verified: the platform's keys could not be fetched from "
                f"{url} ({type(exc).__name__})",
            ) from None
        except LtiError:
            raise
        except LerError as exc:  # the guarded fetcher refused the URL
            raise LtiError(
                "jwks_unavailable", f"the platform's JWKS at {url} was refused: {exc.message}"
            ) from None
        keys = _parse(jwks, url)
        now = utcnow()
        entry = _Entry(keys, jwks, now, now + _max_age(response), forced_at)
        self._entries[platform.id] = entry
        # UPDATE first, INSERT if there was no row: no read before the write, so SQLite writers
        # queue on its lock instead of failing on a stale snapshot.
        values = {"jwks": jwks, "fetched_at": entry.fetched_at, "expires_at": entry.expires_at}
        if forced_at is not None:
            values["forced_at"] = forced_at
        result = await session.execute(
            update(PlatformKeyset)
            .where(PlatformKeyset.platform_id == platform.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            try:
                async with session.begin_nested():
                    session.add(PlatformKeyset(platform_id=platform.id, **values))
            except IntegrityError:
                pass  # another worker stored the same platform's keys at the same moment
        return entry
