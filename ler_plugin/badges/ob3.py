"""Verification of Open Badges 3.0 and CLR 2.0 credentials (W3C Verifiable Credentials), offline.

`verify_ob3` takes a credential as a JSON object or a VC-JWT compact string and answers an
`Ob3Result`. Everything outside the credential arrives through the caller's `fetch_json`
(did:web documents, HTTPS key documents, status lists); JSON-LD contexts come only from the
files shipped in `contexts/`.

What is checked, in order: the securing mechanism (Data Integrity `eddsa-rdfc-2022` and
`Ed25519Signature2020` proofs, every one of them; or a VC-JWT with its algorithm pinned to the
key type), that the signing key is the issuer's and is authorised for assertionMethod, the
terms JSON-LD drops, the VC / OB 3.0 / CLR 2.0 shape, the validity window, credential status,
the recipient, and for a CLR every credential nested in it.

Undefined terms. JSON-LD expansion silently drops a property no context defines, and a Data
Integrity signature covers only what survives, so ``"pdHours": 99`` can be added to a signed
VCDM 1.1 credential without breaking it. We expand every credential once more with a
sentinel ``@vocab`` appended to its contexts; anything that lands under the sentinel was
undefined. Decision: when the dropped term is one our verifier or credit extraction acts on
(`ACTED_ON_TERMS`: validity dates, status, issuer, subject, achievement, identity, results,
credits, pdCredit) the JSON claims something the signature does not vouch for, and the
credential is rejected (`undefined_term`). Anywhere else the term is reported as a warning
and removed from `Ob3Result.credential` — the only form of the credential that may be shown
or counted; `raw` keeps the input as received.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from pyld import jsonld

from ler_plugin.badges.did import FetchJson, Ob3Error, resolve_key
from ler_plugin.badges.rdfc import canonize, static_loader
from ler_plugin.badges.status import check_status
from ler_plugin.signing import b58decode, b58encode

VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"
OB_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
CLR_TYPE = "ClrCredential"
ENDORSEMENT_TYPE = "EndorsementCredential"
JWT_ALGORITHMS = ("EdDSA", "ES256", "RS256")
UNDEFINED_VOCAB = "urn:ler-plugin:undefined-term:"
ACTED_ON_TERMS = frozenset(
    {
        "id",
        "type",
        "issuer",
        "validFrom",
        "validUntil",
        "issuanceDate",
        "expirationDate",
        "credentialStatus",
        "credentialSubject",
        "achievement",
        "identifier",
        "identityHash",
        "identityType",
        "hashed",
        "salt",
        "result",
        "resultDescription",
        "creditsAvailable",
        "creditsEarned",
        "pdCredit",
        "clockHours",
        "ceus",
        "category",
        "verifiableCredential",
        "proof",
    }
)
MAX_NESTED_CREDENTIALS = 500
MAX_PROOFS = 8


@dataclass
class Ob3Result:
    """What verifying one credential found. `valid` means no error; warnings do not count.

    `ler_plugin.badges.verify.report_from_ob3` turns it into the `VerificationReport` every
    badge keeps; this richer form (nested results, dropped terms) is for callers that need it.
    """

    valid: bool
    format: str
    checked_at: datetime
    raw: Any
    vc_version: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    revoked: bool = False
    suspended: bool = False
    expired: bool = False
    not_yet_valid: bool = False
    expires_at: datetime | None = None
    issued_on: datetime | None = None
    issuer: dict[str, Any] | None = None
    achievement: dict[str, Any] | None = None
    recipient: dict[str, Any] | None = None
    credential: dict[str, Any] | None = None
    dropped_terms: list[str] = field(default_factory=list)
    nested: list[Ob3Result] = field(default_factory=list)

    def error_codes(self) -> set[str]:
        return {code for code, _ in self.errors}


@dataclass(frozen=True)
class _Dropped:
    path: tuple[str, ...]
    term: str
    is_type: bool

    def __str__(self) -> str:
        where = ".".join(self.path)
        if self.is_type:
            return f"{where or 'credential'} type {self.term!r}"
        return f"{where}.{self.term}" if where else self.term


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [t for t in value if isinstance(t, str)] if isinstance(value, list) else []


def _contexts(doc: dict[str, Any]) -> list[Any]:
    ctx = doc.get("@context")
    return list(ctx) if isinstance(ctx, list) else [ctx] if ctx is not None else []


def _issuer_id(doc: dict[str, Any]) -> str:
    issuer = doc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str) or not issuer_id:
        raise Ob3Error("schema_invalid", "the credential has no issuer id")
    return issuer_id


def parse_datetime(value: Any, name: str) -> datetime:
    """An xsd:dateTime as aware UTC; a value without offset is read as UTC."""
    if not isinstance(value, str):
        raise Ob3Error("schema_invalid", f"{name} must be a date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Ob3Error("schema_invalid", f"{name} {value!r} is not an ISO 8601 date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _validity(doc: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(valid from, valid until); when both the VCDM 1.1 and 2.0 names are given, the
    stricter of each pair counts."""
    starts = [parse_datetime(doc[n], n) for n in ("validFrom", "issuanceDate") if n in doc]
    ends = [parse_datetime(doc[n], n) for n in ("validUntil", "expirationDate") if n in doc]
    return (max(starts) if starts else None, min(ends) if ends else None)


# --- JSON-LD: undefined terms ------------------------------------------------------------


def _fragment(iri: str) -> str:
    return re.split(r"[#/]", iri)[-1]


# PyLD reports most bad input as JsonLdError, but some shapes it never expected surface as
# plain Python errors; all of them mean "this is not JSON-LD we can read".
_PYLD_FAILURES = (
    jsonld.JsonLdError,
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    RecursionError,
)


def _jsonld_failure(exc: Exception) -> Ob3Error:
    text = str(exc)
    cause = getattr(exc, "cause", None)
    while cause is not None:
        text += f": {cause}"
        cause = getattr(cause, "cause", None)
    if "no local copy" in text:
        url = re.search(r"no local copy of (\S+)", text)
        where = url.group(1) if url else "a context"
        return Ob3Error("context_unknown", f"the credential uses {where}, a context we do not ship")
    return Ob3Error("jsonld_invalid", f"the credential is not valid JSON-LD: {text[:300]}")


def undefined_terms(doc: dict[str, Any]) -> list[_Dropped]:
    """Every property and type in `doc` that no context defines (see module doc)."""
    probe = dict(doc)
    probe.pop("proof", None)  # proofs are checked by their suites, not shown
    probe["@context"] = [*_contexts(doc), {"@vocab": UNDEFINED_VOCAB}]
    try:
        expanded = jsonld.expand(probe, {"documentLoader": static_loader})
    except _PYLD_FAILURES as exc:
        raise _jsonld_failure(exc) from None
    found: list[_Dropped] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, path)
            return
        if not isinstance(node, dict) or "@value" in node:
            return
        for key, value in node.items():
            if key == "@type":
                for name in _types(value):
                    if name.startswith(UNDEFINED_VOCAB):
                        found.append(_Dropped(path, name[len(UNDEFINED_VOCAB) :], True))
            elif key.startswith(UNDEFINED_VOCAB):
                found.append(_Dropped(path, key[len(UNDEFINED_VOCAB) :], False))
            elif key in ("@graph", "@list", "@set", "@included"):
                walk(value, path)
            elif not key.startswith("@"):
                walk(value, (*path, _fragment(key)))

    walk(expanded, ())
    return found


def strip_undefined(doc: dict[str, Any], dropped: list[_Dropped]) -> dict[str, Any]:
    """`doc` without the dropped terms: by their path, and by name where a path did not match."""
    at_path = {(d.path, d.term) for d in dropped if not d.is_type}
    types_at_path = {(d.path, d.term) for d in dropped if d.is_type}
    removed: set[str] = set()

    def walk(node: Any, path: tuple[str, ...], anywhere: set[str]) -> Any:
        if isinstance(node, list):
            return [walk(item, path, anywhere) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if (path, key) in at_path or key in anywhere:
                removed.add(key)
                continue
            if key == "type" and any(p == path for p, _ in types_at_path):
                kept = [t for t in _types(value) if (path, t) not in types_at_path]
                removed.update(t for t in _types(value) if (path, t) in types_at_path)
                out[key] = kept
                continue
            out[key] = walk(value, (*path, key), anywhere) if key != "@context" else value
        return out

    stripped = walk(doc, (), set())
    missed = {d.term for d in dropped if not d.is_type} - removed
    return walk(stripped, (), missed) if missed else stripped


# --- Data Integrity proofs ------------------------------------------------------------------


@lru_cache(maxsize=64)
def _canonize_json(text: str) -> str:
    return canonize(json.loads(text))


def _canonical_hash(doc: dict[str, Any], *, cached: bool) -> bytes:
    try:
        nquads = _canonize_json(json.dumps(doc, sort_keys=True)) if cached else canonize(doc)
    except _PYLD_FAILURES as exc:
        raise _jsonld_failure(exc) from None
    return hashlib.sha256(nquads.encode()).digest()


def _verify_ld_proof(
    proof: Any,
    doc: dict[str, Any],
    doc_hash: bytes,
    fetch_json: FetchJson,
    *,
    now: datetime,
    cached: bool,
) -> None:
    if not isinstance(proof, dict):
        raise Ob3Error("proof_malformed", "a proof must be a JSON object")
    kind = proof.get("type")
    if kind == "DataIntegrityProof":
        if proof.get("cryptosuite") != "eddsa-rdfc-2022":
            raise Ob3Error(
                "proof_unsupported", f"cryptosuite {proof.get('cryptosuite')!r} is not supported"
            )
    elif kind != "Ed25519Signature2020":
        raise Ob3Error("proof_unsupported", f"proof type {kind!r} is not supported")
    if proof.get("proofPurpose") != "assertionMethod":
        raise Ob3Error("proof_purpose_invalid", "a credential proof must be for assertionMethod")
    if "expires" in proof and parse_datetime(proof["expires"], "proof expires") < now:
        raise Ob3Error("proof_expired", f"the {kind} proof expired on {proof['expires']}")
    value = proof.get("proofValue")
    try:
        signature = b58decode(value[1:]) if isinstance(value, str) and value[:1] == "z" else b""
    except ValueError:
        signature = b""
    if len(signature) != 64:
        raise Ob3Error("proof_malformed", "proofValue is not a base58btc Ed25519 signature")
    key = resolve_key(proof.get("verificationMethod"), fetch_json, purpose="assertionMethod")
    if not isinstance(key.public_key, ed25519.Ed25519PublicKey):
        raise Ob3Error("key_unsupported", f"{kind} needs an Ed25519 key, {key.id} is not one")
    issuer_id = _issuer_id(doc)
    if key.controller != issuer_id:
        raise Ob3Error(
            "issuer_key_mismatch", f"the proof was made with {key.id}, not a key of {issuer_id}"
        )
    contexts = _contexts(doc)
    own = proof.get("@context")
    if own is not None:
        own_list = own if isinstance(own, list) else [own]
        if contexts[: len(own_list)] != own_list:
            raise Ob3Error("proof_malformed", "the proof's @context does not match the credential")
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    config["@context"] = doc.get("@context")
    proof_hash = _canonical_hash(config, cached=cached)
    try:
        key.public_key.verify(signature, proof_hash + doc_hash)
    except InvalidSignature:
        raise Ob3Error(
            "invalid_signature", f"the {kind} signature does not match the credential"
        ) from None


def verify_ld_proofs(
    doc: dict[str, Any], fetch_json: FetchJson, *, now: datetime, cached: bool = False
) -> int:
    """Verify every Data Integrity proof on `doc` (all must hold); the number verified."""
    proofs = doc.get("proof")
    if not proofs:
        raise Ob3Error("proof_missing", "the credential carries no proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    if len(proofs) > MAX_PROOFS:
        raise Ob3Error("proof_malformed", f"more than {MAX_PROOFS} proofs on one credential")
    unsigned = {k: v for k, v in doc.items() if k != "proof"}
    doc_hash = _canonical_hash(unsigned, cached=cached)
    for proof in proofs:
        _verify_ld_proof(proof, doc, doc_hash, fetch_json, now=now, cached=cached)
    return len(proofs)


def sign_ld_proof(
    credential: dict[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    *,
    suite: str = "eddsa-rdfc-2022",
    created: datetime | None = None,
    expires: datetime | None = None,
) -> dict[str, Any]:
    """`credential` with one more proof: DataIntegrityProof/eddsa-rdfc-2022 or
    Ed25519Signature2020 (for our own exports, and to make test credentials)."""
    proof: dict[str, Any] = {
        "type": "DataIntegrityProof" if suite == "eddsa-rdfc-2022" else suite,
        "created": _iso(created or datetime.now(UTC)),
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    if expires is not None:
        proof["expires"] = _iso(expires)
    if suite == "eddsa-rdfc-2022":
        proof["cryptosuite"] = suite
    elif suite != "Ed25519Signature2020":
        raise ValueError(f"unknown suite {suite!r}")
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    config = {**proof, "@context": credential.get("@context")}
    data = _canonical_hash(config, cached=False) + _canonical_hash(unsigned, cached=False)
    proof["proofValue"] = "z" + b58encode(private_key.sign(data))
    existing = credential.get("proof")
    proofs = (existing if isinstance(existing, list) else [existing]) if existing else []
    signed = dict(credential)
    signed["proof"] = [*proofs, proof] if proofs else proof
    return signed


# --- VC-JWT ---------------------------------------------------------------------------------


def _timestamp(value: Any, claim: str) -> datetime:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise Ob3Error("jwt_malformed", f"JWT claim {claim} must be a NumericDate")
    return datetime.fromtimestamp(value, UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _same_instant(claim: datetime, value: Any, name: str) -> None:
    if abs((parse_datetime(value, name) - claim).total_seconds()) >= 1:
        raise Ob3Error("jwt_claims_mismatch", f"the JWT's time claims disagree with {name}")


def _verify_jwt(token: str, fetch_json: FetchJson) -> dict[str, Any]:
    """The credential secured by a VC-JWT (VCDM 1.1 `vc` claim, or a VCDM 2.0 payload)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Ob3Error("jwt_malformed", f"not a readable JWT: {exc}") from None
    alg = header.get("alg")
    if alg not in JWT_ALGORITHMS:
        raise Ob3Error("jwt_alg_refused", f"JWT alg {alg!r} is refused; use EdDSA, ES256 or RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        # A key carried in the token itself ("jwk") proves nothing about who the issuer is.
        raise Ob3Error("key_unresolvable", "the JWT header names no kid")
    iss = claims.get("iss")
    if kid.startswith("#") and isinstance(iss, str):
        kid = iss + kid
    key = resolve_key(kid, fetch_json, purpose="assertionMethod")
    if key.jwt_algorithm != alg:
        raise Ob3Error("jwt_alg_mismatch", f"key {key.id} verifies {key.jwt_algorithm}, not {alg}")
    try:
        # Times are checked against the caller's `now` below, with the credential's own dates.
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[alg],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise Ob3Error("invalid_signature", "the JWT signature does not match") from None
    except jwt.PyJWTError as exc:
        raise Ob3Error("jwt_malformed", f"the JWT cannot be verified: {exc}") from None

    if "vc" in claims:  # VC-JWT for VCDM 1.1: registered claims stand for credential properties
        credential = claims["vc"]
        if not isinstance(credential, dict):
            raise Ob3Error("jwt_malformed", "the vc claim must be a JSON object")
        credential = copy.deepcopy(credential)
        dates = ("issuanceDate", "expirationDate")
        if _contexts(credential)[:1] == [VC2_CONTEXT]:
            dates = ("validFrom", "validUntil")
        for claim, name in zip(("nbf", "exp"), dates, strict=True):
            if claim in claims:
                moment = _timestamp(claims[claim], claim)
                if name in credential:
                    _same_instant(moment, credential[name], name)
                credential.setdefault(name, _iso(moment))
        if "jti" in claims:
            if credential.setdefault("id", claims["jti"]) != claims["jti"]:
                raise Ob3Error("jwt_claims_mismatch", "jti disagrees with the credential id")
        subject = credential.get("credentialSubject")
        if "sub" in claims and isinstance(subject, dict):
            if subject.setdefault("id", claims["sub"]) != claims["sub"]:
                raise Ob3Error("jwt_claims_mismatch", "sub disagrees with credentialSubject.id")
        if isinstance(iss, str) and "issuer" not in credential:
            credential["issuer"] = iss
    else:  # VCDM 2.0 secured with JOSE: the payload is the credential
        credential = {
            k: v
            for k, v in claims.items()
            if k not in ("iss", "nbf", "exp", "iat", "jti", "sub", "aud", "cnf")
        }
        for claim, name in (("nbf", "validFrom"), ("exp", "validUntil")):
            if claim in claims and name in credential:
                _same_instant(_timestamp(claims[claim], claim), credential[name], name)
            elif claim in claims:
                credential[name] = _iso(_timestamp(claims[claim], claim))
    if isinstance(iss, str) and iss != _issuer_id(credential):
        raise Ob3Error("jwt_claims_mismatch", f"iss {iss} is not the credential issuer")
    if key.controller != _issuer_id(credential):
        raise Ob3Error(
            "issuer_key_mismatch", f"the JWT was signed with {key.id}, not a key of the issuer"
        )
    return credential


# --- the credential -------------------------------------------------------------------------


def _vc_version(doc: dict[str, Any]) -> str:
    first = _contexts(doc)[:1]
    if first == [VC2_CONTEXT]:
        return "2.0"
    if first == [VC1_CONTEXT]:
        return "1.1"
    raise Ob3Error(
        "schema_invalid", "the first @context must be the VC Data Model 1.1 or 2.0 context"
    )


def _first(value: Any) -> dict[str, Any] | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


def _check_shape(doc: dict[str, Any], version: str, result: Ob3Result) -> str:
    """VC and OB 3.0 / CLR 2.0 required fields; the kind of credential it is."""
    types = _types(doc.get("type"))
    if "VerifiableCredential" not in types:
        raise Ob3Error("schema_invalid", "type must include VerifiableCredential")
    subject = _first(doc.get("credentialSubject"))
    if subject is None:
        raise Ob3Error("schema_invalid", "credentialSubject must be an object")
    _issuer_id(doc)
    if version == "2.0" and ({"issuanceDate", "expirationDate"} & doc.keys()):
        result.warnings.append(
            (
                "schema_nonconformant",
                "a VCDM 2.0 credential should use validFrom/validUntil, "
                "not issuanceDate/expirationDate",
            )
        )
    if version == "1.1" and "issuanceDate" not in doc:
        result.warnings.append(("schema_nonconformant", "a VCDM 1.1 credential needs issuanceDate"))
    if OB_TYPES & set(types):
        if not any(isinstance(c, str) and c.startswith(OB_CONTEXT_PREFIX) for c in _contexts(doc)):
            raise Ob3Error("schema_invalid", "an Open Badge credential needs the OB 3.0 context")
        achievement = subject.get("achievement")
        if not isinstance(achievement, dict):
            raise Ob3Error("schema_invalid", "credentialSubject.achievement is required")
        for name in ("id", "name"):
            if not isinstance(achievement.get(name), str):
                raise Ob3Error(
                    "schema_invalid", f"credentialSubject.achievement.{name} is required"
                )
        if "Achievement" not in _types(achievement.get("type")):
            raise Ob3Error("schema_invalid", "credentialSubject.achievement must be an Achievement")
        for name in ("description", "criteria"):
            if name not in achievement:
                result.warnings.append(
                    ("schema_nonconformant", f"achievement.{name} is required by OB 3.0")
                )
        return "ob3"
    if CLR_TYPE in types:
        if not isinstance(subject.get("verifiableCredential"), list):
            raise Ob3Error("schema_invalid", "a CLR needs credentialSubject.verifiableCredential")
        return "clr2"
    if ENDORSEMENT_TYPE in types:
        return "endorsement"
    result.warnings.append(
        ("not_an_open_badge", f"type {types} is neither an Open Badge nor a CLR credential")
    )
    return "vc"


def _hash_identity(identity: str, salt: Any) -> str:
    return "sha256$" + hashlib.sha256((identity + (salt or "")).encode()).hexdigest()


def _recipient(subject: dict[str, Any], identities: list[str] | None) -> dict[str, Any]:
    """Who the credential is about, and whether that is one of `identities` (emails)."""
    wanted = [i.strip().lower() for i in identities or []]
    entries = subject.get("identifier")
    entries = entries if isinstance(entries, list) else [entries] if entries else []
    identifiers = [e for e in entries if isinstance(e, dict)]
    subject_id = subject.get("id")
    matched: bool | None = None
    checkable = False
    for entry in identifiers:
        if entry.get("identityType") not in ("emailAddress", "email"):
            continue
        checkable = True
        value = entry.get("identityHash")
        if not isinstance(value, str):
            continue
        hashed = entry.get("hashed", value.startswith("sha256$"))
        for identity in wanted:
            candidate = _hash_identity(identity, entry.get("salt")) if hashed else identity
            if value.lower() == candidate.lower():
                matched = True
    if isinstance(subject_id, str) and subject_id.lower().startswith("mailto:"):
        checkable = True
        if subject_id[len("mailto:") :].strip().lower() in wanted:
            matched = True
    if matched is None and checkable and wanted:
        matched = False
    return {"id": subject_id, "identifiers": identifiers, "matched": matched}


@lru_cache(maxsize=64)
def _status_list_terms(text: str) -> tuple[_Dropped, ...]:
    return tuple(undefined_terms(json.loads(text)))


def _verify_status_list(
    list_credential: dict[str, Any], fetch_json: FetchJson, now: datetime
) -> dict[str, Any]:
    """The status list credential as its signature covers it, or why it cannot be trusted."""
    url = list_credential.get("id", "the status list")
    try:
        _vc_version(list_credential)
        dropped = list(_status_list_terms(json.dumps(list_credential, sort_keys=True)))
        unsigned = [str(d) for d in dropped if not d.is_type]
        if unsigned:
            # e.g. an encodedList no context defines: anyone could flip its bits.
            raise Ob3Error("undefined_term", f"no @context defines {', '.join(unsigned)}")
        verify_ld_proofs(list_credential, fetch_json, now=now, cached=True)
        start, end = _validity(list_credential)
    except Ob3Error as exc:
        code = "status_list_unverifiable"
        if exc.code == "invalid_signature":
            code = "status_list_invalid_signature"
        raise Ob3Error(code, f"status list {url}: {exc.message}") from None
    if end is not None and end < now:
        raise Ob3Error("status_list_expired", f"status list {url} expired on {_iso(end)}")
    if start is not None and start > now:
        raise Ob3Error(
            "status_list_not_yet_valid", f"status list {url} is valid from {_iso(start)}"
        )
    return strip_undefined(list_credential, dropped)


def _load(credential: dict[str, Any] | str) -> tuple[dict[str, Any] | None, str | None]:
    """(JSON credential, None) or (None, compact JWT)."""
    if isinstance(credential, dict):
        return credential, None
    if not isinstance(credential, str):
        raise Ob3Error("malformed", "a credential is a JSON object or a VC-JWT string")
    text = credential.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise Ob3Error("malformed", f"the credential is not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise Ob3Error("malformed", "the credential must be a JSON object")
        return parsed, None
    if text.count(".") == 2:
        return None, text
    raise Ob3Error("malformed", "the credential is neither JSON nor a compact VC-JWT")


def _verify(
    result: Ob3Result,
    credential: dict[str, Any] | str,
    fetch_json: FetchJson,
    identities: list[str] | None,
    now: datetime,
    depth: int,
) -> None:
    loaded, token = _load(credential)
    securing = "jwt" if token is not None else "ldp"
    doc = _verify_jwt(token, fetch_json) if token is not None else loaded
    if doc is None:
        raise Ob3Error("malformed", "no credential found")
    if token is not None:
        result.checks.append("jwt_signature")
    version = result.vc_version = _vc_version(doc)

    dropped = undefined_terms(doc)
    result.dropped_terms = [str(d) for d in dropped]
    acted_on = [str(d) for d in dropped if d.term in ACTED_ON_TERMS and not d.is_type]
    if acted_on:
        raise Ob3Error(
            "undefined_term",
            f"no @context defines {', '.join(acted_on)}; the signature does not cover it",
        )
    for term in result.dropped_terms:
        result.warnings.append(
            ("undefined_term", f"{term} is defined by no context and is ignored")
        )
    clean = result.credential = strip_undefined(doc, dropped)
    result.checks.append("jsonld_terms")

    if token is None:
        count = verify_ld_proofs(doc, fetch_json, now=now)
        result.checks.append(f"proofs:{count}")
    kind = _check_shape(clean, version, result)
    result.format = f"{kind}-{securing}"
    result.checks.append("schema")

    issuer = clean.get("issuer")
    result.issuer = dict(issuer) if isinstance(issuer, dict) else {"id": issuer}
    subject = _first(clean.get("credentialSubject")) or {}
    result.achievement = (
        subject.get("achievement") if isinstance(subject.get("achievement"), dict) else None
    )
    result.issued_on, result.expires_at = _validity(clean)
    if result.expires_at is not None and result.expires_at < now:
        result.expired = True
        result.errors.append(("expired", f"the credential expired on {_iso(result.expires_at)}"))
    if result.issued_on is not None and result.issued_on > now:
        result.not_yet_valid = True
        result.errors.append(
            ("not_yet_valid", f"the credential is valid from {_iso(result.issued_on)}")
        )
    result.checks.append("validity_period")

    statuses = check_status(
        clean,
        fetch_json=fetch_json,
        verify_list=lambda lst: _verify_status_list(lst, fetch_json, now),
    )
    for status in statuses:
        if status.purpose == "revocation" and status.set:
            result.revoked = True
            result.errors.append(
                ("revoked", f"the issuer has revoked this credential ({status.source})")
            )
        elif status.purpose == "suspension" and status.set:
            result.suspended = True
            result.errors.append(
                ("suspended", f"the issuer has suspended this credential ({status.source})")
            )
        elif status.set:
            result.warnings.append(
                ("status_set", f"status {status.purpose} is set ({status.source})")
            )
    if statuses:
        result.checks.append("status")

    result.recipient = _recipient(subject, identities)
    if result.recipient["matched"] is False:
        result.warnings.append(
            ("recipient_mismatch", "the credential names none of the recipient's identities")
        )

    if kind == "clr2":
        nested = subject.get("verifiableCredential") or []
        if depth > 0 or len(nested) > MAX_NESTED_CREDENTIALS:
            raise Ob3Error(
                "schema_invalid", "a CLR may hold up to 500 credentials and no nested CLR"
            )
        for index, inner in enumerate(nested):
            inner_result = _run(inner, fetch_json, identities, now, depth + 1)
            result.nested.append(inner_result)
            if not inner_result.valid:
                codes = ", ".join(sorted(inner_result.error_codes()))
                result.errors.append(
                    ("nested_credential_invalid", f"credential {index} in the CLR: {codes}")
                )
        result.checks.append("nested_credentials")


def _run(
    credential: dict[str, Any] | str,
    fetch_json: FetchJson,
    identities: list[str] | None,
    now: datetime,
    depth: int,
) -> Ob3Result:
    result = Ob3Result(valid=False, format="unknown", checked_at=now, raw=credential)
    try:
        _verify(result, credential, fetch_json, identities, now, depth)
    except Ob3Error as exc:
        result.errors.append((exc.code, exc.message))
    result.valid = not result.errors
    return result


def verify_ob3(
    credential: dict[str, Any] | str,
    *,
    fetch_json: Callable[[str], Any],
    recipient_identities: list[str] | None = None,
    now: datetime | None = None,
) -> Ob3Result:
    """Verify an OB 3.0 / CLR 2.0 credential (JSON object or VC-JWT) offline but for `fetch_json`.

    `fetch_json(url)` returns the parsed JSON at an HTTPS URL (did:web documents, key and
    controller documents, status list credentials) and raises when it cannot.
    `recipient_identities` are the recipient's email addresses. Never raises for a bad
    credential: every failure is an (code, message) in `errors`.
    """
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return _run(credential, fetch_json, recipient_identities, moment.astimezone(UTC), 0)
