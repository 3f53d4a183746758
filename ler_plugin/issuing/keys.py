"""Each district's own Ed25519 issuer key: the district signs its teachers' exported credentials.

The key is identified as a ``did:key``, so any verifier checks a signature offline, with no
DID document to host. It is made on first need; the private key is stored encrypted the way
the LTI tool keys are (Fernet, key derived from LER_SECRET_KEY).
"""

from __future__ import annotations

import datetime as dt

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.audit import record_event
from ler_plugin.config import Settings
from ler_plugin.db import Base, utcnow
from ler_plugin.districts.models import District
from ler_plugin.issuing.credentials import Ob3Issuer
from ler_plugin.issuing.errors import IssuingError
from ler_plugin.signing import did_key, key_box


class DistrictIssuerKey(Base):
    """The Ed25519 key a district signs Open Badges 3.0 exports with (one per district)."""

    __tablename__ = "district_issuer_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), unique=True
    )
    did: Mapped[str] = mapped_column(String(128))
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def _encrypt(settings: Settings, key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return key_box(settings).encrypt(raw).decode()


def _decrypt(settings: Settings, row: DistrictIssuerKey) -> Ed25519PrivateKey:
    try:
        raw = key_box(settings).decrypt(row.private_key_encrypted.encode())
    except InvalidToken:
        raise IssuingError(
            "issuer_key_unreadable",
            f"the district issuer key {row.did} cannot be decrypted: LER_SECRET_KEY changed "
            "since it was made; restore the previous secret to export signed credentials",
            status=500,
        ) from None
    return Ed25519PrivateKey.from_private_bytes(raw)


async def _key_row(
    session: AsyncSession, settings: Settings, district_id: int
) -> DistrictIssuerKey:
    query = select(DistrictIssuerKey).where(DistrictIssuerKey.district_id == district_id)
    row = await session.scalar(query)
    if row is not None:
        return row
    private_key = Ed25519PrivateKey.generate()
    row = DistrictIssuerKey(
        district_id=district_id,
        did=did_key(private_key.public_key()),
        private_key_encrypted=_encrypt(settings, private_key),
    )
    try:
        # A savepoint: when another request made the district's key first, use that one.
        async with session.begin_nested():
            session.add(row)
            await session.flush()
            # Made on first need, by no one in particular: the district's signing identity.
            record_event(
                session,
                "wallet:issuer_key:create",
                actor_kind="system",
                actor_id=None,
                district_id=district_id,
                subject_type="district_issuer_key",
                subject_id=row.did,
            )
    except IntegrityError:
        found = await session.scalar(query)
        assert found is not None
        return found
    return row


async def district_issuer(
    *, session: AsyncSession, settings: Settings, district: District
) -> Ob3Issuer:
    """The district as an OB 3.0 issuer (``did:key``), its key made on first need."""
    row = await _key_row(session, settings, district.id)
    fragment = row.did.removeprefix("did:key:")
    return Ob3Issuer(
        id=row.did,
        name=district.name,
        verification_method=f"{row.did}#{fragment}",
        private_key=_decrypt(settings, row),
    )
