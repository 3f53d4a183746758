"""What the REST sources share: an OAuth 2.0 client-credentials token and paged JSON collections,
every request through the guarded fetcher (`fetch.guarded_async_client`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from ler_plugin.roster.errors import RosterError

# A server that keeps answering pages past what it said it holds is refused after this many.
MAX_PAGES = 100_000


@dataclass
class Client:
    """One server: its token endpoint, our credentials, and the token once we have it."""

    http: httpx.AsyncClient
    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    _token: str | None = field(default=None, repr=False)

    async def token(self, *, renew: bool = False) -> str:
        if self._token is not None and not renew:
            return self._token
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        response = await self._send(
            "POST",
            self.token_url,
            data=form,
            auth=httpx.BasicAuth(self.client_id, self.client_secret),
            headers={"Accept": "application/json"},
        )
        if response.status_code in (400, 401, 403):
            raise RosterError(
                "token_refused",
                f"{self.token_url} refused client id {self.client_id!r} "
                f"(HTTP {response.status_code}): check the client id and secret",
            )
        body = _json(response, self.token_url)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RosterError("bad_token", f"{self.token_url} answered without an access_token")
        self._token = token
        return token

    async def get(self, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET with the bearer token; an expired token is renewed once."""
        for renew in (False, True):
            token = await self.token(renew=renew)
            response = await self._send(
                "GET",
                url,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
            if response.status_code != 401:
                break
        if response.status_code >= 400:
            raise RosterError(
                "server_error", f"{url} answered HTTP {response.status_code}", status=502
            )
        return response

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, url, **kwargs)
            await response.aread()
        except httpx.HTTPError as exc:
            raise RosterError("server_unreachable", f"{url}: {exc}", status=502) from None
        if 300 <= response.status_code < 400:
            raise RosterError(
                "redirected",
                f"{url} redirects to {response.headers.get('location')}: give that URL instead",
            )
        return response


def _json(response: httpx.Response, url: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise RosterError("not_json", f"{url} did not answer JSON") from None


async def pages(
    client: Client,
    url: str,
    key: str,
    *,
    limit: int,
    total_header: str,
    extra: dict[str, Any] | None = None,
) -> AsyncIterator[tuple[int | None, list[Any]]]:
    """Each page of a collection (limit/offset paging): (the total the server reports, items).
    `key` names the array in a OneRoster envelope ({"users": [...]}); None: the body is the array."""
    offset = 0
    for _ in range(MAX_PAGES):
        response = await client.get(url, {"limit": limit, "offset": offset, **(extra or {})})
        body = _json(response, url)
        items = body.get(key) if key and isinstance(body, dict) else body
        if not isinstance(items, list):
            raise RosterError("bad_page", f"{url} answered without a list of {key or 'items'}")
        reported = response.headers.get(total_header)
        total = int(reported) if reported and reported.isdigit() else None
        yield total, items
        offset += len(items)
        # Servers cap `limit` below what was asked: only an empty page, or the total the
        # server reports, says the collection is done.
        if not items or (total is not None and offset >= total):
            return
    raise RosterError("endless_paging", f"{url} kept answering pages past {MAX_PAGES}")
