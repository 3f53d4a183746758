"""The provider token endpoint over real HTTP: RFC 6749 client_credentials and its errors."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.principal import Principal
from ler_plugin.providers import service as providers
from tests.intake.helpers import district_with_provider, error_code, gql, operation, token

ISSUER = "https://pd.example.org/issuer"


def _post(url: str, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{url}/oauth/token", **kwargs)  # type: ignore[arg-type]


async def test_good_client_gets_a_short_lived_bearer_token(
    live_server, session_factory: async_sessionmaker[AsyncSession]
) -> None:  # type: ignore[no-untyped-def]
    _, made = await district_with_provider(session_factory, [ISSUER + "/"], "ceu")
    response = _post(
        live_server.url,
        data={
            "grant_type": "client_credentials",
            "client_id": made.client_id,
            "client_secret": made.client_secret,
        },
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    me = gql(live_server.url, body["access_token"], operation("provider"))["data"]["provider"]
    assert me["issuers"] == [ISSUER]
    assert me["creditUnit"] == "ceu"


async def test_http_basic_authentication_works(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    _, made = await district_with_provider(session_factory, [ISSUER])
    response = _post(
        live_server.url,
        data={"grant_type": "client_credentials"},
        auth=(made.client_id, made.client_secret),
    )
    assert response.status_code == 200, response.text


async def test_bad_secret_and_unknown_client_are_invalid_client(
    live_server, session_factory
) -> None:  # type: ignore[no-untyped-def]
    _, made = await district_with_provider(session_factory, [ISSUER])
    for client_id, secret in ((made.client_id, "wrong"), ("lerp_nobody", made.client_secret)):
        response = _post(
            live_server.url,
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")


async def test_wrong_grant_type_and_missing_fields(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    _, made = await district_with_provider(session_factory, [ISSUER])
    wrong = _post(
        live_server.url,
        data={"grant_type": "password", "username": "x", "password": "y"},
        auth=(made.client_id, made.client_secret),
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "unsupported_grant_type"
    missing = _post(live_server.url, data={"client_id": made.client_id})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    as_json = _post(live_server.url, json={"grant_type": "client_credentials"})
    assert as_json.json()["error"] == "invalid_request"


async def test_revoked_client_gets_no_token_and_its_live_token_stops_working(
    live_server, session_factory
) -> None:  # type: ignore[no-untyped-def]
    _, made = await district_with_provider(session_factory, [ISSUER])
    bearer = token(live_server.url, made)
    async with session_factory() as session, session.begin():
        await providers.revoke(
            session=session, principal=Principal.operator(), provider_id=made.provider_id
        )
    response = _post(
        live_server.url,
        data={"grant_type": "client_credentials"},
        auth=(made.client_id, made.client_secret),
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    answer = gql(live_server.url, bearer, operation("provider"))
    assert error_code(answer) == "provider_revoked"


async def test_rotated_secret_replaces_the_old_one(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    _, made = await district_with_provider(session_factory, [ISSUER])
    async with session_factory() as session, session.begin():
        new = await providers.rotate_secret(
            session=session, principal=Principal.operator(), provider_id=made.provider_id
        )
    old = _post(
        live_server.url,
        data={"grant_type": "client_credentials"},
        auth=(made.client_id, made.client_secret),
    )
    assert old.status_code == 401
    assert token(live_server.url, new)


def test_secrets_are_stored_salted_and_checked() -> None:
    first, second = providers.hash_secret("s3cret"), providers.hash_secret("s3cret")
    assert first != second and "s3cret" not in first
    assert providers.secret_matches("s3cret", first)
    assert not providers.secret_matches("s3cret!", first)
    assert not providers.secret_matches("s3cret", "garbage")
