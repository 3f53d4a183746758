"""Terms JSON-LD drops: a signature does not cover them, so they are never shown or counted,
and a dropped term we would act on rejects the credential (see ler_plugin.badges.ob3)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.badges.ob3 import sign_ld_proof, verify_ob3
from ler_plugin.signing import did_key

CORPUS = Path(__file__).parent.parent / "data" / "ob3-dcc" / "verifiableCredentials"
V1_BADGE = (
    CORPUS / "v1/dataIntegrityProof/didKey/legacyRegistry-noStatus-noExpiry-OBSpecExample.json"
)
V2_BADGE = CORPUS / "v2/dataIntegrityProof/didKey/legacyRegistry-noStatus-noExpiry-basicOBv3.json"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def no_fetch(url: str) -> Any:
    raise AssertionError(f"unexpected fetch of {url}")


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_corpus_badges_have_no_undefined_terms() -> None:
    for path in (V1_BADGE, V2_BADGE):
        result = verify_ob3(load(path), fetch_json=no_fetch, now=NOW)
        assert result.valid and result.dropped_terms == []


def test_added_pd_hours_keeps_the_signature_but_is_never_shown() -> None:
    for path in (V1_BADGE, V2_BADGE):
        credential = load(path)
        credential["credentialSubject"]["pdHours"] = 99
        credential["credentialSubject"]["achievement"]["ceuCredit"] = {"value": 10}
        result = verify_ob3(credential, fetch_json=no_fetch, now=NOW)

        assert result.valid, result.errors  # expansion dropped them: the signature still holds
        assert sorted(result.dropped_terms) == [
            "credentialSubject.achievement.ceuCredit",
            "credentialSubject.pdHours",
        ]
        assert {code for code, _ in result.warnings} == {"undefined_term"}
        assert result.credential is not None
        assert "pdHours" not in result.credential["credentialSubject"]
        assert result.achievement is not None and "ceuCredit" not in result.achievement
        assert result.raw["credentialSubject"]["pdHours"] == 99


def test_dropped_term_we_act_on_rejects_the_credential() -> None:
    credential = load(V2_BADGE)
    # VCDM 2.0 does not define expirationDate: a reader of the JSON would see an expiry the
    # signature does not carry.
    credential["expirationDate"] = "2030-01-01T00:00:00Z"
    result = verify_ob3(credential, fetch_json=no_fetch, now=NOW)
    assert result.error_codes() == {"undefined_term"}
    assert "expirationDate" in result.errors[0][1]

    credential = load(V1_BADGE)
    # Our PD-credit term without our context: the credit it claims is not signed.
    credential["credentialSubject"]["achievement"]["pdCredit"] = {"clockHours": "40"}
    assert verify_ob3(credential, fetch_json=no_fetch, now=NOW).error_codes() == {"undefined_term"}


def test_undefined_type_value_is_dropped_from_the_shown_credential() -> None:
    key = Ed25519PrivateKey.generate()
    did = did_key(key.public_key())
    credential = load(V2_BADGE)
    del credential["proof"]
    credential["issuer"] = {"id": did, "type": ["Profile"], "name": "x"}
    credential["credentialSubject"]["type"] = ["AchievementSubject", "AccreditedSubject"]
    signed = sign_ld_proof(credential, key, f"{did}#{did.split(':')[2]}")
    result = verify_ob3(signed, fetch_json=no_fetch, now=NOW)
    assert result.valid, result.errors
    assert result.dropped_terms == ["credentialSubject type 'AccreditedSubject'"]
    assert result.credential is not None
    assert result.credential["credentialSubject"]["type"] == ["AchievementSubject"]


def test_ob_type_without_the_ob_context_is_not_a_badge() -> None:
    key = Ed25519PrivateKey.generate()
    did = did_key(key.public_key())
    credential = copy.deepcopy(load(V2_BADGE))
    del credential["proof"]
    credential["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    credential["issuer"] = did
    credential["credentialSubject"] = {"id": "mailto:ana@school.org"}
    signed = sign_ld_proof(credential, key, f"{did}#{did.split(':')[2]}")
    result = verify_ob3(signed, fetch_json=no_fetch, now=NOW)
    assert "credential type 'OpenBadgeCredential'" in result.dropped_terms
    assert result.format == "vc-ldp"
    assert "not_an_open_badge" in {code for code, _ in result.warnings}
