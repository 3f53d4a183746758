from datetime import UTC, datetime

from ler_plugin.badges.report import (
    BadgeClassSummary,
    IssuerSummary,
    RecipientSummary,
    VerificationReport,
)


def test_report_round_trips_through_json() -> None:
    report = VerificationReport(
        valid=True,
        format="ob2",
        checks=["signature"],
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        issued_on=datetime(2025, 1, 1, tzinfo=UTC),
        assertion_id="https://example.org/a/1",
        issuer=IssuerSummary(id="https://example.org/i", name="Org"),
        badge_class=BadgeClassSummary(name="PD", tags=["math"], alignments=[{"targetName": "x"}]),
        recipient=RecipientSummary(identity="sha256$ab", type="email", hashed=True, salt="s"),
        raw={"id": "https://example.org/a/1"},
    )
    report.fail("revoked", "the issuer revoked it")
    report.warn("no_image", "no image")
    again = VerificationReport.from_json(report.to_json())
    assert again == report
    assert not again.valid
    assert again.error_codes == ["revoked"]
