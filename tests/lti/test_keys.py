"""The tool's signing keys: made on first need, encrypted at rest, rotated without breaking calls."""

from __future__ import annotations

import httpx
import jwt
import pytest
from sqlalchemy import select

from ler_plugin.config import Settings
from ler_plugin.lti import keys
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.models import ToolKey
from ler_plugin.principal import Principal


def verify(token: str, jwks: dict) -> dict:  # type: ignore[type-arg]
    kid = jwt.get_unverified_header(token)["kid"]
    [jwk] = [k for k in jwks["keys"] if k["kid"] == kid]
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience="lms")


async def test_signing_key_is_made_once_and_stored_encrypted(session, settings: Settings) -> None:
    first = await keys.current_signing_key(session=session, settings=settings)
    again = await keys.current_signing_key(session=session, settings=settings)
    assert first.kid == again.kid
    row = await session.scalar(select(ToolKey).where(ToolKey.kid == first.kid))
    assert row is not None
    assert "PRIVATE KEY" not in row.private_key_encrypted
    assert "d" not in row.public_jwk  # only the public half is published

    other = settings.model_copy(update={"secret_key": "another-secret-key-" + "x" * 20})
    with pytest.raises(LtiError) as caught:
        await keys.current_signing_key(session=session, settings=other)
    assert caught.value.code == "tool_key_unreadable"


async def test_rotation_keeps_the_previous_key_published(session, settings: Settings) -> None:
    operator = Principal.operator()
    before = await keys.current_signing_key(session=session, settings=settings)
    in_flight = before.sign({"aud": "lms", "sub": "tool"})

    rotated = await keys.rotate(session=session, settings=settings, principal=operator)
    current = await keys.current_signing_key(session=session, settings=settings)
    assert current.kid == rotated.kid != before.kid
    jwks = await keys.published_jwks(session=session, settings=settings)
    assert [k["kid"] for k in jwks["keys"]] == [rotated.kid, before.kid]
    assert verify(in_flight, jwks)["sub"] == "tool"  # signed before the rotation, still good
    assert verify(current.sign({"aud": "lms", "sub": "new"}), jwks)["sub"] == "new"

    await keys.rotate(session=session, settings=settings, principal=operator)
    jwks = await keys.published_jwks(session=session, settings=settings)
    assert before.kid not in [k["kid"] for k in jwks["keys"]]
    assert rotated.kid in [k["kid"] for k in jwks["keys"]]


async def test_jwks_endpoint_publishes_the_current_key(live_server, session_factory) -> None:
    async with session_factory() as session, session.begin():
        key = await keys.rotate(
            session=session, settings=live_server.settings, principal=Principal.operator()
        )
        signer = await keys.current_signing_key(session=session, settings=live_server.settings)
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{live_server.url}/lti/jwks")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    body = response.json()
    assert key.kid in [k["kid"] for k in body["keys"]]
    assert all(k["kty"] == "RSA" and k["alg"] == "RS256" and "d" not in k for k in body["keys"])
    assert verify(signer.sign({"aud": "lms", "sub": "x"}), body)["sub"] == "x"
