"""The counted records of a wallet as Open Badges 3.0 credentials signed by the district
(eddsa-rdfc-2022), and all of them in one signed CLR 2.0 transcript."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.badges.ob3 import sign_ld_proof
from ler_plugin.wallet.export import COUNTED
from ler_plugin.wallet.models import Record

OB3_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
CLR_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


@dataclass(frozen=True)
class Ob3Issuer:
    """The district as issuer: its profile id, name, and the Ed25519 key its DID document lists
    under `verification_method` (e.g. ``did:web:wallet.example.org:d:acme#key-1``)."""

    id: str
    name: str
    verification_method: str
    private_key: Ed25519PrivateKey


def _credential(
    record: Record, *, issuer: Ob3Issuer, base_url: str, recipient_email: str | None
) -> dict[str, Any]:
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "achievement": {
            "id": f"{base_url}/ob3/achievements/record-{record.id}",
            "type": ["Achievement"],
            "name": record.title,
            "description": record.description or record.title,
            "criteria": {"narrative": record.reflection or f"Completed {record.title}."},
        },
        "activityEndDate": record.completed_on.isoformat(),
    }
    if record.started_on:
        subject["activityStartDate"] = record.started_on.isoformat()
    if record.ceus:
        subject["creditsEarned"] = float(record.ceus)  # a JSON number (1EdTech's JSON Schema)
    if recipient_email:
        salt = hashlib.sha256(f"{issuer.id}:{record.id}".encode()).hexdigest()[:16]
        digest = hashlib.sha256((recipient_email.strip().lower() + salt).encode()).hexdigest()
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": f"sha256${digest}",
                "salt": salt,
            }
        ]
    return {
        "@context": OB3_CONTEXT,
        "id": f"{base_url}/ob3/credentials/record-{record.id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer.id, "type": ["Profile"], "name": issuer.name},
        "validFrom": f"{record.completed_on.isoformat()}T00:00:00Z",
        "name": record.title,
        "credentialSubject": subject,
    }


def export_ob3(
    records: list[Record],
    *,
    issuer: Ob3Issuer,
    base_url: str,
    recipient_email: str | None = None,
    created: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The counted records as OB 3.0 credentials, each with an eddsa-rdfc-2022 proof."""
    created = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    signed = []
    for record in records:
        if record.status not in COUNTED:
            continue
        credential = _credential(
            record, issuer=issuer, base_url=base_url, recipient_email=recipient_email
        )
        signed.append(_sign(credential, issuer, created))
    return signed


def _sign(document: dict[str, Any], issuer: Ob3Issuer, created: dt.datetime) -> dict[str, Any]:
    """An eddsa-rdfc-2022 Data Integrity proof, by the one signer the verifier is tested with."""
    return sign_ld_proof(document, issuer.private_key, issuer.verification_method, created=created)


def export_clr(
    credentials: list[dict[str, Any]],
    *,
    issuer: Ob3Issuer,
    base_url: str,
    learner_name: str | None,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """The signed OB 3.0 credentials gathered in one CLR 2.0 ClrCredential, itself signed by the
    district: a whole transcript a verifier checks at once. `learner_name` may be None to leave
    the teacher's name out (a shared record can hide the name)."""
    created = (created or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    subject: dict[str, Any] = {
        "type": ["ClrSubject"],
        "verifiableCredential": credentials,
        "achievement": [c["credentialSubject"]["achievement"] for c in credentials],
    }
    identifiers = [i for c in credentials[:1] for i in c["credentialSubject"].get("identifier", [])]
    if identifiers:
        subject["identifier"] = identifiers
    clr = {
        "@context": CLR_CONTEXT,
        "id": f"{base_url}/clr/{hashlib.sha256(''.join(c['id'] for c in credentials).encode()).hexdigest()[:32]}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": {"id": issuer.id, "type": ["Profile"], "name": issuer.name},
        "validFrom": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": f"Professional learning record{f' of {learner_name}' if learner_name else ''}",
        "credentialSubject": subject,
    }
    return _sign(clr, issuer, created)
