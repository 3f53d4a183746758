"""PD credit from verified badges: our extension first, then results, creditsEarned with the
provider's unit, the provider's posted values, else zero hours flagged for review."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.badges.credit import ExtractedCredit, extract_credit
from ler_plugin.badges.jsonld import document
from ler_plugin.badges.ob3 import sign_ld_proof, verify_ob3
from ler_plugin.signing import did_key

VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
PD = "https://ler-plugin.org/contexts/pd-credit/v1"
PD_OB2 = "https://ler-plugin.org/contexts/pd-credit/ob2/v1"
OB2 = "https://w3id.org/openbadges/v2"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
ROOT = Path(__file__).parent.parent.parent


def ob3(achievement_extra: dict[str, Any] | None = None, **subject_extra: Any) -> dict[str, Any]:
    return {
        "@context": [VC2, OB3, PD],
        "id": "urn:uuid:2a9c4e1f-6b3d-4f8a-9c2e-1d7b5a3f8e60",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": "did:key:z6MkjoriXdbyWD25YXTed114F8hdJrLXQ567xxPHAUKxpKkS",
            "type": ["Profile"],
            "name": "PD Co",
        },
        "validFrom": "2026-03-01T00:00:00Z",
        "name": "ELL strategies",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://pd.example/a/ell",
                "type": ["Achievement"],
                "name": "ELL strategies",
                "description": "d",
                "criteria": {"narrative": "n"},
            }
            | (achievement_extra or {}),
        }
        | subject_extra,
    }


def test_pd_credit_extension_on_the_achievement() -> None:
    pd = {"type": "PDCredit", "clockHours": "3.5", "ceus": "0.35", "category": "ELL"}
    assert extract_credit(ob3({"pdCredit": pd})) == ExtractedCredit(
        Decimal("3.5"), Decimal("0.35"), None, "ell", "pd_credit_extension", False
    )


def test_subject_pd_credit_wins_over_the_achievement() -> None:
    credit = extract_credit(ob3({"pdCredit": {"clockHours": "6"}}, pdCredit={"clockHours": "4.5"}))
    assert credit.clock_hours == Decimal("4.5")


def test_pd_credit_in_a_signed_credential_survives_verification() -> None:
    key = Ed25519PrivateKey.generate()
    did = did_key(key.public_key())
    credential = ob3({"pdCredit": {"type": "PDCredit", "clockHours": "2", "category": "math"}})
    credential["issuer"]["id"] = did
    signed = sign_ld_proof(credential, key, f"{did}#{did.split(':')[2]}")
    result = verify_ob3(signed, fetch_json=lambda url: None, now=NOW)
    assert result.valid and result.dropped_terms == []
    assert result.credential is not None
    assert extract_credit(result.credential).clock_hours == Decimal(2)


def test_pd_credit_without_our_context_never_counts() -> None:
    credential = ob3({"pdCredit": {"clockHours": "40"}})
    credential["@context"] = [VC2, OB3]
    assert extract_credit(credential) == ExtractedCredit(Decimal(0), None, None, None, "none", True)


def test_undefined_pd_hours_never_counts() -> None:
    credential = ob3(pdHours=99, creditsEarned=3)
    credit = extract_credit(credential, provider_credit_unit="clock_hour")
    assert credit.clock_hours == Decimal(3) and credit.source == "creditsEarned"


@pytest.mark.parametrize(
    ("name", "result_type", "field"),
    [
        ("Clock hours completed", "ext:Hours", "clock_hours"),
        ("Continuing Education Units", "ext:CEU", "ceus"),
        ("Semester credit hours", "ext:Credits", "semester_hours"),
    ],
)
def test_result_description_names_the_unit(name: str, result_type: str, field: str) -> None:
    description = {
        "id": "urn:uuid:rd-1",
        "type": ["ResultDescription"],
        "name": name,
        "resultType": result_type,
    }
    credential = ob3(
        {"resultDescription": [description]},
        result=[{"type": ["Result"], "resultDescription": "urn:uuid:rd-1", "value": "1.5"}],
    )
    credit = extract_credit(credential)
    assert getattr(credit, field) == Decimal("1.5")
    assert credit.source == "result" and not credit.needs_review


def test_result_without_a_unit_falls_through() -> None:
    description = {
        "id": "urn:uuid:rd-2",
        "type": ["ResultDescription"],
        "name": "Score",
        "resultType": "Percent",
    }
    credential = ob3(
        {"resultDescription": [description]},
        result=[{"type": ["Result"], "resultDescription": "urn:uuid:rd-2", "value": "87"}],
    )
    assert extract_credit(credential).needs_review


def test_credits_need_the_providers_unit() -> None:
    credential = ob3({"creditsAvailable": 0.5})
    assert extract_credit(credential).source == "none"
    credit = extract_credit(credential, provider_credit_unit="ceu")
    assert credit.ceus == Decimal("0.5") and credit.source == "creditsAvailable"


def test_provider_values_then_nothing() -> None:
    credit = extract_credit(ob3(), provider_values={"clock_hours": "1.25", "category": "SEL"})
    assert credit == ExtractedCredit(Decimal("1.25"), None, None, "sel", "provider_values", False)
    for bad in ({"clock_hours": "-3"}, {"clock_hours": "NaN"}, {"clock_hours": "1e9"}, {}):
        assert extract_credit(ob3(), provider_values=bad).needs_review


def ob2_assertion(extension_on: str) -> dict[str, Any]:
    extension = {
        "@context": PD_OB2,
        "type": ["Extension", "extensions:PDCreditExtension"],
        "clockHours": "6",
        "ceus": "0.6",
        "category": "literacy",
    }
    badge_class: dict[str, Any] = {
        "type": "BadgeClass",
        "id": "https://pd.example/badges/lit",
        "name": "Literacy",
    }
    assertion: dict[str, Any] = {
        "@context": OB2,
        "type": "Assertion",
        "id": "https://pd.example/assertions/1",
        "badge": badge_class,
    }
    (assertion if extension_on == "assertion" else badge_class)["extensions:PDCreditExtension"] = (
        extension
    )
    return assertion


@pytest.mark.parametrize("where", ["assertion", "badge_class"])
def test_ob2_extension(where: str) -> None:
    credit = extract_credit(ob2_assertion(where))
    assert credit == ExtractedCredit(
        Decimal(6), Decimal("0.6"), None, "literacy", "pd_credit_extension", False
    )


def test_ob2_badge_class_passed_separately() -> None:
    assertion = ob2_assertion("badge_class")
    badge_class = assertion.pop("badge") | {"@context": OB2}
    assertion["badge"] = badge_class["id"]
    assert extract_credit(assertion, badge_class=badge_class).clock_hours == Decimal(6)


def test_ob2_without_extension_context_is_not_read() -> None:
    assertion = ob2_assertion("assertion")
    del assertion["extensions:PDCreditExtension"]["@context"]
    assert extract_credit(assertion).needs_review


def test_published_context_schema_and_docs_agree() -> None:
    context = document(PD)["@context"]
    terms = set(context["pdCredit"]["@context"]) - {"@version", "@protected", "id", "type"}
    schema = document("https://ler-plugin.org/contexts/pd-credit/schema/v1.json")
    assert (
        terms
        == set(schema["properties"])
        == set(document(PD_OB2)["@context"])
        - {
            "obi",
            "extensions",
            "xsd",
        }
    )
    spec = (ROOT / "docs" / "pd-credit-extension.md").read_text()
    assert all(f"`{term}`" in spec for term in terms)
    json.dumps(schema)
