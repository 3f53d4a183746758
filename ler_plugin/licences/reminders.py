"""Reminders before a licence expires or a renewal cycle ends (`ler-plugin notify`, nightly).

One reminder per teacher, deadline and window (90, 30 and 7 days before a licence expires; 180,
90 and 30 before a cycle ends while hours remain): `reminder` rows are unique on those, so a
second run the same night, or the next night inside the same window, sends nothing new.
Teachers who opted out on their wallet page, inactive teachers and those without a verified
email get none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin import credit
from ler_plugin.audit import record_event
from ler_plugin.districts.models import District
from ler_plugin.errors import Forbidden
from ler_plugin.licences import tracking
from ler_plugin.licences.models import Reminder, ReminderOptOut
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import compliance
from ler_plugin.wallet.models import License, Teacher, TeacherEmail

BATCH = 500


@dataclass(frozen=True)
class Due:
    teacher_id: int
    name: str
    address: str
    deadline: tracking.Deadline
    window: int
    remaining: str | None = None  # what is left to earn, for a cycle end

    @property
    def subject(self) -> str:
        if self.deadline.kind == tracking.LICENCE_EXPIRY:
            return f"Your {self.deadline.what} expires {self.deadline.when}"
        return f"Your renewal cycle ends {self.deadline.when}"

    def body(self, district: str, wallet_url: str) -> str:
        day = f"{self.deadline.due_on:%B} {self.deadline.due_on.day}, {self.deadline.due_on.year}"
        if self.deadline.kind == tracking.LICENCE_EXPIRY:
            what = f"Your {self.deadline.what} expires on {day} ({self.deadline.when})."
        else:
            what = f"Your renewal cycle ends on {day} ({self.deadline.when})."
            if self.remaining:
                what += f" You still need {self.remaining}."
        return (
            f"Hello {self.name},\n\n{what}\n\n"
            f"Your learning wallet shows your progress and what counts: {wallet_url}\n\n"
            f"{district} sends these reminders {', '.join(map(str, tracking.WINDOWS[self.deadline.kind]))} "
            "days ahead. You can turn them off on your wallet page.\n"
        )


async def _district(session: AsyncSession, principal: Principal, district_id: int) -> District:
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)
    district = await session.get(District, district_id)
    assert district is not None
    return district


async def due(
    *, session: AsyncSession, principal: Principal, district_id: int, today: dt.date
) -> list[Due]:
    """Every reminder the district's teachers are due today and have not been sent."""
    district = await _district(session, principal, district_id)
    ruleset = await compliance.ruleset_for(session=session, district=district, on=today)
    sent = set(
        (
            await session.execute(
                select(
                    Reminder.teacher_id, Reminder.kind, Reminder.due_on, Reminder.window_days
                ).where(Reminder.district_id == district_id)
            )
        ).tuples()
    )
    address = (
        select(TeacherEmail.email)
        .where(TeacherEmail.teacher_id == Teacher.id, TeacherEmail.verified.is_(True))
        .order_by(TeacherEmail.id)
        .limit(1)
        .scalar_subquery()
    )
    opted_out = select(ReminderOptOut.teacher_id).where(ReminderOptOut.district_id == district_id)
    teachers = select(Teacher.id, Teacher.display_name, Teacher.birth_month, address).where(
        Teacher.district_id == district_id,
        Teacher.active.is_(True),
        Teacher.id.not_in(opted_out),
        address.is_not(None),
        Teacher.id.in_(select(License.teacher_id)),
    )
    found: list[Due] = []
    last = 0
    while True:
        batch = (
            await session.execute(
                teachers.where(Teacher.id > last).order_by(Teacher.id).limit(BATCH)
            )
        ).all()
        if not batch:
            return found
        last = batch[-1].id
        held: dict[int, list[License]] = {}
        for licence in await session.scalars(
            select(License).where(License.teacher_id.in_([t.id for t in batch]))
        ):
            held.setdefault(licence.teacher_id, []).append(licence)
        for teacher_id, name, birth_month, email in batch:
            deadlines = tracking.licence_deadlines(held.get(teacher_id, []), today)
            cycle = await _cycle(
                session,
                principal,
                ruleset,
                teacher_id,
                birth_month,
                held.get(teacher_id, []),
                today,
            )
            for deadline, remaining in [(d, None) for d in deadlines] + ([cycle] if cycle else []):
                window = deadline.window
                if window is None or (teacher_id, deadline.kind, deadline.due_on, window) in sent:
                    continue
                found.append(Due(teacher_id, name, email, deadline, window, remaining))


async def _cycle(
    session: AsyncSession,
    principal: Principal,
    ruleset: credit.Ruleset,
    teacher_id: int,
    birth_month: int | None,
    licences: list[License],
    today: dt.date,
) -> tuple[tracking.Deadline, str | None] | None:
    """The cycle end when it is inside a reminder window and hours remain (cheap first: the
    cycle from the credentials alone; the full evaluation only for those inside a window)."""
    facts = compliance.teacher_facts(birth_month, licences)
    try:
        cycle = credit.cycle_containing(ruleset, facts, today)
    except credit.CreditError:
        return None
    if not 0 <= (cycle.end - today).days <= max(tracking.WINDOWS[tracking.CYCLE_END]):
        return None
    standing = await compliance.teacher_compliance(
        session=session, principal=principal, teacher_id=teacher_id, on=today
    )
    deadline = tracking.cycle_deadline(standing, today)
    result = standing.result
    if deadline is None or result is None or result.status in ("complete", "exempt"):
        return None
    unit = result.unit.replace("_", " ") + ("s" if result.remaining != 1 else "")
    return deadline, f"{result.remaining.normalize():f} {unit}"


async def record_sent(
    *, session: AsyncSession, principal: Principal, district_id: int, item: Due, channel: str
) -> bool:
    """Note a reminder as sent, before it goes out; False when another run already has."""
    try:
        async with session.begin_nested():
            session.add(
                Reminder(
                    district_id=district_id,
                    teacher_id=item.teacher_id,
                    kind=item.deadline.kind,
                    due_on=item.deadline.due_on,
                    window_days=item.window,
                    address=item.address,
                    channel=channel,
                )
            )
            await session.flush()
    except IntegrityError:
        return False
    record_event(
        session,
        "licence:reminder:send",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="teacher",
        subject_id=item.teacher_id,
        kind=item.deadline.kind,
        due_on=item.deadline.due_on.isoformat(),
        window_days=item.window,
    )
    return True


# --- the teacher's choice ---------------------------------------------------------------------


async def opted_out(*, session: AsyncSession, teacher_id: int) -> bool:
    return (await session.get(ReminderOptOut, teacher_id)) is not None


async def set_reminders(*, session: AsyncSession, principal: Principal, wanted: bool) -> None:
    """The signed-in teacher turns their reminder emails on or off."""
    teacher_id = principal.teacher_id
    if teacher_id is None:
        raise Forbidden("forbidden", "only a teacher has reminders")
    teacher = await session.get(Teacher, teacher_id)
    assert teacher is not None
    found = await session.get(ReminderOptOut, teacher_id)
    if wanted == (found is None):
        return
    if wanted:
        assert found is not None
        await session.delete(found)
    else:
        session.add(ReminderOptOut(teacher_id=teacher_id, district_id=teacher.district_id))
    await session.flush()
    record_event(
        session,
        "licence:reminder:opt-in" if wanted else "licence:reminder:opt-out",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=teacher.district_id,
        subject_type="teacher",
        subject_id=teacher_id,
    )


async def sent_count(*, session: AsyncSession, district_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.district_id == district_id)
        )
        or 0
    )
