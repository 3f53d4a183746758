"""What the engine is told: a teacher's credentials and learning records, as small frozen values.

Other rooms map their database rows onto these; the constructors check the few things the
engine relies on (types, no negative quantities) so a bad row fails here with its field named.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ler_plugin.credit.errors import CreditError

# Record statuses the engine knows by name; any other status (pending, self_reported, ...)
# does not count unless the district itself issued the record.
REVOKED = "revoked"
REJECTED = "rejected"


def _bad(field: str, message: str) -> CreditError:
    return CreditError("invalid_input", f"{field}: {message}", field=field)


def _check_quantity(owner: str, name: str, value: Decimal | None) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or isinstance(value, bool):
        raise _bad(f"{owner}.{name}", f"expected a Decimal, got {type(value).__name__}")
    if not value.is_finite() or value < 0:
        raise _bad(f"{owner}.{name}", f"must be a finite quantity of zero or more, got {value}")


@dataclass(frozen=True, slots=True)
class CreditRecord:
    """One piece of professional learning as the wallet holds it.

    ``source`` says where it came from (``lms_award`` when the district issued it from a PD
    course, ``badge``, ``provider``, ``self_reported``...); ``status`` is the record's review
    state (``verified``, ``approved``, ``pending``, ``rejected``, ``revoked``...). The credit is
    the first quantity given of ``clock_hours``, ``ceus``, ``semester_hours``.
    """

    id: str
    kind: str
    source: str
    status: str
    completed_on: date
    clock_hours: Decimal | None = None
    ceus: Decimal | None = None
    semester_hours: Decimal | None = None
    category: str | None = None
    provider: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise _bad("CreditRecord.id", "must be a non-empty string")
        if not isinstance(self.completed_on, date):
            raise _bad("CreditRecord.completed_on", f"record {self.id}: expected a date")
        _check_quantity("CreditRecord", "clock_hours", self.clock_hours)
        _check_quantity("CreditRecord", "ceus", self.ceus)
        _check_quantity("CreditRecord", "semester_hours", self.semester_hours)


@dataclass(frozen=True, slots=True)
class Credential:
    """A certificate or licence the teacher holds; ``credential_class`` is a key of the ruleset."""

    credential_class: str
    issued_on: date
    expires_on: date | None = None
    national_board: bool = False
    primary: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.issued_on, date):
            raise _bad("Credential.issued_on", "expected a date")
        if self.expires_on is not None and self.expires_on < self.issued_on:
            raise _bad("Credential.expires_on", "is before issued_on")

    def held_on(self, day: date) -> bool:
        return self.issued_on <= day and (self.expires_on is None or day <= self.expires_on)


@dataclass(frozen=True, slots=True)
class TeacherFacts:
    """The teacher as the rules see them: credentials, and the birth month some cycles end on.

    Give ``birth_month`` (1-12) or ``birth_date``; only the month is ever used.
    """

    credentials: tuple[Credential, ...]
    birth_month: int | None = None
    birth_date: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.credentials, tuple):
            raise _bad("TeacherFacts.credentials", "must be a tuple of Credential")
        if self.birth_month is not None and not 1 <= self.birth_month <= 12:
            raise _bad("TeacherFacts.birth_month", f"must be 1-12, got {self.birth_month}")
        if (
            self.birth_date is not None
            and self.birth_month is not None
            and self.birth_date.month != self.birth_month
        ):
            raise _bad("TeacherFacts.birth_month", "disagrees with birth_date")

    @property
    def month_of_birth(self) -> int | None:
        if self.birth_month is not None:
            return self.birth_month
        return self.birth_date.month if self.birth_date is not None else None
