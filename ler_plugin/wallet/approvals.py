"""The district's queue of self-reported learning waiting for approval.

A teacher's self-report arrives as `submitted`; a district admin of the same district approves
or rejects it with a reason the teacher reads on their wallet page. Nobody decides on their own
records.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.errors import Forbidden
from ler_plugin.principal import Principal, Role
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import Evidence, Record, RecordStatus, Teacher, Wallet

REASON_MAX = 2000
QUEUE_PAGE = 50


@dataclass(frozen=True)
class Submission:
    record: Record
    teacher_name: str
    evidence: list[Evidence]


def _district_of(principal: Principal) -> int:
    principal.require(Role.DISTRICT_ADMIN)
    if principal.district_id is None:
        raise Forbidden("forbidden", "the approval queue belongs to a district")
    return principal.district_id


async def pending_count(*, session: AsyncSession, principal: Principal) -> int:
    district_id = _district_of(principal)
    count = await session.scalar(
        select(func.count())
        .select_from(Record)
        .where(Record.district_id == district_id, Record.status == RecordStatus.SUBMITTED)
    )
    return count or 0


async def queue(
    *, session: AsyncSession, principal: Principal, limit: int = QUEUE_PAGE
) -> list[Submission]:
    """The oldest submissions of the principal's district first, with who sent them."""
    district_id = _district_of(principal)
    rows = (
        await session.execute(
            select(Record, Teacher.display_name)
            .join(Wallet, Wallet.id == Record.wallet_id)
            .join(Teacher, Teacher.id == Wallet.teacher_id)
            .where(Record.district_id == district_id, Record.status == RecordStatus.SUBMITTED)
            .order_by(Record.created_at, Record.id)
            .limit(limit)
        )
    ).all()
    evidence: dict[int, list[Evidence]] = {}
    if rows:
        for item in await session.scalars(
            select(Evidence)
            .where(Evidence.record_id.in_([r.id for r, _ in rows]))
            .order_by(Evidence.id)
        ):
            evidence.setdefault(item.record_id, []).append(item)
    return [
        Submission(record=r, teacher_name=name, evidence=evidence.get(r.id, [])) for r, name in rows
    ]


async def decide(
    *,
    session: AsyncSession,
    principal: Principal,
    record_id: int,
    approve: bool,
    reason: str | None,
) -> Record:
    district_id = _district_of(principal)
    record = await session.get(Record, record_id)
    if record is None or record.district_id != district_id:
        raise WalletError("record_not_found", "no such submission in your district", status=404)
    principal.require_district(record.district_id)
    wallet = await session.get(Wallet, record.wallet_id)
    if wallet is not None and principal.teacher_id == wallet.teacher_id:
        raise Forbidden("own_record", "another district admin must decide on your own learning")
    if record.status != RecordStatus.SUBMITTED:
        raise WalletError(
            "not_submitted", f"this record is {record.status.value}, not waiting for a decision"
        )
    reason = (reason or "").strip() or None
    if not approve and not reason:
        raise WalletError("reason_required", "say why it is rejected: the teacher reads it")
    if reason and len(reason) > REASON_MAX:
        raise WalletError("bad_reason", f"the reason is longer than {REASON_MAX} characters")
    record.status = RecordStatus.APPROVED if approve else RecordStatus.REJECTED
    record.status_reason = reason
    record_event(
        session,
        f"record:self_report:{'approve' if approve else 'reject'}",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=record.district_id,
        subject_type="record",
        subject_id=record.id,
        reason=reason,
    )
    await session.flush()
    return record
