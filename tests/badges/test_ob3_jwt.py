"""VC-JWT: VCDM 1.1 `vc` claim and VCDM 2.0 JOSE payloads; alg pinned to the key type."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.badges.ob3 import verify_ob3
from ler_plugin.signing import did_key

NOW = datetime(2026, 6, 1, tzinfo=UTC)
MARCH = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
VC1 = "https://www.w3.org/2018/credentials/v1"
VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def no_fetch(url: str) -> Any:
    raise AssertionError(f"unexpected fetch of {url}")


def ed25519_issuer() -> tuple[Ed25519PrivateKey, str, str]:
    key = Ed25519PrivateKey.generate()
    did = did_key(key.public_key())
    return key, did, f"{did}#{did.split(':')[2]}"


def p256_did_jwk() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    encoded = base64.urlsafe_b64encode(json.dumps(jwk).encode()).decode().rstrip("=")
    return key, f"did:jwk:{encoded}"


def achievement_subject() -> dict[str, Any]:
    return {
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://pd.example/achievements/sel",
            "type": ["Achievement"],
            "name": "Social-emotional learning",
            "description": "Workshop.",
            "criteria": {"narrative": "Attend."},
        },
    }


def vc11(issuer: str) -> dict[str, Any]:
    return {
        "@context": [VC1, OB3],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "PD Center"},
        "name": "Social-emotional learning",
        "credentialSubject": achievement_subject(),
    }


def vc20(issuer: str) -> dict[str, Any]:
    return {
        "@context": [VC2, OB3],
        "id": "urn:uuid:5c2f9e1a-0d6b-4c8e-8a3b-7e1d2f4a6b90",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "PD Center"},
        "validFrom": "2026-03-01T00:00:00Z",
        "name": "Social-emotional learning",
        "credentialSubject": achievement_subject(),
    }


def test_vc_jwt_1_1_eddsa_with_did_key() -> None:
    key, did, kid = ed25519_issuer()
    claims = {"iss": did, "nbf": MARCH, "jti": "urn:uuid:1", "sub": "mailto:ana@school.org"}
    token = jwt.encode(claims | {"vc": vc11(did)}, key, algorithm="EdDSA", headers={"kid": kid})
    result = verify_ob3(
        token, fetch_json=no_fetch, recipient_identities=["ana@school.org"], now=NOW
    )
    assert result.valid, result.errors
    assert result.format == "ob3-jwt" and result.vc_version == "1.1"
    assert result.issued_on == datetime(2026, 3, 1, tzinfo=UTC)
    assert result.credential and result.credential["id"] == "urn:uuid:1"
    assert result.recipient and result.recipient["matched"] is True


def test_vc_jwt_2_0_es256_with_did_jwk() -> None:
    key, did = p256_did_jwk()
    token = jwt.encode(
        vc20(did) | {"iss": did}, key, algorithm="ES256", headers={"kid": f"{did}#0"}
    )
    result = verify_ob3(token, fetch_json=no_fetch, now=NOW)
    assert result.valid, result.errors
    assert result.vc_version == "2.0"


def test_exp_claim_expires_the_credential() -> None:
    key, did, kid = ed25519_issuer()
    exp = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())
    token = jwt.encode(vc20(did) | {"exp": exp}, key, algorithm="EdDSA", headers={"kid": kid})
    result = verify_ob3(token, fetch_json=no_fetch, now=NOW)
    assert result.error_codes() == {"expired"}
    assert result.expires_at == datetime(2026, 4, 1, tzinfo=UTC)


def test_claims_must_agree_with_the_credential() -> None:
    key, did, kid = ed25519_issuer()
    _, other, _ = ed25519_issuer()
    token = jwt.encode(vc20(did) | {"iss": other}, key, algorithm="EdDSA", headers={"kid": kid})
    assert verify_ob3(token, fetch_json=no_fetch, now=NOW).error_codes() == {"jwt_claims_mismatch"}
    token = jwt.encode(
        {
            "iss": did,
            "nbf": MARCH + 3600,
            "vc": vc11(did) | {"issuanceDate": "2026-03-01T00:00:00Z"},
        },
        key,
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    assert verify_ob3(token, fetch_json=no_fetch, now=NOW).error_codes() == {"jwt_claims_mismatch"}


def test_signed_by_someone_other_than_the_issuer() -> None:
    key, _did, kid = ed25519_issuer()
    _, victim, _ = ed25519_issuer()
    token = jwt.encode(vc20(victim), key, algorithm="EdDSA", headers={"kid": kid})
    assert verify_ob3(token, fetch_json=no_fetch, now=NOW).error_codes() == {"issuer_key_mismatch"}


def test_tampered_payload_fails() -> None:
    key, did, kid = ed25519_issuer()
    token = jwt.encode(vc20(did), key, algorithm="EdDSA", headers={"kid": kid})
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["name"] = "Doctorate"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    result = verify_ob3(f"{header}.{forged}.{signature}", fetch_json=no_fetch, now=NOW)
    assert result.error_codes() == {"invalid_signature"}


def unsigned_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return ".".join(
        [part(json.dumps(header).encode()), part(json.dumps(payload).encode()), part(signature)]
    )


@pytest.mark.parametrize("alg", ["none", "HS256", "PS256", None])
def test_refused_algorithms(alg: str | None) -> None:
    _, did, kid = ed25519_issuer()
    token = unsigned_token({"alg": alg, "kid": kid}, vc20(did), b"x" * 32)
    assert verify_ob3(token, fetch_json=no_fetch, now=NOW).error_codes() == {"jwt_alg_refused"}


def test_hs256_signed_with_the_public_key_is_refused() -> None:
    # The classic confusion attack: HMAC keyed with the issuer's public key bytes.
    _, did, kid = ed25519_issuer()
    token = jwt.encode(vc20(did), did.encode(), algorithm="HS256", headers={"kid": kid})
    assert verify_ob3(token, fetch_json=no_fetch, now=NOW).error_codes() == {"jwt_alg_refused"}


def test_alg_must_match_the_key_type() -> None:
    key, did = p256_did_jwk()
    token = jwt.encode(vc20(did), key, algorithm="ES256", headers={"kid": f"{did}#0"})
    _header, payload, signature = token.split(".")
    rs = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": f"{did}#0"}).encode())
    relabelled = f"{rs.decode().rstrip('=')}.{payload}.{signature}"
    assert verify_ob3(relabelled, fetch_json=no_fetch, now=NOW).error_codes() == {
        "jwt_alg_mismatch"
    }


def test_token_without_kid_is_refused() -> None:
    key, did, _ = ed25519_issuer()
    token = jwt.encode(vc20(did), key, algorithm="EdDSA")
    assert verify_ob3(token, fetch_json=no_fetch, now=NOW).error_codes() == {"key_unresolvable"}


def test_garbage_token() -> None:
    assert verify_ob3("a.b.c", fetch_json=no_fetch).error_codes() == {"jwt_malformed"}
