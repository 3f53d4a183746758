"""Counted records as OB 3.0 credentials with eddsa-rdfc-2022 proofs that verify, and break when
anything signed is changed."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.wallet.export import (
    Ob3Issuer,
    _canonical,
    _from_base58btc,
    base58btc,
    export_ob3,
    verify_ob3,
)
from ler_plugin.wallet.models import Record, RecordKind, RecordSource, RecordStatus, Visibility

ISSUER_ID = "did:web:wallet.example.org:d:acme"


def _record(record_id: int, title: str, status: RecordStatus, **extra: object) -> Record:
    return Record(
        id=record_id,
        wallet_id=1,
        district_id=1,
        kind=RecordKind.PD_HOURS,
        source=RecordSource.LMS_AWARD,
        status=status,
        visibility=Visibility.DISTRICT,
        title=title,
        completed_on=dt.date(2026, 3, 1),
        skills=[],
        **extra,
    )


def _issuer(key: Ed25519PrivateKey) -> Ob3Issuer:
    return Ob3Issuer(
        id=ISSUER_ID, name="Acme ISD", verification_method=f"{ISSUER_ID}#key-1", private_key=key
    )


def test_counted_records_are_signed_and_verify() -> None:
    key = Ed25519PrivateKey.generate()
    records = [
        _record(
            1,
            "Literacy workshop",
            RecordStatus.APPROVED,
            started_on=dt.date(2026, 2, 27),
            ceus=Decimal("0.60"),
        ),
        _record(2, "Waiting", RecordStatus.SUBMITTED),
        _record(3, "Verified badge", RecordStatus.VERIFIED, reflection="Led three sessions."),
    ]
    created = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    signed = export_ob3(
        records,
        issuer=_issuer(key),
        base_url="https://wallet.example.org",
        recipient_email="Ada@School.org",
        created=created,
    )
    assert [c["name"] for c in signed] == ["Literacy workshop", "Verified badge"]
    first = signed[0]
    assert first["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert first["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert first["proof"]["created"] == "2026-11-28T12:00:00Z"
    assert first["credentialSubject"]["identifier"][0]["identityHash"].startswith("sha256$")
    assert len(_from_base58btc(first["proof"]["proofValue"][1:])) == 64
    public = key.public_key()
    assert all(verify_ob3(c, public) for c in signed)
    assert not verify_ob3(signed[0], Ed25519PrivateKey.generate().public_key())

    # Every signed term reaches the canonical form (nothing silently dropped by the contexts).
    nquads = _canonical({k: v for k, v in first.items() if k != "proof"}).decode()
    for text in (
        '"Literacy workshop"',
        '"Acme ISD"',
        '"2026-03-01"^^<https://www.w3.org/2001/XMLSchema#date>',
        '"2026-02-27"^^<https://www.w3.org/2001/XMLSchema#date>',
        '"0.60"^^<https://www.w3.org/2001/XMLSchema#float>',
        "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#identityHash>",
    ):
        assert text in nquads, text


def test_changing_anything_signed_breaks_the_proof() -> None:
    key = Ed25519PrivateKey.generate()
    (credential,) = export_ob3(
        [_record(7, "Coaching cycle", RecordStatus.APPROVED)],
        issuer=_issuer(key),
        base_url="https://wallet.example.org",
    )
    renamed = copy.deepcopy(credential)
    renamed["credentialSubject"]["achievement"]["name"] = "Doctorate"
    redated = copy.deepcopy(credential)
    redated["proof"]["created"] = "2030-01-01T00:00:00Z"
    for tampered in (renamed, redated):
        assert not verify_ob3(tampered, key.public_key())
    assert verify_ob3(credential, key.public_key())


def test_base58btc_round_trips() -> None:
    for data in (b"", b"\0\0\x01", bytes(range(64)), b"hello world"):
        assert _from_base58btc(base58btc(data)) == data
    assert base58btc(b"hello world") == "StV1DL6CwTryKyV"
