"""Which credit a badge brings: the badge's own, the provider's, or the teacher's (reviewed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.pipeline import PostedCredit, decide_credit
from ler_plugin.badges.report import VerificationReport

VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def _report(achievement_extra: dict[str, Any] | None = None) -> VerificationReport:
    credential = {
        "@context": [VC2, OB3],
        "id": "urn:uuid:0b7a9f2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:example:issuer", "type": ["Profile"], "name": "PD Co"},
        "validFrom": "2026-03-01T00:00:00Z",
        "name": "Reading",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://pd.example/a/reading",
                "type": ["Achievement"],
                "name": "Reading",
                "description": "d",
                "criteria": {"narrative": "n"},
            }
            | (achievement_extra or {}),
        },
    }
    return VerificationReport(valid=True, format="ob3", raw=credential)


def test_credits_available_count_in_the_providers_unit() -> None:
    report = _report({"creditsAvailable": 2})
    ceus = decide_credit(report, posted=None, credit_unit="ceu", posted_by_issuer=True)
    assert (ceus.ceus, ceus.clock_hours, ceus.needs_review) == (Decimal("2.00"), None, False)
    semester = decide_credit(
        report, posted=None, credit_unit="semester_hour", posted_by_issuer=True
    )
    assert semester.clock_hours == Decimal("30.00") and semester.needs_review


def test_provider_figures_count_when_the_badge_states_none() -> None:
    posted = PostedCredit(clock_hours=Decimal("6"), category="Math")
    credit = decide_credit(_report(), posted=posted, credit_unit=None, posted_by_issuer=True)
    assert (credit.clock_hours, credit.category, credit.needs_review) == (
        Decimal("6.00"),
        "math",
        False,
    )


def test_teacher_figures_are_kept_but_flagged() -> None:
    posted = PostedCredit(clock_hours=Decimal("6"))
    credit = decide_credit(_report(), posted=posted, credit_unit=None, posted_by_issuer=False)
    assert credit.clock_hours == Decimal("6.00") and credit.needs_review
    assert credit.notes == ["credit stated by the teacher, not the issuer"]


def test_no_credit_at_all_is_flagged_and_silly_figures_refused() -> None:
    credit = decide_credit(_report(), posted=None, credit_unit=None, posted_by_issuer=True)
    assert credit.needs_review and "the badge states no credit" in credit.notes
    with pytest.raises(BadgeError) as caught:
        decide_credit(
            _report(),
            posted=PostedCredit(clock_hours=Decimal("5000")),
            credit_unit=None,
            posted_by_issuer=True,
        )
    assert caught.value.code == "bad_credit"
