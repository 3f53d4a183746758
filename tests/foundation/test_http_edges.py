"""Every request: a request id, a body cap, readiness, shared rate limits, the client's address."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from ler_plugin.config import load_settings
from ler_plugin.ratelimit import RateLimited, hit, sweep
from ler_plugin.web.middleware import JsonFormatter, client_ip
from tests.factories import unique


def test_request_id_is_returned_and_a_given_one_kept(live_server) -> None:  # type: ignore[no-untyped-def]
    fresh = httpx.get(f"{live_server.url}/healthz")
    assert len(fresh.headers["x-request-id"]) >= 8
    assert fresh.headers["x-content-type-options"] == "nosniff"
    kept = httpx.get(f"{live_server.url}/healthz", headers={"X-Request-ID": "abc12345-trace"})
    assert kept.headers["x-request-id"] == "abc12345-trace"
    forged = httpx.get(f"{live_server.url}/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert forged.headers["x-request-id"] != "bad id\twith junk"


def test_bodies_over_the_cap_are_refused(live_server) -> None:  # type: ignore[no-untyped-def]
    cap = live_server.settings.max_body_bytes
    big = b"x" * (cap + 1)
    declared = httpx.post(
        f"{live_server.url}/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"] == "body_too_large"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(cap // 65536 + 2):
            yield b"y" * 65536

    streamed = httpx.post(
        f"{live_server.url}/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


def test_readyz_reports_the_schema_at_head(live_server) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{live_server.url}/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


async def test_rate_limit_is_shared_and_resets(session) -> None:  # type: ignore[no-untyped-def]
    key = unique("token:client")
    for expected in range(1, 4):
        assert await hit(session, key, limit=3, per_seconds=3600) == expected
    with pytest.raises(RateLimited) as refused:
        await hit(session, key, limit=3, per_seconds=3600)
    assert refused.value.code == "rate_limited"
    assert 0 < refused.value.retry_after <= 3600
    assert await hit(session, unique("token:client"), limit=3, per_seconds=3600) == 1
    await sweep(session)


async def test_concurrent_hits_are_counted_exactly(session_factory) -> None:  # type: ignore[no-untyped-def]
    key = unique("launch:ip")

    async def one() -> int:
        async with session_factory() as session, session.begin():
            return await hit(session, key, limit=1000, per_seconds=3600)

    counts = await asyncio.gather(*(one() for _ in range(20)))
    assert sorted(counts) == list(range(1, 21))


def test_client_ip_trusts_only_configured_proxies() -> None:
    scope = {
        "client": ("10.0.0.2", 1234),
        "headers": [(b"x-forwarded-for", b"203.0.113.9, 10.0.0.7")],
    }
    untrusting = load_settings()
    assert client_ip(untrusting, scope) == "10.0.0.2"
    trusting = load_settings(trusted_proxies="10.0.0.0/8")
    assert client_ip(trusting, scope) == "203.0.113.9"
    spoofed = {"client": ("198.51.100.4", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4")]}
    assert client_ip(trusting, spoofed) == "198.51.100.4"


def test_json_logs_are_one_object_per_line() -> None:
    record = logging.LogRecord(
        "ler_plugin.http", logging.INFO, __file__, 1, "GET / 200", None, None
    )
    record.request_id = "r1"  # type: ignore[attr-defined]
    record.status = 200  # type: ignore[attr-defined]
    line = JsonFormatter().format(record)
    assert json.loads(line)["request_id"] == "r1" and "\n" not in line
