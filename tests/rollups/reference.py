"""The independent check: rollups computed in plain Python over the raw records."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.wallet.models import Record, SchoolMembership, Wallet

LIVE = {"self_reported", "submitted", "approved", "verified"}


@dataclass(frozen=True)
class Raw:
    teacher: int
    school: int
    category: str
    provider: str
    kind: str
    source: str
    status: str
    visibility: str
    completed_on: dt.date
    clock_hours: Decimal
    ceus: Decimal

    def key(self, dimension: str) -> int | str:
        day = self.completed_on
        if dimension == "month":
            return day.year * 100 + day.month
        if dimension == "quarter":
            return day.year * 10 + (day.month - 1) // 3 + 1
        if dimension == "school_year":
            return day.year if day.month >= 7 else day.year - 1
        return getattr(self, dimension)  # type: ignore[no-any-return]


async def raw_records(session: AsyncSession, district_id: int) -> list[Raw]:
    schools = dict(
        (await session.execute(select(SchoolMembership.teacher_id, SchoolMembership.school_id)))
        .tuples()
        .all()
    )
    rows = await session.execute(
        select(Record, Wallet.teacher_id)
        .join(Wallet, Wallet.id == Record.wallet_id)
        .where(Record.district_id == district_id)
    )
    return [
        Raw(
            teacher=teacher_id,
            school=schools.get(teacher_id, 0),
            category=r.category or "",
            provider=r.provider_name or "",
            kind=r.kind.value,
            source=r.source.value,
            status=r.status.value,
            visibility=r.visibility.value,
            completed_on=r.completed_on,
            clock_hours=r.clock_hours or Decimal(0),
            ceus=r.ceus or Decimal(0),
        )
        for r, teacher_id in rows.tuples()
    ]


def rollup(
    records: list[Raw],
    by: tuple[str, ...],
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    statuses: set[str] | None = None,
    categories: set[str] | None = None,
    schools: set[int] | None = None,
) -> dict[tuple[Any, ...], tuple[int, int, Decimal, Decimal, Decimal]]:
    groups: dict[tuple[Any, ...], list[Raw]] = defaultdict(list)
    for r in records:
        shared = r.visibility in ("district", "public") or r.source == "lms_award"
        if not shared or r.status not in (statuses or LIVE):
            continue
        if (date_from and r.completed_on < date_from) or (date_to and r.completed_on > date_to):
            continue
        if (categories and r.category not in categories) or (schools and r.school not in schools):
            continue
        groups[tuple(r.key(d) for d in by)].append(r)
    return {
        key: (
            len(rows),
            len({r.teacher for r in rows}),
            sum((r.clock_hours for r in rows), Decimal("0.00")),
            sum((r.ceus for r in rows), Decimal("0.00")),
            sum((r.clock_hours + 10 * r.ceus for r in rows), Decimal("0.00")),
        )
        for key, rows in groups.items()
    }
