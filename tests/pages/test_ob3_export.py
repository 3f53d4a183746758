"""Counted records as OB 3.0 credentials, and all of them as one CLR 2.0 transcript, signed with
eddsa-rdfc-2022 by the district's did:key: our verifier accepts them, and refuses any change."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.badges.ob3 import verify_ob3
from ler_plugin.issuing.credentials import Ob3Issuer, export_clr, export_ob3
from ler_plugin.signing import did_key
from ler_plugin.wallet.models import Record, RecordKind, RecordSource, RecordStatus, Visibility


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
    did = did_key(key.public_key())
    return Ob3Issuer(
        id=did, name="Acme ISD", verification_method=f"{did}#{did.split(':')[2]}", private_key=key
    )


def _no_fetch(url: str) -> Any:
    raise AssertionError(f"a did:key needs no fetch, yet {url} was asked for")


def _valid(document: dict[str, Any]) -> bool:
    return verify_ob3(document, fetch_json=_no_fetch).valid


RECORDS = [
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


def test_counted_records_are_signed_and_verify() -> None:
    key = Ed25519PrivateKey.generate()
    created = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    signed = export_ob3(
        RECORDS,
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
    assert all(_valid(c) for c in signed)
    result = verify_ob3(first, fetch_json=_no_fetch, recipient_identities=["ada@school.org"])
    assert result.valid and not result.dropped_terms


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
    other_key = copy.deepcopy(credential)
    other_key["issuer"]["id"] = _issuer(Ed25519PrivateKey.generate()).id
    for tampered in (renamed, redated, other_key):
        assert not _valid(tampered)
    assert _valid(credential)


def test_whole_wallet_as_one_clr_transcript() -> None:
    key = Ed25519PrivateKey.generate()
    issuer = _issuer(key)
    credentials = export_ob3(RECORDS, issuer=issuer, base_url="https://wallet.example.org")
    clr = export_clr(
        credentials,
        issuer=issuer,
        base_url="https://wallet.example.org",
        learner_name="Ada Lovelace",
    )
    result = verify_ob3(clr, fetch_json=_no_fetch)
    assert result.valid, result.errors
    assert result.format.startswith("clr2")
    assert len(result.nested) == 2 and all(n.valid for n in result.nested)
    assert "Ada Lovelace" in clr["name"]
    anonymous = export_clr(
        credentials, issuer=issuer, base_url="https://wallet.example.org", learner_name=None
    )
    assert "Ada" not in str(anonymous["name"]) and _valid(anonymous)

    swapped = copy.deepcopy(clr)
    swapped["credentialSubject"]["verifiableCredential"][0]["name"] = "Doctorate"
    assert not _valid(swapped)


def test_clr_download_over_http(live_server, world) -> None:  # type: ignore[no-untyped-def]
    from tests.pages.world import client

    with client(live_server.url) as http:
        named = http.get("/app/wallet/export.clr.json", params={"session": world.teacher})
        hidden = http.get(
            "/app/wallet/export.clr.json", params={"session": world.teacher, "hide_name": "1"}
        )
        nobody = http.get("/app/wallet/export.clr.json")
    assert named.status_code == 200 and "attachment" in named.headers["content-disposition"]
    clr = named.json()
    assert "Ada Lovelace" in clr["name"]
    assert "Ada Lovelace" not in hidden.text
    assert _valid(clr) and _valid(hidden.json())
    titles = {c["name"] for c in clr["credentialSubject"]["verifiableCredential"]}
    assert "Someone else's seminar" not in titles
    assert nobody.status_code in (401, 403)
