"""The wallet taken out: a CSV of every record, what a printed transcript shows, and the
counted records as Open Badges 3.0 credentials signed by the district (eddsa-rdfc-2022)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import License, Record, RecordStatus

CSV_COLUMNS = (
    "title",
    "kind",
    "status",
    "status_reason",
    "completed_on",
    "started_on",
    "clock_hours",
    "ceus",
    "provider",
    "category",
    "skills",
    "visibility",
    "source",
)
# A cell starting with one of these is a formula to a spreadsheet: outside text must not run.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COUNTED = frozenset({RecordStatus.APPROVED, RecordStatus.VERIFIED})


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def wallet_csv(records: list[Record]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(
            _cell(v)
            for v in (
                r.title,
                r.kind.value,
                r.status.value,
                r.status_reason,
                r.completed_on.isoformat(),
                r.started_on.isoformat() if r.started_on else None,
                r.clock_hours,
                r.ceus,
                r.provider_name,
                r.category,
                "; ".join(r.skills or []),
                r.visibility.value,
                r.source.value,
            )
        )
    return out.getvalue()


@dataclass(frozen=True)
class Transcript:
    """A renewal-file summary: what counts (approved or verified), then what is still pending."""

    teacher_name: str
    district_name: str
    license: License | None
    generated_on: dt.date
    counted: list[Record]
    pending: list[Record]
    clock_hours: Decimal
    ceus: Decimal


def transcript(
    *,
    teacher_name: str,
    district_name: str,
    license: License | None,
    records: list[Record],
    today: dt.date | None = None,
) -> Transcript:
    counted = [r for r in records if r.status in COUNTED]
    pending = [
        r for r in records if r.status in (RecordStatus.SUBMITTED, RecordStatus.SELF_REPORTED)
    ]
    zero = Decimal("0.00")
    return Transcript(
        teacher_name=teacher_name,
        district_name=district_name,
        license=license,
        generated_on=today or dt.datetime.now(dt.UTC).date(),
        counted=counted,
        pending=pending,
        clock_hours=sum((r.clock_hours or zero for r in counted), zero),
        ceus=sum((r.ceus or zero for r in counted), zero),
    )


# --- Open Badges 3.0: each counted record as a signed OpenBadgeCredential -----------------------

OB3_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True)
class Ob3Issuer:
    """The district as issuer: its profile id, name, and the Ed25519 key its DID document lists
    under `verification_method` (e.g. ``did:web:wallet.example.org:d:acme#key-1``)."""

    id: str
    name: str
    verification_method: str
    private_key: Ed25519PrivateKey


class ExportError(WalletError):
    pass


def base58btc(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = _BASE58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def _from_base58btc(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _BASE58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _canonical(document: dict[str, Any]) -> bytes:
    """RDF Dataset Canonicalization (URDNA2015) with the shipped contexts only."""
    from pyld import jsonld

    from ler_plugin.badges.jsonld import load_document

    try:
        nquads = jsonld.normalize(
            document,
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": load_document,
            },
        )
    except jsonld.JsonLdError as exc:
        raise ExportError("ob3_canonicalization_failed", f"cannot canonicalize: {exc}") from None
    return str(nquads).encode()


def _hash_data(credential: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    config = {"@context": credential["@context"], **proof_options}
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    return (
        hashlib.sha256(_canonical(config)).digest() + hashlib.sha256(_canonical(unsigned)).digest()
    )


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
        subject["creditsEarned"] = str(record.ceus)
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
        options = {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "verificationMethod": issuer.verification_method,
            "proofPurpose": "assertionMethod",
        }
        signature = issuer.private_key.sign(_hash_data(credential, options))
        credential["proof"] = {**options, "proofValue": "z" + base58btc(signature)}
        signed.append(credential)
    return signed


def verify_ob3(credential: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """Check an eddsa-rdfc-2022 proof made by `export_ob3` against the issuer's public key."""
    proof = credential.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "eddsa-rdfc-2022":
        return False
    value = proof.get("proofValue", "")
    if not isinstance(value, str) or not value.startswith("z"):
        return False
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    try:
        public_key.verify(_from_base58btc(value[1:]), _hash_data(credential, options))
    except (InvalidSignature, ValueError):
        return False
    return True
