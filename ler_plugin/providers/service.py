"""PD providers: registration, API credentials (OAuth2 client_credentials) and issuer binding.

A client secret is shown once, when it is made, and stored only as a salted scrypt hash. A
provider principal may act only while its provider is approved and the credential it signed in
with is not revoked: `authorise` checks both on every write, so revocation bites at once even
though bearer tokens live for a quarter of an hour.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.db import utcnow
from ler_plugin.principal import Principal, Role
from ler_plugin.providers.errors import ProviderError
from ler_plugin.providers.models import Provider, ProviderCredential, ProviderIssuer

CREDIT_UNITS = ("clock_hour", "ceu", "semester_hour")
TOKEN_TTL = dt.timedelta(minutes=15)
CLIENT_ID_PREFIX = "lerp_"
# scrypt at n=2**14 costs ~16 MB and tens of milliseconds: cheap for one token request, dear
# for a guesser. The secret itself is 256 random bits, so this guards the database copy only.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
# Hashed when the client id is unknown, so both failures take the same time.
_DUMMY_HASH = f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${'00' * 16}${'00' * 32}"


@dataclass(frozen=True)
class NewCredential:
    """What `create` and `rotate_secret` hand back; the secret exists nowhere else."""

    provider_id: int
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class ProviderSummary:
    id: int
    district_id: int
    name: str
    credit_unit: str | None
    approved: bool
    issuers: list[str]
    client_ids: list[str]


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        digest = hashlib.scrypt(
            secret.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected) // 2,
        )
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(digest.hex(), expected)


def normalise_issuer(issuer: str) -> str:
    """Issuer ids as badges name them: an http(s) URL (no trailing slash) or a DID."""
    value = issuer.strip()
    if value.startswith("did:") and len(value) > 4:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProviderError(
            "bad_issuer", f"{issuer!r} is not an issuer id: give its http(s) URL or its DID"
        )
    return value.rstrip("/")


def _new_credential(provider_id: int) -> tuple[ProviderCredential, str]:
    secret = secrets.token_urlsafe(32)
    credential = ProviderCredential(
        provider_id=provider_id,
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
        secret_hash=hash_secret(secret),
    )
    return credential, secret


async def create(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    name: str,
    issuers: list[str],
    credit_unit: str | None = None,
) -> NewCredential:
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)
    name = name.strip()
    if not name or len(name) > 255:
        raise ProviderError("bad_name", "a provider needs a name of at most 255 characters")
    if credit_unit is not None and credit_unit not in CREDIT_UNITS:
        raise ProviderError(
            "bad_credit_unit", f"credit unit must be one of {', '.join(CREDIT_UNITS)}"
        )
    bound = sorted({normalise_issuer(i) for i in issuers})
    if not bound:
        raise ProviderError("bad_issuer", "name at least one issuer the provider may post for")
    exists = await session.scalar(
        select(Provider.id).where(Provider.district_id == district_id, Provider.name == name)
    )
    if exists is not None:
        raise ProviderError("provider_exists", f"this district already has a provider {name!r}")
    provider = Provider(district_id=district_id, name=name, credit_unit=credit_unit)
    session.add(provider)
    await session.flush()
    session.add_all(ProviderIssuer(provider_id=provider.id, issuer=i) for i in bound)
    credential, secret = _new_credential(provider.id)
    session.add(credential)
    await session.flush()
    record_event(
        session,
        "provider:provider:create",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="provider",
        subject_id=provider.id,
        issuers=bound,
        client_id=credential.client_id,
    )
    return NewCredential(provider.id, credential.client_id, secret)


async def get(*, session: AsyncSession, principal: Principal, provider_id: int) -> Provider:
    provider = await session.get(Provider, provider_id)
    if provider is None:
        raise ProviderError("provider_not_found", f"no provider with id {provider_id}", status=404)
    principal.require_district(provider.district_id)
    if Role.PROVIDER in principal.roles and principal.provider_id != provider.id:
        raise ProviderError("provider_not_found", f"no provider with id {provider_id}", status=404)
    return provider


async def rotate_secret(
    *, session: AsyncSession, principal: Principal, provider_id: int
) -> NewCredential:
    """A new client id and secret; every earlier credential of the provider stops working."""
    principal.require(Role.DISTRICT_ADMIN)
    provider = await get(session=session, principal=principal, provider_id=provider_id)
    await _revoke_credentials(session, provider.id)
    credential, secret = _new_credential(provider.id)
    session.add(credential)
    await session.flush()
    record_event(
        session,
        "provider:credential:rotate",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=provider.district_id,
        subject_type="provider",
        subject_id=provider.id,
        client_id=credential.client_id,
    )
    return NewCredential(provider.id, credential.client_id, secret)


async def revoke(*, session: AsyncSession, principal: Principal, provider_id: int) -> Provider:
    """The provider may no longer sign in or post; its badges already posted stay."""
    principal.require(Role.DISTRICT_ADMIN)
    provider = await get(session=session, principal=principal, provider_id=provider_id)
    provider.approved = False
    await _revoke_credentials(session, provider.id)
    record_event(
        session,
        "provider:provider:revoke",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=provider.district_id,
        subject_type="provider",
        subject_id=provider.id,
    )
    return provider


async def _revoke_credentials(session: AsyncSession, provider_id: int) -> None:
    await session.execute(
        update(ProviderCredential)
        .where(
            ProviderCredential.provider_id == provider_id, ProviderCredential.revoked_at.is_(None)
        )
        .values(revoked_at=utcnow())
    )


async def list_providers(
    *, session: AsyncSession, principal: Principal, district_id: int
) -> list[ProviderSummary]:
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)
    providers = list(
        await session.scalars(
            select(Provider).where(Provider.district_id == district_id).order_by(Provider.name)
        )
    )
    ids = [p.id for p in providers]
    issuers: dict[int, list[str]] = {i: [] for i in ids}
    for provider_id, issuer in await session.execute(
        select(ProviderIssuer.provider_id, ProviderIssuer.issuer)
        .where(ProviderIssuer.provider_id.in_(ids))
        .order_by(ProviderIssuer.issuer)
    ):
        issuers[provider_id].append(issuer)
    clients: dict[int, list[str]] = {i: [] for i in ids}
    for provider_id, client_id in await session.execute(
        select(ProviderCredential.provider_id, ProviderCredential.client_id).where(
            ProviderCredential.provider_id.in_(ids), ProviderCredential.revoked_at.is_(None)
        )
    ):
        clients[provider_id].append(client_id)
    return [
        ProviderSummary(
            p.id, p.district_id, p.name, p.credit_unit, p.approved, issuers[p.id], clients[p.id]
        )
        for p in providers
    ]


def _invalid_client() -> ProviderError:
    return ProviderError(
        "invalid_client", "unknown client, wrong secret, or a revoked client", status=401
    )


async def authenticate_client(
    *, session: AsyncSession, client_id: str, client_secret: str
) -> Principal:
    """The provider principal for a client id and secret (OAuth2 client_credentials).

    Unknown client, wrong secret and revoked client fail alike (`invalid_client`), in the same
    time, so the answer tells a guesser nothing.
    """
    row = (
        await session.execute(
            select(ProviderCredential, Provider)
            .join(Provider, Provider.id == ProviderCredential.provider_id)
            .where(ProviderCredential.client_id == client_id)
        )
    ).first()
    stored = row[0].secret_hash if row else _DUMMY_HASH
    # scrypt is deliberately slow: keep it off the event loop.
    good = await anyio.to_thread.run_sync(secret_matches, client_secret, stored)
    if row is None or not good:
        raise _invalid_client()
    credential, provider = row
    if credential.revoked_at is not None or not provider.approved:
        raise _invalid_client()
    return provider_principal(provider, credential.client_id)


def provider_principal(provider: Provider, client_id: str) -> Principal:
    return Principal(
        roles=frozenset({Role.PROVIDER}),
        district_id=provider.district_id,
        provider_id=provider.id,
        subject=f"provider:{client_id}",
    )


@dataclass(frozen=True)
class ActingProvider:
    id: int
    district_id: int
    name: str
    credit_unit: str | None
    issuers: frozenset[str]

    def require_issuer(self, issuer: str | None) -> None:
        if issuer is None or _issuer_key(issuer) not in {_issuer_key(i) for i in self.issuers}:
            raise ProviderError(
                "issuer_not_allowed",
                f"this provider may post badges only for its registered issuers; "
                f"the badge's issuer is {issuer or 'missing'}",
                status=403,
            )


def _issuer_key(issuer: str) -> str:
    return issuer.strip().rstrip("/")


async def authorise(*, session: AsyncSession, principal: Principal) -> ActingProvider:
    """The provider a provider principal acts for, checked to be approved and not revoked."""
    principal.require(Role.PROVIDER)
    if principal.provider_id is None:
        raise ProviderError("provider_not_found", "this token names no provider", status=403)
    provider = await session.get(Provider, principal.provider_id)
    if provider is None or provider.district_id != principal.district_id:
        raise ProviderError("provider_not_found", "this token names no provider", status=403)
    client_id = principal.subject.removeprefix("provider:")
    revoked_at = await session.scalar(
        select(ProviderCredential.revoked_at).where(ProviderCredential.client_id == client_id)
    )
    if not provider.approved or revoked_at is not None:
        raise ProviderError(
            "provider_revoked",
            "this provider's access has been revoked by the district",
            status=403,
        )
    issuers = await session.scalars(
        select(ProviderIssuer.issuer).where(ProviderIssuer.provider_id == provider.id)
    )
    return ActingProvider(
        provider.id, provider.district_id, provider.name, provider.credit_unit, frozenset(issuers)
    )


async def name_of(*, session: AsyncSession, provider_id: int) -> str | None:
    return await session.scalar(select(Provider.name).where(Provider.id == provider_id))


async def approved_for_issuer(
    *, session: AsyncSession, district_id: int, issuer: str | None
) -> Provider | None:
    """The district's approved provider an issuer (URL or DID) is registered to, if any."""
    if not issuer:
        return None
    return await session.scalar(
        select(Provider)
        .join(ProviderIssuer, ProviderIssuer.provider_id == Provider.id)
        .where(
            Provider.district_id == district_id,
            Provider.approved.is_(True),
            ProviderIssuer.issuer == issuer.rstrip("/"),
        )
        .limit(1)
    )
