"""What one request may ask: aliases, tokens, cost budget, and no introspection in production."""

from __future__ import annotations

import asyncio

import httpx

from ler_plugin.principal import Principal
from ler_plugin.sessions import issue_token
from tests import factories
from tests.conftest import LiveServer, free_port

RECORD_FIELDS = "id kind source status visibility title description providerName category skills startedOn completedOn clockHours ceus statusReason"


async def _token(live_server, session_factory) -> str:  # type: ignore[no-untyped-def]
    async with session_factory() as session, session.begin():
        district = await factories.district(session)
        teacher = await factories.teacher(session, district.id)
        await factories.record(session, teacher)
        return issue_token(live_server.settings, Principal.for_teacher(teacher.id, district.id))


def _ask(url: str, token: str, query: str) -> dict:  # type: ignore[type-arg]
    response = httpx.post(
        f"{url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_cost_is_reported_and_budget_enforced(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    token = await _token(live_server, session_factory)
    small = _ask(
        live_server.url, token, "{ wallet { records(first: 2) { edges { node { title } } } } }"
    )
    assert small["extensions"]["cost"]["requested"] == 1 + (1 + 2 * (1 + 1 * (1 + 1)))
    assert "errors" not in small

    page = f"records(first: 100) {{ edges {{ node {{ {RECORD_FIELDS} }} }} }}"
    greedy = "{ wallet { " + " ".join(f"a{i}: {page}" for i in range(20)) + " } }"
    body = _ask(live_server.url, token, greedy)
    assert "errors" in body, body.get("extensions")
    assert body["errors"][0]["extensions"]["code"] == "cost_exceeded"
    assert body.get("data") is None

    via_fragment = (
        "query { wallet { ...R } } fragment R on Wallet { "
        + " ".join(f"b{i}: {page}" for i in range(20))
        + " }"
    )
    assert (
        _ask(live_server.url, token, via_fragment)["errors"][0]["extensions"]["code"]
        == "cost_exceeded"
    )


async def test_alias_and_token_limits(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    token = await _token(live_server, session_factory)
    aliases = "{ " + " ".join(f"v{i}: viewer {{ roles }}" for i in range(40)) + " }"
    assert "aliases" in _ask(live_server.url, token, aliases)["errors"][0]["message"]
    huge = "{ viewer { " + " ".join(["roles"] * 5000) + " } }"
    assert "token" in _ask(live_server.url, token, huge)["errors"][0]["message"].lower()


async def test_production_hides_the_schema(settings, engine) -> None:  # type: ignore[no-untyped-def]
    production = settings.model_copy(
        update={
            "environment": "production",
            "base_url": "https://wallet.example.org",
            "allow_insecure_loopback": False,
        }
    )
    server = LiveServer(production, port=free_port())
    await asyncio.to_thread(server.start)
    try:
        body = httpx.post(
            f"{server.url}/graphql", json={"query": "{ __schema { types { name } } }"}
        ).json()
        assert "introspection" in body["errors"][0]["message"].lower()
        typo = httpx.post(f"{server.url}/graphql", json={"query": "{ walet { id } }"}).json()
        assert "Did you mean" not in typo["errors"][0]["message"]
        assert (
            httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}).status_code != 200
        )
    finally:
        await asyncio.to_thread(server.stop)
