"""Data Integrity proofs on credentials we sign here with did:key keys: both suites, both
together, and every way a proof can be wrong."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ler_plugin.badges.ob3 import sign_ld_proof, verify_ob3
from ler_plugin.badges.rdfc import canonize
from ler_plugin.signing import did_key

NOW = datetime(2026, 6, 1, tzinfo=UTC)
VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR2 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"


def no_fetch(url: str) -> Any:
    raise AssertionError(f"did:key credentials need no fetch, asked for {url}")


class Issuer:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.did = did_key(self.key.public_key())
        self.method = f"{self.did}#{self.did.split(':')[2]}"

    def sign(self, credential: dict[str, Any], suite: str = "eddsa-rdfc-2022") -> dict[str, Any]:
        return sign_ld_proof(credential, self.key, self.method, suite=suite, created=NOW)


def badge(issuer: str, name: str = "Co-teaching in ELL classrooms") -> dict[str, Any]:
    return {
        "@context": [VC2, OB3],
        "id": "urn:uuid:4b0e6a3e-3c43-4bd7-9b7a-1f6c2b2a1d10",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Riverside PD Center"},
        "validFrom": "2026-03-01T00:00:00Z",
        "name": name,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://pd.example/achievements/ell-101",
                "type": ["Achievement"],
                "name": name,
                "description": "Six hours of workshop and classroom practice.",
                "criteria": {"narrative": "Attend all sessions."},
            },
        },
    }


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "Ed25519Signature2020"])
def test_each_suite_verifies(suite: str) -> None:
    issuer = Issuer()
    result = verify_ob3(issuer.sign(badge(issuer.did), suite), fetch_json=no_fetch, now=NOW)
    assert result.valid, result.errors
    assert result.format == "ob3-ldp"
    assert result.achievement and result.achievement["name"] == "Co-teaching in ELL classrooms"
    assert result.issued_on == datetime(2026, 3, 1, tzinfo=UTC)


def test_both_suites_on_one_credential_must_all_verify() -> None:
    issuer = Issuer()
    signed = issuer.sign(issuer.sign(badge(issuer.did)), "Ed25519Signature2020")
    assert verify_ob3(signed, fetch_json=no_fetch, now=NOW).checks.count("proofs:2") == 1

    broken = copy.deepcopy(signed)
    value = broken["proof"][1]["proofValue"]
    broken["proof"][1]["proofValue"] = value[:-2] + ("2" if value[-2] != "2" else "3") + value[-1]
    result = verify_ob3(broken, fetch_json=no_fetch, now=NOW)
    assert not result.valid
    assert result.error_codes() == {"invalid_signature"}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "Something else"),
        (("credentialSubject", "achievement", "name"), "Doctorate"),
        (("validFrom",), "2020-01-01T00:00:00Z"),
    ],
)
def test_changed_content_breaks_the_signature(path: tuple[str, ...], value: str) -> None:
    issuer = Issuer()
    signed = issuer.sign(badge(issuer.did))
    node = signed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert verify_ob3(signed, fetch_json=no_fetch, now=NOW).error_codes() == {"invalid_signature"}


def test_changed_proof_options_break_the_signature() -> None:
    issuer = Issuer()
    signed = issuer.sign(badge(issuer.did))
    signed["proof"]["created"] = "2020-01-01T00:00:00Z"
    assert verify_ob3(signed, fetch_json=no_fetch, now=NOW).error_codes() == {"invalid_signature"}


def test_expired_proof_is_refused() -> None:
    issuer = Issuer()
    expires = datetime(2026, 5, 1, tzinfo=UTC)
    signed = sign_ld_proof(
        badge(issuer.did), issuer.key, issuer.method, created=NOW, expires=expires
    )
    assert verify_ob3(signed, fetch_json=no_fetch, now=datetime(2026, 4, 1, tzinfo=UTC)).valid
    assert verify_ob3(signed, fetch_json=no_fetch, now=NOW).error_codes() == {"proof_expired"}


def test_key_of_someone_else_is_refused() -> None:
    issuer, impostor = Issuer(), Issuer()
    signed = impostor.sign(badge(issuer.did))
    assert verify_ob3(signed, fetch_json=no_fetch, now=NOW).error_codes() == {"issuer_key_mismatch"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"proofPurpose": "authentication"}, "proof_purpose_invalid"),
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "proof_unsupported"),
        ({"type": "RsaSignature2018"}, "proof_unsupported"),
        ({"proofValue": "not-multibase"}, "proof_malformed"),
        ({"verificationMethod": "did:example:123#k"}, "key_unresolvable"),
    ],
)
def test_bad_proofs_are_named(change: dict[str, str], code: str) -> None:
    issuer = Issuer()
    signed = issuer.sign(badge(issuer.did))
    signed["proof"].update(change)
    assert verify_ob3(signed, fetch_json=no_fetch, now=NOW).error_codes() == {code}


def test_missing_proof_and_bad_input_are_errors_not_exceptions() -> None:
    issuer = Issuer()
    assert verify_ob3(badge(issuer.did), fetch_json=no_fetch).error_codes() == {"proof_missing"}
    assert verify_ob3("{not json", fetch_json=no_fetch).error_codes() == {"malformed"}
    assert verify_ob3("hello", fetch_json=no_fetch).error_codes() == {"malformed"}
    unknown = issuer.sign(badge(issuer.did)) | {"@context": [VC2, "https://example.org/ctx"]}
    assert verify_ob3(unknown, fetch_json=no_fetch).error_codes() == {"context_unknown"}


def test_ob3_required_fields() -> None:
    issuer = Issuer()
    credential = badge(issuer.did)
    del credential["credentialSubject"]["achievement"]
    result = verify_ob3(issuer.sign(credential), fetch_json=no_fetch, now=NOW)
    assert result.error_codes() == {"schema_invalid"}
    assert "achievement" in result.errors[0][1]

    credential = badge(issuer.did)
    credential["@context"] = [OB3, VC2]
    result = verify_ob3(issuer.sign(credential), fetch_json=no_fetch, now=NOW)
    assert result.error_codes() == {"schema_invalid"}


def test_validity_window_uses_now() -> None:
    issuer = Issuer()
    credential = badge(issuer.did) | {"validUntil": "2026-05-01T00:00:00Z"}
    signed = issuer.sign(credential)
    before = verify_ob3(signed, fetch_json=no_fetch, now=datetime(2026, 4, 1, tzinfo=UTC))
    assert before.valid and before.expires_at == datetime(2026, 5, 1, tzinfo=UTC)
    after = verify_ob3(signed, fetch_json=no_fetch, now=NOW)
    assert after.error_codes() == {"expired"} and after.expired
    early = verify_ob3(signed, fetch_json=no_fetch, now=datetime(2026, 2, 1, tzinfo=UTC))
    assert early.error_codes() == {"not_yet_valid"} and early.not_yet_valid


def test_the_stricter_of_two_expiry_dates_counts() -> None:
    issuer = Issuer()
    credential = badge(issuer.did) | {"validUntil": "2030-01-01T00:00:00Z"}
    credential["@context"] = [
        *credential["@context"],
        {"expirationDate": "https://www.w3.org/2018/credentials#expirationDate"},
    ]
    credential["expirationDate"] = "2026-05-01T00:00:00Z"
    result = verify_ob3(issuer.sign(credential), fetch_json=no_fetch, now=NOW)
    assert result.error_codes() == {"expired"}
    assert result.expires_at == datetime(2026, 5, 1, tzinfo=UTC)


def test_control_characters_are_canonicalised_as_rdfc_1_0_requires() -> None:
    doc = {"@context": {"@vocab": "https://ex.test/"}, "@id": "urn:x", "t": "a\tb\bc\fd\x01e\x7f"}
    assert canonize(doc) == '<urn:x> <https://ex.test/t> "a\\tb\\bc\\fd\\u0001e\\u007F" .\n'
    issuer = Issuer()
    signed = issuer.sign(badge(issuer.did, name="Tabs\tand\bcontrols"))
    assert verify_ob3(signed, fetch_json=no_fetch, now=NOW).valid


def test_clr_verifies_itself_and_every_nested_credential() -> None:
    issuer = Issuer()
    first = issuer.sign(badge(issuer.did, "Reading workshop"))
    second = issuer.sign(badge(issuer.did, "Math workshop"))

    def clr(nested: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "@context": [VC2, CLR2, OB3],
            "id": "urn:uuid:8d2c1e36-5e5d-4b47-a3c4-6d3a5c0b7e21",
            "type": ["VerifiableCredential", "ClrCredential"],
            "issuer": {"id": issuer.did, "type": ["Profile"], "name": "Riverside PD Center"},
            "validFrom": "2026-03-01T00:00:00Z",
            "name": "PD record",
            "credentialSubject": {"type": ["ClrSubject"], "verifiableCredential": nested},
        }

    result = verify_ob3(issuer.sign(clr([first, second])), fetch_json=no_fetch, now=NOW)
    assert result.valid, result.errors
    assert result.format == "clr2-ldp"
    assert [n.achievement["name"] for n in result.nested if n.achievement] == [
        "Reading workshop",
        "Math workshop",
    ]

    tampered = copy.deepcopy(second)
    tampered["credentialSubject"]["achievement"]["name"] = "Doctorate"
    result = verify_ob3(issuer.sign(clr([first, tampered])), fetch_json=no_fetch, now=NOW)
    assert result.error_codes() == {"nested_credential_invalid"}
    assert [n.valid for n in result.nested] == [True, False]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from([VC2, OB3]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "@context",
                    "type",
                    "id",
                    "issuer",
                    "proof",
                    "credentialSubject",
                    "validFrom",
                    "credentialStatus",
                    "achievement",
                    "identifier",
                    "@id",
                    "@type",
                    "name",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(
    context=st.sampled_from([[VC2, OB3], [VC2], VC2, [VC2, {"@vocab": 5}], [VC2, 7]]),
    document=st.dictionaries(
        st.sampled_from(
            ["type", "issuer", "proof", "credentialSubject", "validUntil", "credentialStatus"]
        ),
        json_values,
        max_size=6,
    ),
)
def test_arbitrary_json_gets_an_error_never_an_exception(
    context: Any, document: dict[str, Any]
) -> None:
    result = verify_ob3({"@context": context, **document}, fetch_json=no_fetch, now=NOW)
    assert not result.valid and result.errors
