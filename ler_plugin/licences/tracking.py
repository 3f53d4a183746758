"""When a teacher's licence expires and their renewal cycle ends, and how far off that is.

The cycle end is the credit engine's (`credit.cycle_containing`, or the evaluated cycle): the
same number the wallet's renewal progress and the district's compliance show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.districts.models import School
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import summary
from ler_plugin.rollups.compliance import TeacherCompliance
from ler_plugin.wallet.models import License, Teacher

LICENCE_EXPIRY = "licence_expiry"
CYCLE_END = "cycle_end"
# Days ahead of the date when a reminder goes out (one per window, the nearest that applies).
WINDOWS = {LICENCE_EXPIRY: (90, 30, 7), CYCLE_END: (180, 90, 30)}
SOON = 90  # the dashboard lists licences that expire within this many days


def class_label(credential_class: str) -> str:
    return credential_class.replace("_", " ").capitalize()


def licence_label(licence: License) -> str:
    held = licence.number or licence.state
    return f"{class_label(licence.credential_class).lower()} licence {held}"


def ends_on(licence: License) -> dt.date | None:
    """The last day the licence is held: its expiry, or the day the district ended it."""
    dates = [d for d in (licence.expires_on, licence.ended_on) if d is not None]
    return min(dates) if dates else None


def in_days(days: int) -> str:
    if days == 0:
        return "today"
    if days > 0:
        return f"in {days} day{'' if days == 1 else 's'}"
    return f"{-days} day{'' if days == -1 else 's'} ago"


@dataclass(frozen=True)
class Deadline:
    kind: str  # LICENCE_EXPIRY or CYCLE_END
    what: str  # the licence's label, or "Renewal cycle"
    due_on: dt.date
    days: int  # from today; negative once passed

    @property
    def when(self) -> str:
        """'in 45 days', 'today', '3 days ago'."""
        return in_days(self.days)

    @property
    def window(self) -> int | None:
        """The nearest reminder window this deadline is inside, None when outside all."""
        inside = [w for w in WINDOWS[self.kind] if 0 <= self.days <= w]
        return min(inside) if inside else None


def licence_deadlines(licences: Sequence[License], today: dt.date) -> list[Deadline]:
    """Each licence still held (not ended before today) that has an end, soonest first."""
    found = []
    for licence in licences:
        end = ends_on(licence)
        if (
            end is not None
            and licence.issued_on <= today
            and (licence.ended_on is None or licence.ended_on >= today)
        ):
            found.append(Deadline(LICENCE_EXPIRY, licence_label(licence), end, (end - today).days))
    return sorted(found, key=lambda d: d.due_on)


def cycle_deadline(standing: TeacherCompliance | None, today: dt.date) -> Deadline | None:
    """The end of the teacher's current renewal cycle, from the credit engine's evaluation."""
    result = standing.result if standing else None
    if result is None or result.required is None:
        return None
    end = result.cycle.end
    return Deadline(CYCLE_END, "Renewal cycle", end, (end - today).days)


async def teacher_licences(
    *, session: AsyncSession, principal: Principal, teacher_id: int
) -> list[License]:
    """A teacher's licences: to the teacher themself or their district's admins."""
    teacher = await session.get(Teacher, teacher_id)
    if teacher is None:
        return []
    if principal.teacher_id != teacher_id:
        principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(teacher.district_id)
    return list(
        await session.scalars(
            select(License)
            .where(License.teacher_id == teacher_id)
            .order_by(License.primary.desc(), License.issued_on.desc())
        )
    )


def school_name() -> Any:
    """The teacher's primary school's name, as SQL (the rollups' rule for a teacher's school)."""
    return select(School.name).where(School.id == summary.school_of(Teacher.id)).scalar_subquery()


@dataclass(frozen=True)
class Expiring:
    teacher: str
    staff_id: str | None
    school: str | None
    deadline: Deadline


async def expiring(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    today: dt.date,
    within: int = SOON,
    limit: int = 100,
) -> list[Expiring]:
    """Licences of the district's active teachers that end within `within` days, soonest first."""
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)
    school = school_name()
    last = today + dt.timedelta(days=within)
    rows = await session.execute(
        select(License, Teacher.display_name, Teacher.staff_id, school)
        .join(Teacher, Teacher.id == License.teacher_id)
        .where(
            Teacher.district_id == district_id,
            Teacher.active.is_(True),
            License.expires_on.between(today, last),
            License.ended_on.is_(None),
        )
        .order_by(License.expires_on, Teacher.display_name)
        .limit(limit)
    )
    return [
        Expiring(name, staff_id, school_name, deadline)
        for licence, name, staff_id, school_name in rows
        for deadline in licence_deadlines([licence], today)
    ]
