from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa

from ler_plugin.lti.services import ServiceAccess, TokenCache, TokenEndpoint
from tests.lti.advantage.lms import Key, Lms, Switchboard, members, new_rsa_key


@pytest.fixture(scope="session")
def tool_rsa() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture(scope="session")
def tool_key(tool_rsa: rsa.RSAPrivateKey) -> Key:
    return Key("tool-key-1", tool_rsa)


@pytest.fixture(scope="session")
def platform_rsa() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def lms(
    tool_rsa: rsa.RSAPrivateKey, platform_rsa: rsa.RSAPrivateKey, switchboard: Switchboard
) -> Lms:
    return Lms(tool_key=tool_rsa, key=platform_rsa, members=members(5)).attach(switchboard)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


@pytest.fixture
def access(lms: Lms, client: httpx.AsyncClient, tool_key: Key) -> ServiceAccess:
    return ServiceAccess(
        client=client,
        endpoint=TokenEndpoint(lms.client_id, lms.token_url),
        key=tool_key,
        tokens=TokenCache(),
    )
