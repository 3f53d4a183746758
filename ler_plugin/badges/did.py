"""Public keys for verifying credentials: did:key, did:jwk, did:web and HTTPS controller documents.

A verification method is accepted only when its controller document lists it under the
proof purpose asked for (``assertionMethod`` for credentials). DID documents are read as
plain JSON: their keys are compared by id, never by JSON-LD meaning.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ler_plugin.badges.errors import BadgeError
from ler_plugin.signing import ED25519_PUB, P256_PUB, b58decode, multibase_decode

FetchJson = Callable[[str], Any]
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class Ob3Error(BadgeError):
    """A credential could not be verified (OB 3.0 / CLR 2.0 / DID key resolution)."""


def multikey_to_public_key(value: str) -> PublicKey:
    """A ``publicKeyMultibase`` (did:key / Multikey) as a key object: Ed25519 or P-256."""
    try:
        raw = multibase_decode(value)
    except ValueError as exc:
        raise Ob3Error("key_malformed", f"public key {value[:20]}...: {exc}") from None
    if raw.startswith(ED25519_PUB) and len(raw) == 34:
        return ed25519.Ed25519PublicKey.from_public_bytes(raw[2:])
    if raw.startswith(P256_PUB):
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
        except ValueError:
            pass
    raise Ob3Error(
        "key_unsupported", f"public key {value[:20]}... is not an Ed25519 or P-256 multikey"
    )


def jwk_to_public_key(jwk: Any) -> PublicKey:
    """A public JWK (OKP Ed25519, EC P-256, RSA) as a key object; private members are refused."""
    if not isinstance(jwk, dict):
        raise Ob3Error("key_malformed", "publicKeyJwk must be a JSON object")
    if "d" in jwk:
        raise Ob3Error("key_malformed", "publicKeyJwk contains private key material")

    def num(name: str) -> bytes:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise Ob3Error("key_malformed", f"JWK member {name!r} is missing")
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

    kty, crv = jwk.get("kty"), jwk.get("crv")
    try:
        if kty == "OKP" and crv == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(num("x"))
        if kty == "EC" and crv == "P-256":
            x, y = (int.from_bytes(num(n), "big") for n in ("x", "y"))
            return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        if kty == "RSA":
            e, n = (int.from_bytes(num(m), "big") for m in ("e", "n"))
            key = rsa.RSAPublicNumbers(e, n).public_key()
            if key.key_size < 2048:
                raise Ob3Error("key_unsupported", "RSA keys shorter than 2048 bits are refused")
            return key
    except ValueError as exc:
        raise Ob3Error("key_malformed", f"JWK is not a valid public key: {exc}") from None
    raise Ob3Error("key_unsupported", f"JWK kty={kty!r} crv={crv!r} is not supported")


@dataclass(frozen=True)
class VerificationKey:
    id: str
    controller: str
    public_key: PublicKey

    @property
    def jwt_algorithm(self) -> str:
        """The one JWS algorithm this key may verify: alg is pinned to the key type."""
        if isinstance(self.public_key, ed25519.Ed25519PublicKey):
            return "EdDSA"
        if isinstance(self.public_key, ec.EllipticCurvePublicKey):
            return "ES256"
        return "RS256"


def did_web_url(did: str) -> str:
    """``did:web:host[:path...]`` -> the HTTPS URL of its did.json."""
    parts = did.split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise Ob3Error("key_unresolvable", f"{did!r} is not a did:web identifier")
    host = unquote(parts[2])
    if "/" in host or "@" in host:
        raise Ob3Error("key_unresolvable", f"{did!r} has an invalid host")
    path = "/".join(unquote(p) for p in parts[3:]) or ".well-known"
    return f"https://{host}/{path}/did.json"


def _method_from_document(material: dict[str, Any], method_id: str) -> PublicKey:
    if isinstance(material.get("publicKeyMultibase"), str):
        return multikey_to_public_key(material["publicKeyMultibase"])
    if isinstance(material.get("publicKeyBase58"), str):  # Ed25519VerificationKey2018
        try:
            return ed25519.Ed25519PublicKey.from_public_bytes(
                b58decode(material["publicKeyBase58"])
            )
        except ValueError:
            raise Ob3Error("key_malformed", f"{method_id}: bad publicKeyBase58") from None
    if "publicKeyJwk" in material:
        return jwk_to_public_key(material["publicKeyJwk"])
    raise Ob3Error("key_malformed", f"verification method {method_id} carries no public key")


def _absolute(ref: str, base: str) -> str:
    return base + ref if ref.startswith("#") else ref


def _authorised_ids(doc: dict[str, Any], purpose: str) -> set[str]:
    """Ids of the methods a controller document lists under `purpose` (by reference or embedded)."""
    base = str(doc.get("id", ""))
    entries = doc.get(purpose)
    return {
        _absolute(entry if isinstance(entry, str) else str(entry.get("id", "")), base)
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, str | dict)
    }


def _method_in(doc: dict[str, Any], method_id: str, purpose: str) -> dict[str, Any]:
    """The method object `method_id` inside `doc` (or `doc` itself when it is the method)."""
    if doc.get("id") == method_id:
        return doc
    base = str(doc.get("id", ""))
    for section in ("verificationMethod", purpose, "publicKey"):
        entries = doc.get(section)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and _absolute(str(entry.get("id")), base) == method_id:
                return entry
    raise Ob3Error("key_unresolvable", f"{base or 'the document'} has no key {method_id}")


def _fetch(url: str, fetch_json: FetchJson) -> dict[str, Any]:
    # fetch_json is the caller's guarded fetcher: any failure it raises means "cannot resolve".
    try:
        doc = fetch_json(url)
    except Exception as exc:
        raise Ob3Error("key_unresolvable", f"could not fetch {url}: {exc}") from None
    if not isinstance(doc, dict):
        raise Ob3Error("key_unresolvable", f"{url} did not return a JSON object")
    return doc


def resolve_key(
    method_id: Any, fetch_json: FetchJson, *, purpose: str = "assertionMethod"
) -> VerificationKey:
    """The public key behind a verification method id, checked to be authorised for `purpose`."""
    if not isinstance(method_id, str) or not method_id:
        raise Ob3Error("key_unresolvable", "the proof names no verification method")
    did, _, fragment = method_id.partition("#")
    if did.startswith("did:key:"):
        identifier = did[len("did:key:") :]
        if fragment and fragment != identifier:
            raise Ob3Error("key_unresolvable", f"{method_id} is not a key of {did}")
        # A did:key document lists its only key under every verification relationship.
        return VerificationKey(f"{did}#{identifier}", did, multikey_to_public_key(identifier))
    if did.startswith("did:jwk:"):
        body = did[len("did:jwk:") :]
        try:
            jwk = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise Ob3Error("key_malformed", f"{did[:40]}... does not hold a JWK") from None
        # A did:jwk document's only key is "#0" and serves every relationship.
        if fragment not in ("", "0"):
            raise Ob3Error("key_unresolvable", f"{method_id} is not a key of {did}")
        return VerificationKey(f"{did}#0", did, jwk_to_public_key(jwk))
    if did.startswith("did:web:"):
        doc = _fetch(did_web_url(did), fetch_json)
        if doc.get("id") != did:
            raise Ob3Error("key_unresolvable", f"the DID document at {did} names {doc.get('id')}")
        material = _method_in(doc, method_id, purpose)
        controller = did
    elif method_id.startswith("https://"):
        doc = _fetch(did, fetch_json)
        material = _method_in(doc, method_id, purpose)
        named = material.get("controller", doc.get("id"))
        if not isinstance(named, str) or not named.startswith("https://"):
            raise Ob3Error("key_unresolvable", f"key {method_id} names no HTTPS controller")
        controller = named
        if controller != doc.get("id"):
            doc = _fetch(controller, fetch_json)
            if doc.get("id") != controller:
                raise Ob3Error("key_unresolvable", f"{controller} does not describe itself")
    else:
        raise Ob3Error(
            "key_unresolvable", f"verification method {method_id!r} uses an unknown scheme"
        )
    if method_id not in _authorised_ids(doc, purpose):
        raise Ob3Error("key_not_authorised", f"key {method_id} is not listed for {purpose}")
    return VerificationKey(method_id, controller, _method_from_document(material, method_id))
