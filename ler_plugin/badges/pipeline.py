"""The database-free steps of badge intake: verify a parsed badge, fingerprint it, match its
recipient, and decide the credit it carries.

Everything here is synchronous and plain; `badges.service` runs `verify_input` in a worker
thread and does the storing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.ob3 import Ob3Result
from ler_plugin.badges.parse import BadgeInput
from ler_plugin.badges.report import (
    BadgeClassSummary,
    IssuerSummary,
    RecipientSummary,
    ReportMessage,
    VerificationReport,
)
from ler_plugin.badges.verify import verify_badge
from ler_plugin.fetch import FetchPolicy

HUNDREDTH = Decimal("0.01")
# A semester hour is 15 contact hours; a CEU is 10 (IACET).
CLOCK_HOURS_PER_SEMESTER_HOUR = Decimal(15)


def verify_input(badge_input: BadgeInput, *, policy: FetchPolicy) -> VerificationReport:
    """Verify any parsed badge (OB 2.0 hosted or signed, OB 3.0, CLR 2.0). Blocks: it fetches."""
    return as_report(verify_badge(badge_input, policy=policy))


def as_report(result: object) -> VerificationReport:
    """The OB 3.0 verifier answers its own `Ob3Result` (until it speaks VerificationReport)."""
    if isinstance(result, Ob3Result):
        return report_from_ob3(result)
    assert isinstance(result, VerificationReport)
    return result


def report_from_ob3(result: Ob3Result) -> VerificationReport:
    """The OB 3.0 verifier's result in the shape every stored badge keeps."""
    fmt = "clr2" if result.format.startswith("clr2") else "ob3"
    credential = result.credential or {}
    issuer = result.issuer or {}
    achievement = result.achievement or {}
    criteria = achievement.get("criteria")
    image = achievement.get("image")
    recipient = _ob3_recipient(result.recipient or {})
    return VerificationReport(
        valid=result.valid,
        format=fmt,  # type: ignore[arg-type]
        errors=[ReportMessage(code, message) for code, message in result.errors],
        warnings=[ReportMessage(code, message) for code, message in result.warnings],
        checks=list(result.checks),
        checked_at=result.checked_at,
        revoked=result.revoked,
        expired=result.expired,
        expires_at=result.expires_at,
        issued_on=result.issued_on,
        assertion_id=credential.get("id") if isinstance(credential.get("id"), str) else None,
        issuer=IssuerSummary(
            id=_text(issuer.get("id")), name=_text(issuer.get("name")), url=_text(issuer.get("url"))
        ),
        badge_class=BadgeClassSummary(
            id=_text(achievement.get("id")),
            name=_text(achievement.get("name")),
            description=_text(achievement.get("description")),
            image=_text(image.get("id") if isinstance(image, dict) else image),
            criteria=_text(criteria.get("narrative") if isinstance(criteria, dict) else criteria),
        ),
        recipient=recipient,
        raw=credential or None,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _ob3_recipient(recipient: dict[str, Any]) -> RecipientSummary:
    for entry in recipient.get("identifiers") or []:
        if entry.get("identityType") in ("emailAddress", "email") and isinstance(
            entry.get("identityHash"), str
        ):
            value = entry["identityHash"]
            hashed = bool(entry.get("hashed", value.startswith("sha256$")))
            return RecipientSummary(
                identity=value, type="email", hashed=hashed, salt=_text(entry.get("salt"))
            )
    subject = recipient.get("id")
    if isinstance(subject, str) and subject.lower().startswith("mailto:"):
        return RecipientSummary(identity=subject[len("mailto:") :], type="email")
    return RecipientSummary(identity=_text(subject), type="id" if subject else None)


def fingerprint(badge_input: BadgeInput, report: VerificationReport) -> str:
    """One badge, however it is submitted: a hosted assertion is its id (URL); a signed one is
    its canonical content, so two different signed badges can never collide on a reused id."""
    hosted = report.format == "ob2" and badge_input.kind in ("url", "json") and report.assertion_id
    if hosted:
        key = "hosted:" + str(report.assertion_id)
    elif badge_input.kind in ("jws", "jwt"):
        key = "signed:" + (badge_input.jws or "")
    else:
        key = "signed:" + json.dumps(report.raw or badge_input.data, sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()


def identity_matches(recipient: RecipientSummary, email: str) -> bool:
    """Whether `email` is the badge's recipient: plain (any case), or hashed as
    ``sha256$hex`` / ``md5$hex`` of email + salt (hex in any case, email as typed or lowered)."""
    value = recipient.identity
    if not value or recipient.type not in (None, "email", "emailAddress"):
        return False
    wanted = email.strip()
    if not recipient.hashed and not _looks_hashed(value):
        return value.strip().lower() == wanted.lower()
    alg, sep, digest = value.partition("$")
    alg = alg.lower()
    if not sep or alg not in ("sha256", "md5"):
        return False
    salt = recipient.salt or ""
    for candidate in {wanted, wanted.lower()}:
        data = (candidate + salt).encode()
        computed = (
            hashlib.sha256(data) if alg == "sha256" else hashlib.md5(data, usedforsecurity=False)
        ).hexdigest()
        if computed == digest.strip().lower():
            return True
    return False


def _looks_hashed(value: str) -> bool:
    alg, sep, _ = value.partition("$")
    return bool(sep) and alg.lower() in ("sha256", "md5")


def plain_recipient_email(recipient: RecipientSummary) -> str | None:
    """The recipient's email when the badge names it in the clear."""
    value = recipient.identity
    if value and "@" in value and not recipient.hashed and not _looks_hashed(value):
        return value.strip().lower()
    return None


@dataclass(frozen=True)
class PostedCredit:
    """Credit the poster states beside the badge (GraphQL `credit`)."""

    clock_hours: Decimal | None = None
    ceus: Decimal | None = None
    category: str | None = None


@dataclass(frozen=True)
class Credit:
    clock_hours: Decimal | None
    ceus: Decimal | None
    category: str | None
    needs_review: bool = False
    notes: list[str] = field(default_factory=list)


def quantity(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadgeError("bad_credit", f"{name} must be a number") from None
    if not number.is_finite() or number < 0 or number > 1000:
        raise BadgeError("bad_credit", f"{name} must be between 0 and 1000")
    return number.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def decide_credit(
    report: VerificationReport,
    *,
    posted: PostedCredit | None,
    credit_unit: str | None,
    posted_by_issuer: bool,
) -> Credit:
    """The credit a verified badge carries.

    A provider posting for its own registered issuer may state the credit; a teacher importing
    a badge may not vouch for it, so their figures are kept but flagged for review. Without a
    stated figure, an OB 3.0 achievement's `creditsAvailable` counts in the provider's unit.
    """
    if posted is not None and (posted.clock_hours is not None or posted.ceus is not None):
        hours = None if posted.clock_hours is None else quantity(posted.clock_hours, "clock hours")
        ceus = None if posted.ceus is None else quantity(posted.ceus, "CEUs")
        if posted_by_issuer:
            return Credit(hours, ceus, posted.category)
        return Credit(
            hours, ceus, posted.category, True, ["credit stated by the teacher, not the issuer"]
        )
    category = posted.category if posted else None
    credits = _credits_available(report)
    if credits is None:
        return Credit(None, None, category)
    if credit_unit == "ceu":
        return Credit(None, credits, category)
    if credit_unit == "semester_hour":
        hours = (credits * CLOCK_HOURS_PER_SEMESTER_HOUR).quantize(HUNDREDTH)
        return Credit(hours, None, category, True, ["converted from semester hours"])
    if credit_unit == "clock_hour":
        return Credit(credits, None, category)
    return Credit(
        credits, None, category, True, ["creditsAvailable counted as clock hours: unit unknown"]
    )


def _credits_available(report: VerificationReport) -> Decimal | None:
    raw = report.raw or {}
    subject = raw.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    if not isinstance(subject, dict):
        return None
    achievement = subject.get("achievement")
    value = achievement.get("creditsAvailable") if isinstance(achievement, dict) else None
    if value is None:
        return None
    try:
        return quantity(value, "creditsAvailable")
    except BadgeError:
        return None
