"""Recipient matching (IdentityObject, mailto: subject ids) and status list decoding."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.badges.did import Ob3Error
from ler_plugin.badges.ob3 import sign_ld_proof, verify_ob3
from ler_plugin.badges.status import MAX_LIST_BYTES, decode_bitstring, read_status
from ler_plugin.signing import did_key

CORPUS = Path(__file__).parent.parent / "data" / "ob3-dcc" / "verifiableCredentials"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def no_fetch(url: str) -> Any:
    raise AssertionError(f"unexpected fetch of {url}")


def badge_for(subject_extra: dict[str, Any]) -> dict[str, Any]:
    key = Ed25519PrivateKey.generate()
    did = did_key(key.public_key())
    credential = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:7e3c1b2a-9f4d-4a6e-b1c2-3d4e5f6a7b8c",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": did, "type": ["Profile"], "name": "PD Center"},
        "validFrom": "2026-03-01T00:00:00Z",
        "name": "Literacy",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://pd.example/a/lit",
                "type": ["Achievement"],
                "name": "Literacy",
                "description": "d",
                "criteria": {"narrative": "n"},
            },
        }
        | subject_extra,
    }
    return sign_ld_proof(credential, key, f"{did}#{did.split(':')[2]}")


def email_identity(value: str, *, hashed: bool, salt: str | None = None) -> dict[str, Any]:
    entry = {"type": "IdentityObject", "identityType": "emailAddress", "hashed": hashed}
    entry["identityHash"] = value
    if salt is not None:
        entry["salt"] = salt
    return {"identifier": [entry]}


SALTED = "sha256$" + hashlib.sha256(b"ana@school.org" + b"pepper").hexdigest()


@pytest.mark.parametrize(
    ("subject", "identities", "matched"),
    [
        (email_identity("Ana@School.org", hashed=False), ["ana@school.org"], True),
        (email_identity(SALTED, hashed=True, salt="pepper"), ["ANA@school.org "], True),
        (email_identity(SALTED, hashed=True, salt="salt"), ["ana@school.org"], False),
        (email_identity(SALTED, hashed=True, salt="pepper"), ["bo@school.org"], False),
        ({"id": "mailto:ana@school.org"}, ["ana@school.org"], True),
        ({"id": "mailto:ana@school.org"}, ["bo@school.org"], False),
        ({"id": "did:example:ana"}, ["ana@school.org"], None),
        (email_identity("ana@school.org", hashed=False), None, None),
    ],
)
def test_recipient_matching(
    subject: dict[str, Any], identities: list[str] | None, matched: bool | None
) -> None:
    result = verify_ob3(
        badge_for(subject), fetch_json=no_fetch, recipient_identities=identities, now=NOW
    )
    assert result.valid, result.errors
    assert result.recipient is not None and result.recipient["matched"] is matched
    assert ("recipient_mismatch" in {c for c, _ in result.warnings}) is (matched is False)


def test_corpus_name_identity_is_reported_not_matched() -> None:
    path = (
        CORPUS / "v2/dataIntegrityProof/didKey/legacyRegistry-noStatus-noExpiry-identityHash.json"
    )
    result = verify_ob3(
        json.loads(path.read_text()), fetch_json=no_fetch, recipient_identities=["a@b.org"], now=NOW
    )
    assert result.valid
    assert result.recipient is not None and result.recipient["matched"] is None
    assert result.recipient["identifiers"][0]["identityHash"] == "Parker Pearl"


def encode(data: bytes, prefix: str = "u") -> str:
    return prefix + base64.urlsafe_b64encode(gzip.compress(data)).decode().rstrip("=")


def test_bitstring_is_read_most_significant_bit_first() -> None:
    bits = decode_bitstring(encode(bytes([0b10000001, 0, 0b00000010])))
    assert [read_status(bits, i) for i in (0, 1, 7, 8, 22, 23)] == [1, 0, 1, 0, 1, 0]
    assert read_status(bits, 3, size=2) == 0b01 and read_status(bits, 11, size=2) == 0b10
    assert decode_bitstring(encode(b"\x80", prefix="")) == b"\x80"  # StatusList2021: no multibase


def test_corpus_status_list_has_indexes_6_and_8_set_not_7() -> None:
    path = CORPUS.parent / "statusLists/didkey-ed25519Signature2020/e5WK8CbZ1GjycuPombrj"
    bits = decode_bitstring(json.loads(path.read_text())["credentialSubject"]["encodedList"])
    assert len(bits) == 12500  # 100,000 entries
    assert [read_status(bits, i) for i in (6, 7, 8)] == [1, 0, 1]


@pytest.mark.parametrize(
    "encoded",
    [
        encode(bytes(MAX_LIST_BYTES + 1)),  # a gzip bomb past the cap
        encode(b"\xff")[:-4],  # truncated
        "u!!!!",
        "",
        None,
    ],
)
def test_bad_bitstrings_are_named(encoded: Any) -> None:
    with pytest.raises(Ob3Error) as caught:
        decode_bitstring(encoded)
    assert caught.value.code == "status_list_malformed"


def test_index_outside_the_list() -> None:
    with pytest.raises(Ob3Error):
        read_status(b"\x00", 8)
    with pytest.raises(Ob3Error):
        read_status(b"\x00", -1)
