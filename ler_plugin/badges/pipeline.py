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

from ler_plugin.badges.credit import extract_credit
from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.parse import BadgeInput
from ler_plugin.badges.report import (
    RecipientSummary,
    VerificationReport,
)
from ler_plugin.badges.verify import verify_badge
from ler_plugin.fetch import FetchPolicy

HUNDREDTH = Decimal("0.01")
# A semester hour is commonly 15 contact hours.
CLOCK_HOURS_PER_SEMESTER_HOUR = Decimal(15)


def verify_input(badge_input: BadgeInput, *, policy: FetchPolicy) -> VerificationReport:
    """Verify any parsed badge (OB 2.0 hosted or signed, OB 3.0, CLR 2.0). Blocks: it fetches."""
    return verify_badge(badge_input, policy=policy)


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
    if not value or not is_email_recipient(recipient):
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


def is_email_recipient(recipient: RecipientSummary) -> bool:
    return bool(recipient.identity) and recipient.type in (None, "email", "emailAddress")


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
    """The credit a verified badge carries, as `credit.extract_credit` reads it.

    What the badge itself says wins; a provider's posted figures count next (it speaks for the
    issuer). A teacher cannot vouch for their own badge: their figures are kept only when the
    badge states none, and flagged for review. Semester hours become clock hours (15 each),
    flagged too: the wallet records hours and CEUs, and the district decides the conversion.
    """
    values = _posted_values(posted)
    unit = credit_unit if credit_unit in ("clock_hour", "ceu", "semester_hour") else None
    extracted = extract_credit(
        report.raw or {},
        provider_credit_unit=unit,  # type: ignore[arg-type]
        provider_values=values if posted_by_issuer else None,
    )
    category = extracted.category or (
        posted.category.strip().lower()[:64] if posted and posted.category else None
    )
    if extracted.source == "none" and values and not posted_by_issuer:
        return Credit(
            None
            if posted is None or posted.clock_hours is None
            else quantity(posted.clock_hours, "clock hours"),
            None if posted is None or posted.ceus is None else quantity(posted.ceus, "CEUs"),
            category,
            True,
            ["credit stated by the teacher, not the issuer"],
        )
    notes = []
    hours = extracted.clock_hours
    if extracted.source == "none":
        notes.append("the badge states no credit")
    if extracted.semester_hours:
        hours = (hours or Decimal(0)) + extracted.semester_hours * CLOCK_HOURS_PER_SEMESTER_HOUR
        notes.append(f"{extracted.semester_hours} semester hours counted as clock hours (x15)")
    return Credit(
        None if hours is None else quantity(hours, "clock hours"),
        None if extracted.ceus is None else quantity(extracted.ceus, "CEUs"),
        category,
        extracted.needs_review or bool(notes),
        notes,
    )


def _posted_values(posted: PostedCredit | None) -> dict[str, Any] | None:
    if posted is None or (posted.clock_hours is None and posted.ceus is None):
        return None
    values: dict[str, Any] = {"category": posted.category}
    if posted.clock_hours is not None:
        values["clock_hours"] = str(quantity(posted.clock_hours, "clock hours"))
    if posted.ceus is not None:
        values["ceus"] = str(quantity(posted.ceus, "CEUs"))
    return values
