"""How much PD credit a verified badge is worth (OB 2.0 assertion + BadgeClass, or OB 3.0).

In order, the first source that gives a value wins:

1. our PD-credit extension (docs/pd-credit-extension.md): ``pdCredit`` on the OB 3.0
   AchievementSubject (what this person earned) or Achievement (what it is worth), or
   ``extensions:PDCreditExtension`` on the OB 2.0 assertion or BadgeClass;
2. an OB 3.0 ``result`` whose ``ResultDescription`` names the unit (hours, CEUs, credits);
3. OB 3.0 ``creditsEarned`` / ``creditsAvailable``, in the unit the provider declared;
4. the values the provider posted beside the badge;
5. nothing: zero hours, flagged for review.

Only terms that survive JSON-LD expansion are read: every document goes through the same
undefined-term stripping as verification, so an unsigned ``"pdHours": 99`` never counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from ler_plugin.badges.did import Ob3Error
from ler_plugin.badges.ob3 import strip_undefined, undefined_terms

CreditUnit = Literal["clock_hour", "ceu", "semester_hour"]
OB2_EXTENSION = "extensions:PDCreditExtension"
# No single PD activity is worth more than this; larger numbers are typos or attacks.
MAX_CREDIT = Decimal(10000)
_UNIT_FIELD = {"clock_hour": "clock_hours", "ceu": "ceus", "semester_hour": "semester_hours"}
_UNIT_WORDS: list[tuple[re.Pattern[str], CreditUnit]] = [
    (re.compile(r"\bceus?\b|continuing education unit", re.I), "ceu"),
    (
        re.compile(r"semester[ -]?(credit[ -]?)?hours?|credit[ -]?hours?|\bcredits?\b", re.I),
        "semester_hour",
    ),
    (re.compile(r"\b(clock[ -]?|contact[ -]?|pd[ -]?)?hours?\b", re.I), "clock_hour"),
]


@dataclass(frozen=True)
class ExtractedCredit:
    clock_hours: Decimal | None
    ceus: Decimal | None
    semester_hours: Decimal | None
    category: str | None
    source: str
    needs_review: bool


def _amount(value: Any) -> Decimal | None:
    """A non-negative decimal amount, or None when `value` is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_CREDIT:
        return None
    return amount


def _category(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()[:64]


def _from_fields(fields: Any, source: str) -> ExtractedCredit | None:
    if not isinstance(fields, dict):
        return None
    hours = _amount(fields.get("clockHours", fields.get("clock_hours")))
    ceus = _amount(fields.get("ceus"))
    semester = _amount(fields.get("semesterHours", fields.get("semester_hours")))
    if hours is None and ceus is None and semester is None:
        return None
    return ExtractedCredit(hours, ceus, semester, _category(fields.get("category")), source, False)


def _single(unit: CreditUnit, amount: Decimal, source: str) -> ExtractedCredit:
    values: dict[str, Decimal | None] = {f: None for f in _UNIT_FIELD.values()}
    values[_UNIT_FIELD[unit]] = amount
    return ExtractedCredit(
        values["clock_hours"], values["ceus"], values["semester_hours"], None, source, False
    )


def _unit_named(*texts: Any) -> CreditUnit | None:
    text = " ".join(t for t in texts if isinstance(t, str))
    for pattern, unit in _UNIT_WORDS:
        if pattern.search(text):
            return unit
    return None


def _as_list(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _from_results(subject: dict[str, Any], achievement: dict[str, Any]) -> ExtractedCredit | None:
    descriptions = {d.get("id"): d for d in _as_list(achievement.get("resultDescription"))}
    for result in _as_list(subject.get("result")):
        description = descriptions.get(result.get("resultDescription"), {})
        unit = _unit_named(description.get("resultType"), description.get("name"))
        amount = _amount(result.get("value"))
        if unit is not None and amount is not None:
            return _single(unit, amount, "result")
    return None


def _defined_only(doc: Any) -> dict[str, Any]:
    """`doc` with every term JSON-LD drops removed; {} when it is not readable JSON-LD."""
    if not isinstance(doc, dict):
        return {}
    try:
        return strip_undefined(doc, undefined_terms(doc))
    except Ob3Error:
        return {}


def _is_ob3(doc: dict[str, Any]) -> bool:
    contexts = doc.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    return first in (
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/2018/credentials/v1",
    )


def extract_credit(
    badge: dict[str, Any],
    *,
    badge_class: dict[str, Any] | None = None,
    provider_credit_unit: CreditUnit | None = None,
    provider_values: dict[str, Any] | None = None,
) -> ExtractedCredit:
    """The PD credit of a verified badge.

    `badge` is an OB 3.0 credential, or an OB 2.0 assertion (its BadgeClass embedded as
    ``badge`` or passed as `badge_class`). `provider_credit_unit` says what the provider's
    ``creditsEarned``/``creditsAvailable`` count; `provider_values` are the provider's own
    figures posted with the badge (``clock_hours``, ``ceus``, ``semester_hours``, ``category``).
    """
    found: ExtractedCredit | None = None
    if _is_ob3(badge):
        credential = _defined_only(badge)
        subjects = _as_list(credential.get("credentialSubject"))
        subject = subjects[0] if subjects else {}
        achievements = _as_list(subject.get("achievement"))
        achievement = achievements[0] if achievements else {}
        found = (
            _from_fields(subject.get("pdCredit"), "pd_credit_extension")
            or _from_fields(achievement.get("pdCredit"), "pd_credit_extension")
            or _from_results(subject, achievement)
        )
        if found is None and provider_credit_unit is not None:
            for holder, name in ((subject, "creditsEarned"), (achievement, "creditsAvailable")):
                amount = _amount(holder.get(name))
                if amount is not None:
                    found = _single(provider_credit_unit, amount, name)
                    break
    else:
        assertion = _defined_only(badge)
        embedded = assertion.get("badge")
        badge_class_doc = (
            _defined_only(badge_class)
            if badge_class is not None
            else (embedded if isinstance(embedded, dict) else {})
        )
        found = _from_fields(assertion.get(OB2_EXTENSION), "pd_credit_extension") or _from_fields(
            badge_class_doc.get(OB2_EXTENSION), "pd_credit_extension"
        )
    if found is None:
        found = _from_fields(provider_values, "provider_values")
    if found is None:
        return ExtractedCredit(Decimal(0), None, None, None, "none", True)
    if found.category is None and provider_values and _category(provider_values.get("category")):
        return ExtractedCredit(
            found.clock_hours,
            found.ceus,
            found.semester_hours,
            _category(provider_values.get("category")),
            found.source,
            found.needs_review,
        )
    return found
