"""Verify a badge given as a file path or URL: what ``ler-plugin badges verify`` runs.

A file may be JSON, a JWS or VC-JWT, or a baked PNG or SVG; a URL is a hosted OB 2.0
assertion. OB 2.0 goes to `ob2.verify_ob2`; OB 3.0 and CLR 2.0 to `ob3.verify_ob3`.
Every failure comes back inside the report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.ob2 import verify_ob2
from ler_plugin.badges.ob3 import Ob3Result, verify_ob3
from ler_plugin.badges.parse import DEFAULT_MAX_IMAGE_BYTES, BadgeInput, parse_badge, parse_text
from ler_plugin.badges.report import (
    BadgeClassSummary,
    Format,
    IssuerSummary,
    RecipientSummary,
    ReportMessage,
    VerificationReport,
)
from ler_plugin.errors import LerError
from ler_plugin.fetch import FetchPolicy, fetch


def read_badge(arg: str, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> BadgeInput:
    """A URL as given, or the badge in the file at path `arg`."""
    if re.match(r"^https?://", arg.strip(), re.IGNORECASE):
        return parse_text(arg)
    path = Path(arg)
    if not path.is_file():
        raise BadgeError("invalid_input", f"{arg} is neither an http(s) URL nor a file")
    if path.stat().st_size > max_bytes:
        raise BadgeError("image_too_large", f"{arg} is larger than {max_bytes // 1024} KB")
    return parse_badge(path.read_bytes(), max_bytes=max_bytes)


def _failed(fmt: Format, code: str, message: str) -> VerificationReport:
    report = VerificationReport(valid=True, format=fmt)
    report.fail(code, message)
    return report


def verify_badge(
    badge: BadgeInput,
    *,
    policy: FetchPolicy,
    recipient_identities: list[str] | None = None,
) -> VerificationReport:
    if badge.format == "ob2":
        return verify_ob2(badge, policy=policy, recipient_identities=recipient_identities)
    budget = policy.new_budget()

    def fetch_json(url: str) -> Any:
        accept = "application/ld+json, application/json"
        return fetch(url, policy=policy, budget=budget, accept=accept).json()

    credential = badge.jws if badge.kind == "jwt" else badge.data
    if credential is None:
        return _failed(badge.format, "invalid_input", "there is no credential to verify")
    try:
        result = verify_ob3(
            credential, fetch_json=fetch_json, recipient_identities=recipient_identities
        )
    except LerError as exc:
        return _failed(badge.format, exc.code, exc.message)
    return report_from_ob3(result, badge.format)


def _text(value: Any) -> str | None:
    """OB 3.0 strings may be language maps or objects; show the plain text."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _text(value.get("@value") or value.get("id") or next(iter(value.values()), None))
    return None


def report_from_ob3(result: Ob3Result, fmt: Format) -> VerificationReport:
    """The common report of an OB 3.0 / CLR result; only terms that survived expansion are kept."""
    issuer = result.issuer or {}
    achievement = result.achievement or {}
    image = achievement.get("image")
    criteria = achievement.get("criteria")
    report = VerificationReport(
        valid=result.valid,
        format=fmt,
        errors=[ReportMessage(code, message) for code, message in result.errors],
        warnings=[ReportMessage(code, message) for code, message in result.warnings],
        checks=list(result.checks),
        checked_at=result.checked_at,
        revoked=result.revoked or result.suspended,
        expired=result.expired,
        expires_at=result.expires_at,
        issued_on=result.issued_on,
        assertion_id=_text((result.credential or {}).get("id")),
        issuer=IssuerSummary(
            id=_text(issuer.get("id")), name=_text(issuer.get("name")), url=_text(issuer.get("url"))
        ),
        badge_class=BadgeClassSummary(
            id=_text(achievement.get("id")),
            name=_text(achievement.get("name")),
            description=_text(achievement.get("description")),
            image=_text(image.get("id") if isinstance(image, dict) else image),
            criteria=_text(
                criteria.get("narrative") or criteria.get("id")
                if isinstance(criteria, dict)
                else criteria
            ),
            tags=[t for t in achievement.get("tag", []) if isinstance(t, str)]
            if isinstance(achievement.get("tag"), list)
            else [],
            alignments=[a for a in achievement.get("alignment", []) if isinstance(a, dict)]
            if isinstance(achievement.get("alignment"), list)
            else [],
        ),
        recipient=_ob3_recipient(result.recipient or {}),
        raw=result.credential,
    )
    return report


def verify_path_or_url(
    arg: str, *, policy: FetchPolicy, recipient_identities: list[str] | None = None
) -> VerificationReport:
    """Read `arg` (file or URL) and verify it; a badge that cannot be read is a failed report."""
    try:
        badge = read_badge(arg)
    except BadgeError as exc:
        return _failed("ob2", exc.code, exc.message)
    return verify_badge(badge, policy=policy, recipient_identities=recipient_identities)


def _ob3_recipient(recipient: dict[str, Any]) -> RecipientSummary:
    """The email an OB 3.0 credential names (an identifier, maybe hashed, or a mailto: subject)."""
    for entry in recipient.get("identifiers") or []:
        value = entry.get("identityHash")
        if entry.get("identityType") in ("emailAddress", "email") and isinstance(value, str):
            hashed = bool(entry.get("hashed", value.startswith("sha256$")))
            return RecipientSummary(
                identity=value, type="email", hashed=hashed, salt=_text(entry.get("salt"))
            )
    subject = recipient.get("id")
    if isinstance(subject, str) and subject.lower().startswith("mailto:"):
        return RecipientSummary(identity=subject[len("mailto:") :], type="email")
    return RecipientSummary(identity=_text(subject), type="id" if subject else None)
