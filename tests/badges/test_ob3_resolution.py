"""Keys and status lists fetched over real HTTP: a server on 127.0.0.1 plays the issuer's web
site, and `fetch_json` sends each https://host/path request to it as /host/path."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.badges.did import did_web_url
from ler_plugin.badges.ob3 import sign_ld_proof, verify_ob3
from ler_plugin.signing import b58encode, did_key

NOW = datetime(2026, 6, 1, tzinfo=UTC)
VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID = "did:web:pd.example:issuers:riverside"
STATUS_URL = "https://pd.example/status/1"


class Site:
    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                doc = site.documents.get(self.path)
                body = json.dumps(doc).encode()
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if doc is not None else b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, url: str, doc: Any) -> None:
        self.documents["/" + url.removeprefix("https://")] = doc

    def fetch_json(self, url: str) -> Any:
        assert url.startswith("https://"), url
        response = httpx.get(self.base + "/" + url.removeprefix("https://"), timeout=5)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    thread = threading.Thread(target=site.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


def multikey(key: Ed25519PrivateKey) -> str:
    return did_key(key.public_key()).removeprefix("did:key:")


def did_document(key: Ed25519PrivateKey, *, purposes: tuple[str, ...] = ("assertionMethod",)):
    method = {
        "id": f"{DID}#key-1",
        "type": "Multikey",
        "controller": DID,
        "publicKeyMultibase": multikey(key),
    }
    return {"id": DID, "verificationMethod": [method]} | {p: [f"{DID}#key-1"] for p in purposes}


def badge(issuer: str, status: dict[str, Any] | None = None) -> dict[str, Any]:
    credential = {
        "@context": [VC2, OB3],
        "id": "urn:uuid:0d5e2b1c-1a4d-4f59-9c7e-2f1b7c3e9a01",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Riverside PD Center"},
        "validFrom": "2026-03-01T00:00:00Z",
        "name": "Restorative practices",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://pd.example/achievements/rp",
                "type": ["Achievement"],
                "name": "Restorative practices",
                "description": "Workshop.",
                "criteria": {"narrative": "Attend."},
            },
        },
    }
    if status is not None:
        credential["credentialStatus"] = status
    return credential


def test_did_web_urls() -> None:
    assert did_web_url("did:web:example.com") == "https://example.com/.well-known/did.json"
    assert did_web_url(DID) == "https://pd.example/issuers/riverside/did.json"
    assert did_web_url("did:web:localhost%3A8443:u") == "https://localhost:8443/u/did.json"


def test_did_web_key_verifies(site: Site) -> None:
    key = Ed25519PrivateKey.generate()
    site.publish(did_web_url(DID), did_document(key))
    signed = sign_ld_proof(badge(DID), key, f"{DID}#key-1")
    result = verify_ob3(signed, fetch_json=site.fetch_json, now=NOW)
    assert result.valid, result.errors


def test_did_web_key_must_be_an_assertion_method(site: Site) -> None:
    key = Ed25519PrivateKey.generate()
    site.publish(did_web_url(DID), did_document(key, purposes=("authentication",)))
    signed = sign_ld_proof(badge(DID), key, f"{DID}#key-1")
    result = verify_ob3(signed, fetch_json=site.fetch_json, now=NOW)
    assert result.error_codes() == {"key_not_authorised"}


def test_did_web_document_must_be_for_that_did(site: Site) -> None:
    key = Ed25519PrivateKey.generate()
    site.publish(did_web_url(DID), did_document(key) | {"id": "did:web:evil.example"})
    signed = sign_ld_proof(badge(DID), key, f"{DID}#key-1")
    result = verify_ob3(signed, fetch_json=site.fetch_json, now=NOW)
    assert result.error_codes() == {"key_unresolvable"}


def test_did_web_key_swapped_on_the_site_fails(site: Site) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    site.publish(did_web_url(DID), did_document(other))
    signed = sign_ld_proof(badge(DID), key, f"{DID}#key-1")
    assert verify_ob3(signed, fetch_json=site.fetch_json, now=NOW).error_codes() == {
        "invalid_signature"
    }


def test_https_verification_method_and_controller_document(site: Site) -> None:
    key = Ed25519PrivateKey.generate()
    controller, method = "https://pd.example/issuer", "https://pd.example/keys/1"
    site.publish(
        method,
        {
            "id": method,
            "type": "Ed25519VerificationKey2020",
            "controller": controller,
            "publicKeyMultibase": multikey(key),
        },
    )
    site.publish(controller, {"id": controller, "assertionMethod": [method]})
    signed = sign_ld_proof(badge(controller), key, method, suite="Ed25519Signature2020")
    result = verify_ob3(signed, fetch_json=site.fetch_json, now=NOW)
    assert result.valid, result.errors

    site.publish(controller, {"id": controller, "assertionMethod": []})
    assert verify_ob3(signed, fetch_json=site.fetch_json, now=NOW).error_codes() == {
        "key_not_authorised"
    }


def encoded_list(set_bits: set[int], *, multibase: bool = True, size: int = 131072) -> str:
    bits = bytearray(size // 8)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)
    text = base64.urlsafe_b64encode(gzip.compress(bytes(bits))).decode().rstrip("=")
    return "u" + text if multibase else text


def status_list(
    key: Ed25519PrivateKey, purpose: str, set_bits: set[int], **extra: Any
) -> dict[str, Any]:
    issuer = did_key(key.public_key())
    credential = {
        "@context": [VC2],
        "id": STATUS_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{STATUS_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list(set_bits),
        },
    } | extra
    return sign_ld_proof(credential, key, f"{issuer}#{issuer.split(':')[2]}")


def entry(index: int, purpose: str = "revocation") -> dict[str, Any]:
    return {
        "id": f"{STATUS_URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": STATUS_URL,
    }


@pytest.mark.parametrize(
    ("purpose", "flag"), [("revocation", "revoked"), ("suspension", "suspended")]
)
def test_bitstring_status_list(site: Site, purpose: str, flag: str) -> None:
    key = Ed25519PrivateKey.generate()
    issuer = did_key(key.public_key())
    method = f"{issuer}#{issuer.split(':')[2]}"
    site.publish(STATUS_URL, status_list(key, purpose, {3, 131071}))

    for index, is_set in ((3, True), (4, False), (131071, True)):
        signed = sign_ld_proof(badge(issuer, entry(index, purpose)), key, method)
        result = verify_ob3(signed, fetch_json=site.fetch_json, now=NOW)
        assert getattr(result, flag) is is_set
        assert result.error_codes() == ({flag} if is_set else set())

    beyond = sign_ld_proof(badge(issuer, entry(131072, purpose)), key, method)
    assert verify_ob3(beyond, fetch_json=site.fetch_json, now=NOW).error_codes() == {
        "status_list_malformed"
    }


def test_status_list_for_another_purpose_is_refused(site: Site) -> None:
    key = Ed25519PrivateKey.generate()
    issuer = did_key(key.public_key())
    site.publish(STATUS_URL, status_list(key, "suspension", set()))
    signed = sign_ld_proof(badge(issuer, entry(3)), key, f"{issuer}#{issuer.split(':')[2]}")
    assert verify_ob3(signed, fetch_json=site.fetch_json, now=NOW).error_codes() == {
        "status_list_malformed"
    }


def test_unreachable_or_forged_status_list_is_an_error(site: Site) -> None:
    key = Ed25519PrivateKey.generate()
    issuer = did_key(key.public_key())
    method = f"{issuer}#{issuer.split(':')[2]}"
    signed = sign_ld_proof(badge(issuer, entry(3)), key, method)
    assert verify_ob3(signed, fetch_json=site.fetch_json, now=NOW).error_codes() == {
        "status_list_unavailable"
    }

    forged = status_list(key, "revocation", {3})
    forged["credentialSubject"]["encodedList"] = encoded_list(set())
    site.publish(STATUS_URL, forged)
    assert verify_ob3(signed, fetch_json=site.fetch_json, now=NOW).error_codes() == {
        "status_list_invalid_signature"
    }


def test_status_list_whose_bits_no_context_defines_is_refused(site: Site) -> None:
    key = Ed25519PrivateKey.generate()
    issuer = did_key(key.public_key())
    method = f"{issuer}#{issuer.split(':')[2]}"
    unsigned_bits = status_list(key, "revocation", {3})
    del unsigned_bits["proof"]
    # VCDM 1.1 alone does not define encodedList: the signature would not cover the bits.
    unsigned_bits["@context"] = ["https://www.w3.org/2018/credentials/v1"]
    del unsigned_bits["validFrom"]
    unsigned_bits["issuanceDate"] = "2026-01-01T00:00:00Z"
    site.publish(STATUS_URL, sign_ld_proof(unsigned_bits, key, method))
    signed = sign_ld_proof(badge(issuer, entry(3)), key, method)
    result = verify_ob3(signed, fetch_json=site.fetch_json, now=NOW)
    assert result.error_codes() == {"status_list_unverifiable"}
    assert "encodedList" in result.errors[0][1]


def test_1edtech_revocation_list(site: Site) -> None:
    key = Ed25519PrivateKey.generate()
    issuer = did_key(key.public_key())
    method = f"{issuer}#{issuer.split(':')[2]}"
    url = "https://pd.example/revocations"
    credential = badge(issuer, {"id": url, "type": "1EdTechRevocationList"})
    credential["@context"].append("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json")
    signed = sign_ld_proof(credential, key, method)

    site.publish(url, {"id": url, "issuer": issuer, "revokedCredentials": []})
    assert verify_ob3(signed, fetch_json=site.fetch_json, now=NOW).valid
    site.publish(
        url,
        {"id": url, "issuer": issuer, "revokedCredentials": [{"id": credential["id"]}]},
    )
    assert verify_ob3(signed, fetch_json=site.fetch_json, now=NOW).error_codes() == {"revoked"}


def test_vc_jwt_rs256_with_a_did_web_jwk(site: Site) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    site.publish(
        did_web_url(DID),
        {
            "id": DID,
            "verificationMethod": [
                {
                    "id": f"{DID}#rsa",
                    "type": "JsonWebKey2020",
                    "controller": DID,
                    "publicKeyJwk": jwk,
                }
            ],
            "assertionMethod": ["#rsa"],
        },
    )
    credential = badge(DID)
    token = jwt.encode(
        {"iss": DID, "nbf": 1772323200, "jti": credential["id"], "vc": credential},
        key,
        algorithm="RS256",
        headers={"kid": f"{DID}#rsa"},
    )
    result = verify_ob3(token, fetch_json=site.fetch_json, now=NOW)
    assert result.valid, result.errors
    assert result.format == "ob3-jwt"


def test_base58_round_trip() -> None:
    from ler_plugin.signing import b58decode

    for data in (b"", b"\0\0abc", bytes(range(256))):
        assert b58decode(b58encode(data)) == data


SL2021 = "https://w3id.org/vc/status-list/2021/v1"
VC1 = "https://www.w3.org/2018/credentials/v1"


def test_status_list_2021_revocation(site: Site) -> None:
    """The older StatusList2021 (VC 1.1 credentials), its context shipped like the others."""
    key = Ed25519PrivateKey.generate()
    issuer = did_key(key.public_key())
    method = f"{issuer}#{issuer.split(':')[2]}"
    status_list = {
        "@context": [VC1, SL2021, "https://w3id.org/security/suites/ed25519-2020/v1"],
        "id": STATUS_URL,
        "type": ["VerifiableCredential", "StatusList2021Credential"],
        "issuer": issuer,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{STATUS_URL}#list",
            "type": "StatusList2021",
            "statusPurpose": "revocation",
            "encodedList": encoded_list({7}, multibase=False),
        },
    }
    site.publish(STATUS_URL, sign_ld_proof(status_list, key, method, suite="Ed25519Signature2020"))
    for index, revoked in ((7, True), (8, False)):
        credential = badge(issuer) | {
            "@context": [VC1, OB3, SL2021, "https://w3id.org/security/suites/ed25519-2020/v1"],
            "issuanceDate": "2026-03-01T00:00:00Z",
            "credentialStatus": {
                "id": f"{STATUS_URL}#{index}",
                "type": "StatusList2021Entry",
                "statusPurpose": "revocation",
                "statusListIndex": str(index),
                "statusListCredential": STATUS_URL,
            },
        }
        credential.pop("validFrom")
        signed = sign_ld_proof(credential, key, method, suite="Ed25519Signature2020")
        result = verify_ob3(signed, fetch_json=site.fetch_json, now=NOW)
        assert result.revoked is revoked, result.errors
        assert result.error_codes() == ({"revoked"} if revoked else set())
