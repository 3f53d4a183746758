"""Rate limits on the provider token endpoint, on LTI logins and launches, and on postBadge,
kept in the database so that every worker counts against the same limit."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from tests.conftest import LiveServer, free_port
from tests.intake.helpers import district_with_provider, token


async def test_token_login_and_post_badge_are_limited(
    settings, engine, session_factory, live_server
) -> None:  # type: ignore[no-untyped-def]
    strict = settings.model_copy(
        update={
            "token_requests_per_minute": 3,
            "launches_per_minute": 4,
            "badge_posts_per_minute": 2,
            # Counters live in the shared test database: each run of this test comes from an
            # address of its own, as a trusted proxy reports it.
            "trusted_proxies": "127.0.0.1/32",
        }
    )
    me = {
        "X-Forwarded-For": f"198.51.100.{secrets.randbelow(250) + 1}, 203.0.113.{secrets.randbelow(250) + 1}"
    }
    server = LiveServer(strict, port=free_port())
    await asyncio.to_thread(server.start)
    try:
        form = {
            "grant_type": "client_credentials",
            "client_id": secrets.token_hex(8),
            "client_secret": "x",
        }
        statuses = [
            httpx.post(f"{server.url}/oauth/token", data=form, headers=me).status_code
            for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        refused = httpx.post(f"{server.url}/oauth/token", data=form, headers=me)
        assert refused.json()["error"] == "slow_down"
        assert int(refused.headers["Retry-After"]) >= 1

        logins = [
            httpx.get(
                f"{server.url}/lti/login", params={"iss": "https://nope.example"}, headers=me
            ).status_code
            for _ in range(5)
        ]
        assert 429 not in logins[:4]
        assert logins[4] == 429

        _, made = await district_with_provider(session_factory, ["https://issuer.example"])
        bearer = token(live_server.url, made)  # same secret: the token is good on both
        post = 'mutation { postBadge(input: {url: "http://127.0.0.1:9/x"}) { outcome } }'
        codes = []
        for _ in range(3):
            body = httpx.post(
                f"{server.url}/graphql",
                json={"query": post},
                headers={"Authorization": f"Bearer {bearer}"},
            ).json()
            codes.append(((body.get("errors") or [{}])[0].get("extensions") or {}).get("code"))
        assert codes[2] == "rate_limited" and "rate_limited" not in codes[:2]
    finally:
        await asyncio.to_thread(server.stop)
