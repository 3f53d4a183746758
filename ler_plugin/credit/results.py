"""What the engine answers: a teacher's compliance for one cycle, and what became of each record."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ler_plugin.credit.cycles import Cycle

# Why a record did or did not count toward the evaluated cycle. Stable: clients match on them.
COUNTED = "counted"  # all of its credit counts toward this cycle
CAPPED = "capped"  # some or all of it is beyond its category's cap
CARRIED_OVER = "carried_over"  # some or all of it moves to the next cycle
CARRIED_IN = "carried_in"  # earned in the previous cycle, counts toward this one
OUTSIDE_CYCLE = "outside_cycle"
NOT_VERIFIED = "not_verified"
REVOKED = "revoked"
REJECTED = "rejected"
PROVIDER_NOT_APPROVED = "provider_not_approved"
NO_CREDIT = "no_credit"  # no quantity, or zero after conversion

# Compliance statuses.
COMPLETE = "complete"
ON_TRACK = "on_track"
AT_RISK = "at_risk"
BEHIND = "behind"
EXEMPT = "exempt"


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What one record contributed. ``amount`` is its credit in the ruleset's unit (zero when it
    could not be converted); ``credited`` is what counts toward this cycle."""

    record_id: str
    reason: str
    category: str
    amount: Decimal
    credited: Decimal
    capped: Decimal
    carried_out: Decimal


@dataclass(frozen=True, slots=True)
class CategoryResult:
    """Credit in one canonical category against its minimum and cap (``None`` when none)."""

    category: str
    label: str
    earned: Decimal
    minimum: Decimal | None
    cap: Decimal | None
    capped: Decimal

    @property
    def satisfied(self) -> bool:
        return self.minimum is None or self.earned >= self.minimum


@dataclass(frozen=True, slots=True)
class Compliance:
    """A teacher's standing in one renewal cycle as of a date.

    ``required`` is ``None`` when exempt. ``earned`` is the credit counted toward the cycle:
    counted records, carried-in credit and equivalency credit (National Board), after caps
    and after credit carried out to the next cycle. ``projected`` is ``earned`` extrapolated
    from the elapsed part of the cycle to its whole length.
    """

    ruleset_id: str
    version_effective_from: date
    unit: str
    credential_classes: tuple[str, ...]
    cycle: Cycle
    as_of: date
    status: str
    required: Decimal | None
    earned: Decimal
    remaining: Decimal
    projected: Decimal
    capped: Decimal
    carry_in: Decimal
    carry_out: Decimal
    equivalency_credit: Decimal
    categories: tuple[CategoryResult, ...]
    outcomes: tuple[RecordOutcome, ...]

    def outcome(self, record_id: str) -> RecordOutcome:
        for outcome in self.outcomes:
            if outcome.record_id == record_id:
                return outcome
        raise KeyError(record_id)
