"""What the wallet pages show from other rooms: renewal progress and why each record counts
(the credit engine through the rollups' compliance), and live badge checks (the verifiers).

- `renewal_progress`: the teacher's current renewal cycle (required / earned / remaining /
  status); None when no credential or ruleset applies, and the page shows totals instead.
- `explain_records`: why each record counts toward renewal or not: the engine's reason.
- `reverify_badges`: a live re-verification of each badge on the public share page (the badges
  room's verifier, through fetch.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.badges.models import Badge
from ler_plugin.badges.service import verify_again
from ler_plugin.config import Settings
from ler_plugin.credit import results as credit_results
from ler_plugin.errors import LerError
from ler_plugin.fetch import FetchPolicy
from ler_plugin.principal import Principal
from ler_plugin.rollups.compliance import EXPIRED, NOT_SHARED, TeacherCompliance, teacher_compliance
from ler_plugin.wallet.models import Record, RecordStatus, Teacher


@dataclass(frozen=True)
class RenewalProgress:
    required: Decimal
    earned: Decimal
    unit: str  # what is counted, as people say it: "clock hours", "CEUs"
    status: str  # complete, on_track, behind, overdue
    status_label: str  # the status as a sentence for the teacher
    cycle_ends_on: dt.date | None = None

    @property
    def remaining(self) -> Decimal:
        return max(self.required - self.earned, Decimal("0"))

    @property
    def percent(self) -> int:
        if self.required <= 0:
            return 100
        return min(100, int(self.earned * 100 / self.required))


@dataclass(frozen=True)
class Explanation:
    counts: bool | None  # None: not decided yet
    text: str


@dataclass(frozen=True)
class BadgeCheck:
    valid: bool
    checked_at: dt.datetime
    problem: str | None = None


async def compliance_for(
    *, session: AsyncSession, principal: Principal, teacher: Teacher
) -> TeacherCompliance | None:
    """The teacher's standing in their current renewal cycle, computed once per page."""
    try:
        return await teacher_compliance(session=session, principal=principal, teacher_id=teacher.id)
    except LerError:
        return None


UNIT_LABELS = {
    "clock_hour": "clock hours",
    "ceu": "CEUs",
    "semester_hour": "semester hours",
    "inservice_point": "inservice points",
}
STATUS_LABELS = {
    "complete": "Complete: you have met this cycle's requirement.",
    "on_track": "On track: at your pace so far you will finish in time.",
    "at_risk": "At risk: at your pace so far you will not finish in time.",
    "behind": "Behind: far from the requirement for this point in the cycle.",
    "exempt": "Exempt: your credential has no renewal hours to earn.",
}


def renewal_progress(compliance: TeacherCompliance | None) -> RenewalProgress | None:
    result = compliance.result if compliance else None
    if result is None:
        return None
    return RenewalProgress(
        required=result.required or Decimal("0"),
        earned=result.earned,
        unit=UNIT_LABELS.get(result.unit, result.unit.replace("_", " ") + "s"),
        status=result.status,
        status_label=STATUS_LABELS.get(result.status, result.status.replace("_", " ")),
        cycle_ends_on=result.cycle.end,
    )


_BY_STATUS = {
    RecordStatus.APPROVED: Explanation(True, "Counts: approved by your district."),
    RecordStatus.VERIFIED: Explanation(True, "Counts: verified with its issuer."),
    RecordStatus.SUBMITTED: Explanation(None, "Not yet: waiting for your district's approval."),
    RecordStatus.SELF_REPORTED: Explanation(None, "Not yet: not sent to your district."),
    RecordStatus.REVOKED: Explanation(False, "Does not count: the issuer revoked it."),
    RecordStatus.EXPIRED: Explanation(False, "Does not count: it has expired."),
}
# Why the credit engine counted a record or not, as the teacher reads it.
_BY_REASON = {
    credit_results.COUNTED: (True, "Counts toward this renewal cycle."),
    credit_results.CAPPED: (True, "Counts only in part: its topic has reached the cycle's cap."),
    credit_results.CARRIED_OVER: (True, "Carried over: some of it counts toward your next cycle."),
    credit_results.CARRIED_IN: (True, "Carried in from your previous cycle."),
    credit_results.OUTSIDE_CYCLE: (False, "Does not count this cycle: completed outside it."),
    credit_results.NOT_VERIFIED: (None, "Not yet: it needs approval or verification."),
    credit_results.REVOKED: (False, "Does not count: the issuer revoked it."),
    credit_results.REJECTED: (False, "Does not count: your district rejected it."),
    credit_results.PROVIDER_NOT_APPROVED: (
        False,
        "Does not count: the provider is not on your state's approved list.",
    ),
    credit_results.NO_CREDIT: (False, "Carries no hours or CEUs to count."),
    NOT_SHARED: (False, "Not counted: it is private. Share it with your district to count it."),
    EXPIRED: (False, "Does not count: it has expired."),
}


def explain_records(
    records: list[Record], compliance: TeacherCompliance | None
) -> dict[int, Explanation]:
    """Why each record counts toward renewal or not: the rule that applied when the credit
    engine evaluated it, else what its status says."""
    reasons: dict[str, str] = dict(compliance.withheld) if compliance else {}
    if compliance and compliance.result:
        reasons.update({o.record_id: o.reason for o in compliance.result.outcomes})
    explained: dict[int, Explanation] = {}
    for record in records:
        reason = reasons.get(str(record.id))
        if record.status == RecordStatus.REJECTED:
            why = record.status_reason or "no reason given"
            explained[record.id] = Explanation(False, f"Does not count: rejected ({why}).")
        elif reason in _BY_REASON:
            counts, text = _BY_REASON[reason]
            explained[record.id] = Explanation(counts, text)
        else:
            explained[record.id] = _BY_STATUS[record.status]
    return explained


async def reverify_badges(*, settings: Settings, badges: list[Badge]) -> dict[int, BadgeCheck]:
    """Verify each badge again, live (through the guarded fetcher), keyed by badge id."""
    policy = FetchPolicy.from_settings(settings)
    reports = await asyncio.gather(*(verify_again(badge, policy=policy) for badge in badges))
    return {
        badge.id: BadgeCheck(
            valid=report.valid,
            checked_at=report.checked_at,
            problem=report.errors[0].message if report.errors else None,
        )
        for badge, report in zip(badges, reports, strict=True)
        if report is not None
    }


async def badges_for(*, session: AsyncSession, records: list[Record]) -> dict[int, Badge]:
    """The badge behind each badge record, keyed by record id."""
    ids = [r.id for r in records]
    if not ids:
        return {}
    found = await session.scalars(select(Badge).where(Badge.record_id.in_(ids)))
    return {b.record_id: b for b in found if b.record_id is not None}
