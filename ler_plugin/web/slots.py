"""Where other rooms plug into the wallet pages. Each slot has a plain answer that works today.

- `renewal_progress`: the credit engine's compliance for the teacher's current renewal cycle
  (required / earned / remaining / status). Today: None, and the page shows totals instead.
- `explain_records`: why each record counts toward renewal or not. Today: from the record's
  status; the credit engine should replace it with the rule that applied.
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
from ler_plugin.fetch import FetchPolicy
from ler_plugin.principal import Principal
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


async def renewal_progress(
    *, session: AsyncSession, principal: Principal, teacher: Teacher
) -> RenewalProgress | None:
    """SLOT (credit / rollups): the teacher's compliance for their current renewal cycle."""
    return None


_BY_STATUS = {
    RecordStatus.APPROVED: Explanation(True, "Counts: approved by your district."),
    RecordStatus.VERIFIED: Explanation(True, "Counts: verified with its issuer."),
    RecordStatus.SUBMITTED: Explanation(None, "Not yet: waiting for your district's approval."),
    RecordStatus.SELF_REPORTED: Explanation(None, "Not yet: not sent to your district."),
    RecordStatus.REVOKED: Explanation(False, "Does not count: the issuer revoked it."),
    RecordStatus.EXPIRED: Explanation(False, "Does not count: it has expired."),
}


async def explain_records(
    *, session: AsyncSession, principal: Principal, records: list[Record]
) -> dict[int, Explanation]:
    """SLOT (credit): why each record counts toward renewal or not."""
    explained: dict[int, Explanation] = {}
    for record in records:
        if record.status == RecordStatus.REJECTED:
            reason = record.status_reason or "no reason given"
            explained[record.id] = Explanation(False, f"Does not count: rejected ({reason}).")
        else:
            explained[record.id] = _BY_STATUS[record.status]
    return explained


async def reverify_badges(
    *, session: AsyncSession, settings: Settings, badges: list[Badge]
) -> dict[int, BadgeCheck]:
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
