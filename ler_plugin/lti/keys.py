"""The tool's own signing keys: created on first need, rotated by `ler-plugin keys rotate`.

The newest key signs (client assertions for AGS/NRPS, deep-linking responses); the previous one
stays published in /lti/jwks, so a platform that cached our JWKS, or a JWT signed a moment before
a rotation, still verifies. Private keys are stored encrypted (Fernet) with a key derived from
LER_SECRET_KEY: a copy of the database alone does not give them away.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.config import Settings
from ler_plugin.db import utcnow
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.models import ToolKey
from ler_plugin.principal import Principal, Role
from ler_plugin.signing import key_box

# The current key and the one before it are published; older ones are retired at rotation.
PUBLISHED = 2
KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(
            claims,
            self.private_key,
            algorithm="RS256",
            headers={"kid": self.kid, **(headers or {})},
        )


def public_jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


async def _create(session: AsyncSession, settings: Settings) -> ToolKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    kid = secrets.token_urlsafe(12)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = ToolKey(
        kid=kid,
        private_key_encrypted=key_box(settings).encrypt(pem).decode(),
        public_jwk=public_jwk(private_key, kid),
        activated_at=utcnow(),
    )
    session.add(key)
    await session.flush()
    return key


async def _live_keys(session: AsyncSession) -> list[ToolKey]:
    """Unretired keys, newest first."""
    return list(
        await session.scalars(
            select(ToolKey)
            .where(ToolKey.retired_at.is_(None))
            .order_by(ToolKey.activated_at.desc(), ToolKey.id.desc())
        )
    )


def _load(settings: Settings, key: ToolKey) -> SigningKey:
    try:
        pem = key_box(settings).decrypt(key.private_key_encrypted.encode())
    except InvalidToken:
        raise LtiError(
            "tool_key_unreadable",
            f"the tool key {key.kid} cannot be decrypted: LER_SECRET_KEY changed since it was "
            "made; run `ler-plugin keys rotate` to make a new one",
            status=500,
        ) from None
    private_key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    return SigningKey(kid=key.kid, private_key=private_key)


async def current_signing_key(*, session: AsyncSession, settings: Settings) -> SigningKey:
    """The key to sign with now; made (and committed with the caller's transaction) on first need."""
    keys = await _live_keys(session)
    key = keys[0] if keys else await _create(session, settings)
    return _load(settings, key)


async def published_jwks(*, session: AsyncSession, settings: Settings) -> dict[str, Any]:
    """The JWKS platforms fetch: the current key and the previous one."""
    keys = await _live_keys(session)
    if not keys:
        keys = [await _create(session, settings)]
    return {"keys": [key.public_jwk for key in keys[:PUBLISHED]]}


async def rotate(*, session: AsyncSession, settings: Settings, principal: Principal) -> ToolKey:
    """A new signing key; the previous one stays published, older ones are retired."""
    principal.require(Role.OPERATOR)
    new = await _create(session, settings)
    for old in (await _live_keys(session))[PUBLISHED:]:
        old.retired_at = utcnow()
    await session.flush()
    record_event(
        session,
        "lti:tool_key:rotate",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=None,
        subject_type="lti_tool_key",
        subject_id=new.kid,
    )
    return new
