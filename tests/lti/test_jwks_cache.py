"""The platform key cache: per process, shared through the database, rate-limited refetches."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from ler_plugin.lti import service
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.jwks import PlatformKeyCache
from ler_plugin.lti.models import Platform
from ler_plugin.principal import Principal
from tests import factories
from tests.lti.platform import FakeLms


@pytest_asyncio.fixture
async def lms() -> AsyncIterator[FakeLms]:
    found = FakeLms()
    yield found
    found.close()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def registered(session, settings, lms: FakeLms) -> Platform:  # type: ignore[no-untyped-def]
    district = await factories.district(session)
    return await service.add_platform(
        session=session,
        settings=settings,
        principal=Principal.operator(),
        district_id=district.id,
        data=lms.registration(),
    )


async def test_a_second_worker_uses_the_shared_copy(session, settings, lms, http) -> None:
    platform = await registered(session, settings, lms)
    kid = lms.keys[0][0]
    first, second = PlatformKeyCache(http), PlatformKeyCache(http)
    assert await first.public_key(session=session, platform=platform, kid=kid) is not None
    assert await second.public_key(session=session, platform=platform, kid=kid) is not None
    assert lms.jwks_hits == 1 and second.fetches == 0


async def test_unknown_kid_refetch_is_rate_limited_across_workers(
    session, settings, lms, http
) -> None:
    platform = await registered(session, settings, lms)
    first, second = PlatformKeyCache(http), PlatformKeyCache(http)
    await first.public_key(session=session, platform=platform, kid=lms.keys[0][0])
    with pytest.raises(LtiError) as caught:
        await first.public_key(session=session, platform=platform, kid="forged")
    assert caught.value.code == "unknown_kid" and lms.jwks_hits == 2  # one refetch
    with pytest.raises(LtiError):
        await second.public_key(session=session, platform=platform, kid="forged-again")
    assert lms.jwks_hits == 2  # the other worker saw the recent refetch and did not fetch

    # Once the interval has passed, a real rotation at the platform is picked up.
    lms.rotate()
    patient = PlatformKeyCache(http, refetch_interval=dt.timedelta(0))
    assert await patient.public_key(session=session, platform=platform, kid=lms.keys[0][0])
    assert lms.jwks_hits == 3


async def test_a_key_set_without_rsa_signing_keys_is_refused(session, settings, http) -> None:
    lms = FakeLms()
    try:
        platform = await registered(session, settings, lms)
        lms.keys = []
        with pytest.raises(LtiError) as caught:
            await PlatformKeyCache(http).public_key(session=session, platform=platform, kid="k")
        assert caught.value.code == "jwks_invalid"
    finally:
        lms.close()


async def test_the_apps_client_keeps_fetching_for_the_life_of_the_process(settings, lms) -> None:
    """One long-lived client serves every launch: no per-verification budget may run it dry."""
    from ler_plugin.app import build_app
    from ler_plugin.fetch import FetchPolicy

    app = build_app(settings)
    async with app.router.lifespan_context(app):
        for _ in range(FetchPolicy().max_requests + 5):
            response = await app.state.http_client.get(lms.jwks_url)
            assert response.status_code == 200
    assert lms.jwks_hits == FetchPolicy().max_requests + 5
