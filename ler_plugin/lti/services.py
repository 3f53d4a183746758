"""Calling an LMS's LTI Advantage services: the OAuth2 token and one authorised request.

The platform hands out access tokens through the client-credentials grant, where the tool proves
who it is with a JWT signed by its own key (1EdTech Security Framework §4.1, RFC 7523): no shared
secret ever travels. A token covers a set of scopes for about an hour; `TokenCache` keeps it until
shortly before it expires, per (token URL, client id, scopes), so a roster fetch followed by forty
score posts costs one token request, not forty-one.

Everything goes through the `httpx.AsyncClient` the caller passes in (the app binds it to the
guarded fetcher), and every request carries a ``User-Agent: ler-plugin/<version>``: Canvas refuses
API calls without one. Failures become one `LtiServiceError` whose code says what went wrong.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from typing import Any, Protocol, TypeVar

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from ler_plugin.lti.errors import LtiServiceError
from ler_plugin.lti.models import Platform

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_RESULT_READONLY, SCOPE_SCORE)
TOOL_SCOPES = (*AGS_SCOPES, SCOPE_NRPS)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300
# A token is dropped this long before the platform says it expires, so no call races the clock.
EXPIRY_MARGIN = 60
DEFAULT_TOKEN_LIFETIME = 3600


def user_agent() -> str:
    try:
        version = metadata.version("ler-plugin")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"ler-plugin/{version}"


class ToolSigningKey(Protocol):
    """Our signing key: `ler_plugin.lti.keys.current_signing_key` returns one (a `SigningKey`)."""

    @property
    def kid(self) -> str: ...

    @property
    def private_key(self) -> RSAPrivateKey: ...


@dataclass(frozen=True)
class TokenEndpoint:
    """Where and as whom to ask a platform for access tokens."""

    client_id: str
    token_url: str
    # Brightspace checks `aud` against its authorization server, not the token URL.
    audience: str | None = None

    @classmethod
    def of(cls, platform: Platform) -> TokenEndpoint:
        return cls(platform.client_id, platform.auth_token_url, platform.auth_audience)


def client_assertion(
    endpoint: TokenEndpoint, key: ToolSigningKey, *, now: float | None = None
) -> str:
    """The signed JWT that authenticates us at the token endpoint (RFC 7523 §2.2)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": endpoint.client_id,
        "sub": endpoint.client_id,
        "aud": endpoint.audience or endpoint.token_url,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
        "jti": secrets.token_urlsafe(24),
    }
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


_Key = tuple[str, str, frozenset[str]]
_Json = TypeVar("_Json", dict[str, Any], list[Any])


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class TokenCache:
    """Access tokens by (token URL, client id, scopes), kept until shortly before they expire.

    One lives for the whole process (the app keeps it); a lock per key keeps concurrent callers
    from all asking the platform at once for the same token.
    """

    clock: Callable[[], float] = time.monotonic
    _tokens: dict[_Key, _Token] = field(default_factory=dict)
    _locks: dict[_Key, asyncio.Lock] = field(default_factory=dict)

    async def token(
        self,
        client: httpx.AsyncClient,
        endpoint: TokenEndpoint,
        key: ToolSigningKey,
        scopes: Iterable[str],
    ) -> str:
        wanted = frozenset(scopes)
        cache_key = (endpoint.token_url, endpoint.client_id, wanted)
        async with self._locks.setdefault(cache_key, asyncio.Lock()):
            found = self._tokens.get(cache_key)
            if found and found.expires_at > self.clock():
                return found.value
            value, lifetime = await request_token(client, endpoint, key, wanted)
            margin = min(EXPIRY_MARGIN, lifetime // 10)
            self._tokens[cache_key] = _Token(value, self.clock() + lifetime - margin)
            return value

    def forget(self, endpoint: TokenEndpoint, scopes: Iterable[str]) -> None:
        """Drop a token the platform no longer accepts (revoked, or its key rotated)."""
        self._tokens.pop((endpoint.token_url, endpoint.client_id, frozenset(scopes)), None)


async def request_token(
    client: httpx.AsyncClient, endpoint: TokenEndpoint, key: ToolSigningKey, scopes: Iterable[str]
) -> tuple[str, int]:
    """Ask the platform for an access token; returns (token, lifetime in seconds)."""
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": client_assertion(endpoint, key),
        "scope": " ".join(sorted(scopes)),
    }
    response = await _send(
        client,
        "POST",
        endpoint.token_url,
        headers={"Accept": "application/json"},
        data=form,
        what="the token endpoint",
    )
    if response.status_code == 400 and _oauth_error(response).startswith("invalid_scope"):
        raise LtiServiceError(
            "lti_token_scope_refused",
            f"{endpoint.token_url} will not grant {' '.join(sorted(scopes))} to client id "
            f"{endpoint.client_id!r}: enable that service for the tool in the LMS",
        )
    if response.status_code in (400, 401):
        raise LtiServiceError(
            "lti_token_refused",
            f"{endpoint.token_url} refused our client assertion for client id "
            f"{endpoint.client_id!r} ({_oauth_error(response)}): check the client id, and that "
            "the platform has our JWKS URL or public key",
        )
    _raise_for_status(response, "the token endpoint")
    body = json_answer(response, "the token endpoint", dict)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise LtiServiceError(
            "lti_service_bad_response", f"{endpoint.token_url} answered without an access_token"
        )
    return token, _lifetime(body.get("expires_in"))


def _lifetime(expires_in: Any) -> int:
    try:
        seconds = int(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_LIFETIME
    return seconds if seconds > 0 else DEFAULT_TOKEN_LIFETIME


@dataclass(frozen=True)
class ServiceAccess:
    """Everything an authorised call to one platform needs; NRPS and AGS functions take this."""

    client: httpx.AsyncClient
    endpoint: TokenEndpoint
    key: ToolSigningKey
    tokens: TokenCache

    async def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        scopes: Iterable[str],
        accept: str,
        json_body: Mapping[str, Any] | None = None,
        content_type: str | None = None,
        what: str,
    ) -> httpx.Response:
        """One call with a bearer token; a 401 with a cached token is retried once with a new one."""
        wanted = tuple(scopes)
        for attempt in (1, 2):
            token = await self.tokens.token(self.client, self.endpoint, self.key, wanted)
            headers = {"Authorization": f"Bearer {token}", "Accept": accept}
            if content_type:
                headers["Content-Type"] = content_type
            response = await _send(
                self.client, method, url, headers=headers, json_body=json_body, what=what
            )
            if response.status_code == 401 and attempt == 1:
                self.tokens.forget(self.endpoint, wanted)
                continue
            _raise_for_status(response, what)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def pages(
        self,
        url: str,
        *,
        scopes: Iterable[str],
        accept: str,
        what: str,
        max_pages: int,
        loop_code: str,
    ) -> AsyncIterator[httpx.Response]:
        """Each page of a listing, following ``Link: <...>; rel="next"``; a platform that sends
        a page it sent before, or more than `max_pages`, is looping and is stopped."""
        seen: set[str] = set()
        next_url: str | None = url
        while next_url:
            if next_url in seen or len(seen) >= max_pages:
                raise LtiServiceError(
                    loop_code,
                    f"{what} at {url} kept sending more pages (stopped after {len(seen)})",
                )
            seen.add(next_url)
            response = await self.request("GET", next_url, scopes=scopes, accept=accept, what=what)
            yield response
            next_url = next_page(response)


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    headers: dict[str, str],
    what: str,
    data: Mapping[str, str] | None = None,
    json_body: Mapping[str, Any] | None = None,
) -> httpx.Response:
    headers = {**headers, "User-Agent": user_agent()}
    content = None if json_body is None else json.dumps(json_body).encode()
    try:
        return await client.request(method, url, headers=headers, data=data, content=content)
    except httpx.TimeoutException:
        raise LtiServiceError(
            "lti_service_timeout", f"{what} at {_host(url)} did not answer in time"
        ) from None
    except httpx.HTTPError as exc:
        raise LtiServiceError(
            "lti_service_unreachable",
            f"could not reach {what} at {_host(url)}: {type(exc).__name__}",
        ) from None


def _raise_for_status(response: httpx.Response, what: str) -> None:
    status = response.status_code
    if status < 400:
        return
    where = f"{what} ({response.request.method} {response.request.url})"
    if status == 401:
        raise LtiServiceError("lti_service_unauthorized", f"{where} refused our access token (401)")
    if status == 403:
        raise LtiServiceError(
            "lti_service_forbidden",
            f"{where} answered 403: the platform has not granted the tool this service "
            "(check the scopes enabled for the tool in the LMS)",
        )
    if status == 404:
        raise LtiServiceError("lti_service_not_found", f"{where} answered 404: no such resource")
    if status >= 500:
        raise LtiServiceError(
            "lti_service_unavailable", f"{where} failed on the platform's side ({status})"
        )
    raise LtiServiceError(
        "lti_service_rejected", f"{where} rejected the request ({status}): {_snippet(response)}"
    )


def json_answer(response: httpx.Response, what: str, kind: type[_Json]) -> _Json:
    """The response's JSON object (`dict`) or array (`list`), or a clear error naming who
    answered something else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, kind):
        raise LtiServiceError(
            "lti_service_bad_response",
            f"{what} at {_host(response.request.url)} did not answer with a JSON "
            f"{'object' if kind is dict else 'array'}",
        )
    return body


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("error"):
        detail = body.get("error_description")
        return f"{body['error']}: {detail}" if detail else str(body["error"])
    return f"HTTP {response.status_code}"


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200] or "no detail given"


def _host(url: str | httpx.URL) -> str:
    try:
        return httpx.URL(str(url)).host or str(url)
    except httpx.InvalidURL:
        return str(url)


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: the platforms store a double anyway, and Decimal stays ours."""
    return int(value) if value == value.to_integral_value() else float(value)


def next_page(response: httpx.Response) -> str | None:
    """The ``Link: <...>; rel="next"`` URL, exactly as the platform wrote it."""
    url = (response.links.get("next") or {}).get("url")
    if not url:
        return None
    if "://" in url:
        return url
    return str(response.request.url.join(url))
