"""Shared steps of the intake tests: providers with real credentials, tokens over HTTP, and
GraphQL operations read from graphql/operations (the files real clients send)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.badges.models import Badge
from ler_plugin.badges.ob3 import sign_ld_proof
from ler_plugin.principal import Principal, Role
from ler_plugin.providers import service as providers
from ler_plugin.sessions import issue_token
from ler_plugin.signing import did_key
from ler_plugin.wallet.models import Record
from tests import factories

OPERATIONS = Path(__file__).parents[2] / "graphql" / "operations"


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


async def district_with_provider(
    factory: async_sessionmaker[AsyncSession],
    issuers: list[str],
    credit_unit: str | None = None,
) -> tuple[int, providers.NewCredential]:
    async with factory() as session, session.begin():
        district = await factories.district(session)
        made = await providers.create(
            session=session,
            principal=Principal.operator(),
            district_id=district.id,
            name=factories.unique("Provider"),
            issuers=issuers,
            credit_unit=credit_unit,
        )
        return district.id, made


async def teacher(factory: async_sessionmaker[AsyncSession], district_id: int, email: str) -> int:
    async with factory() as session, session.begin():
        return (await factories.teacher(session, district_id, email=email)).id


def token(base_url: str, credential: providers.NewCredential) -> str:
    response = httpx.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def gql(base_url: str, bearer: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def error_code(answer: Any) -> str:
    assert answer.get("errors"), answer
    return str(answer["errors"][0]["extensions"]["code"])


async def count_badges(factory: async_sessionmaker[AsyncSession], district_id: int) -> int:
    async with factory() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Badge).where(Badge.district_id == district_id)
            )
            or 0
        )


async def records_of(factory: async_sessionmaker[AsyncSession], district_id: int) -> list[Record]:
    async with factory() as session:
        return list(
            await session.scalars(
                select(Record).where(Record.district_id == district_id).order_by(Record.id)
            )
        )


def teacher_token(settings: Any, teacher_id: int, district_id: int) -> str:
    return issue_token(settings, Principal.for_teacher(teacher_id, district_id))


def admin_token(settings: Any, district_id: int) -> str:
    admin = Principal(
        roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district_id, subject="admin:test"
    )
    return issue_token(settings, admin)


VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
PD = "https://ler-plugin.org/contexts/pd-credit/v1"


def signed_ob3(email: str | None) -> tuple[str, dict[str, Any]]:
    """Signed by a fresh did:key; the subject named by email, or (None) only by a DID."""
    key = Ed25519PrivateKey.generate()
    did = did_key(key.public_key())
    credential = {
        "@context": [VC2, OB3, PD],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": did, "type": ["Profile"], "name": "Riverside PD Center"},
        "validFrom": "2026-03-01T00:00:00Z",
        "name": "ELL strategies",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": email,
                    "identityType": "emailAddress",
                    "hashed": False,
                }
            ],
            "achievement": {
                "id": "https://pd.example/achievements/ell",
                "type": ["Achievement"],
                "name": "ELL strategies",
                "description": "Workshop and classroom practice.",
                "criteria": {"narrative": "Attend all sessions."},
                "pdCredit": {"type": "PDCredit", "clockHours": "3.5", "category": "ELL"},
            },
        },
    }
    if email is None:
        subject = credential["credentialSubject"]
        del subject["identifier"]  # type: ignore[attr-defined]
        subject["id"] = "did:example:holder-1"  # type: ignore[index]
    method = f"{did}#{did.split(':')[2]}"
    signed = sign_ld_proof(
        credential, key, method, suite="eddsa-rdfc-2022", created=datetime(2026, 3, 1, tzinfo=UTC)
    )
    return did, signed
