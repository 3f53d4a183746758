"""The outcome of verifying one badge, whatever its format (OB 2.0, OB 3.0, CLR 2.0).

Verifiers (`ob2.verify_ob2`, `ob3.verify_ob3`) return a `VerificationReport`; a failed check
is a `ReportMessage` with a stable code in `errors`, never an exception. `to_json` /
`from_json` round-trip it so it can be stored beside a wallet record and shown again later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Format = Literal["ob2", "ob3", "clr2"]


@dataclass(frozen=True)
class ReportMessage:
    """One finding. `code` is stable snake_case (`revoked`, `bad_signature`, ...)."""

    code: str
    message: str


@dataclass
class IssuerSummary:
    id: str | None = None
    name: str | None = None
    url: str | None = None


@dataclass
class BadgeClassSummary:
    """The achievement: OB 2.0 BadgeClass or OB 3.0 Achievement."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    image: str | None = None
    criteria: str | None = None
    tags: list[str] = field(default_factory=list)
    alignments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RecipientSummary:
    identity: str | None = None
    type: str | None = None
    hashed: bool = False
    salt: str | None = None


@dataclass
class VerificationReport:
    valid: bool
    format: Format
    errors: list[ReportMessage] = field(default_factory=list)
    warnings: list[ReportMessage] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    revoked: bool = False
    expired: bool = False
    expires_at: datetime | None = None
    issued_on: datetime | None = None
    assertion_id: str | None = None
    issuer: IssuerSummary = field(default_factory=IssuerSummary)
    badge_class: BadgeClassSummary = field(default_factory=BadgeClassSummary)
    recipient: RecipientSummary = field(default_factory=RecipientSummary)
    raw: dict[str, Any] | None = None

    def fail(self, code: str, message: str) -> None:
        """Record an error; a report with any error is not valid."""
        self.errors.append(ReportMessage(code, message))
        self.valid = False

    def warn(self, code: str, message: str) -> None:
        self.warnings.append(ReportMessage(code, message))

    @property
    def error_codes(self) -> list[str]:
        return [m.code for m in self.errors]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("checked_at", "expires_at", "issued_on"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerificationReport:
        def when(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            valid=bool(data["valid"]),
            format=data["format"],
            errors=[ReportMessage(**m) for m in data.get("errors", [])],
            warnings=[ReportMessage(**m) for m in data.get("warnings", [])],
            checks=list(data.get("checks", [])),
            checked_at=when(data.get("checked_at")) or datetime.now(UTC),
            revoked=bool(data.get("revoked", False)),
            expired=bool(data.get("expired", False)),
            expires_at=when(data.get("expires_at")),
            issued_on=when(data.get("issued_on")),
            assertion_id=data.get("assertion_id"),
            issuer=IssuerSummary(**data.get("issuer", {})),
            badge_class=BadgeClassSummary(**data.get("badge_class", {})),
            recipient=RecipientSummary(**data.get("recipient", {})),
            raw=data.get("raw"),
        )
