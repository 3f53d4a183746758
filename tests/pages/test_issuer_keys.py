"""A district's issuer key: made once, a did:key, stored encrypted, unreadable under another secret."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from ler_plugin.issuing.errors import IssuingError
from ler_plugin.issuing.keys import DistrictIssuerKey, district_issuer
from ler_plugin.signing import did_key
from tests import factories


async def test_one_key_per_district_encrypted_at_rest(session, settings) -> None:  # type: ignore[no-untyped-def]
    acme = await factories.district(session)
    other = await factories.district(session)
    first = await district_issuer(session=session, settings=settings, district=acme)
    second = await district_issuer(session=session, settings=settings, district=acme)
    elsewhere = await district_issuer(session=session, settings=settings, district=other)
    assert first.id == second.id == did_key(first.private_key.public_key())
    assert first.verification_method == f"{first.id}#{first.id.removeprefix('did:key:')}"
    assert first.name == acme.name and elsewhere.id != first.id
    row = await session.scalar(
        select(DistrictIssuerKey).where(DistrictIssuerKey.district_id == acme.id)
    )
    assert row is not None
    raw = first.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert (
        raw.hex() not in row.private_key_encrypted and raw not in row.private_key_encrypted.encode()
    )

    with pytest.raises(IssuingError) as caught:
        await district_issuer(
            session=session,
            settings=settings.model_copy(update={"secret_key": "another secret entirely " * 2}),
            district=acme,
        )
    assert caught.value.code == "issuer_key_unreadable"
