"""CSV streams of records, rollups and compliance: a header row, then one chunk of text per batch
read through a server-side cursor, so no export ever holds its whole result in memory."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.districts.models import School
from ler_plugin.principal import Principal
from ler_plugin.rollups import compliance, service, summary
from ler_plugin.rollups.errors import RollupError
from ler_plugin.rollups.service import RollupQuery
from ler_plugin.wallet.models import Record, Teacher, Wallet

CHUNK = 2000
RECORD_HEADER = (
    "record_id",
    "teacher_id",
    "teacher",
    "school",
    "kind",
    "source",
    "status",
    "category",
    "provider",
    "completed_on",
    "clock_hours",
    "ceus",
)
MEASURES = ("records", "teachers", "clock_hours", "ceus", "hours_equivalent")
COMPLIANCE_HEADER = (
    "teacher_id",
    "teacher",
    "school_id",
    "status",
    "required",
    "earned",
    "remaining",
    "cycle_start",
    "cycle_end",
)


def _text(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(["" if v is None else getattr(v, "value", v) for v in row] for row in rows)
    return buffer.getvalue()


async def records_csv(
    *, session: AsyncSession, principal: Principal, district_id: int, chunk: int = CHUNK
) -> AsyncIterator[str]:
    """Every record the district may see (shared or district-issued), in record order."""
    service.authorize(principal, district_id)
    query = (
        select(
            Record.id,
            Teacher.id,
            Teacher.display_name,
            School.name,
            Record.kind,
            Record.source,
            Record.status,
            Record.category,
            Record.provider_name,
            Record.completed_on,
            Record.clock_hours,
            Record.ceus,
        )
        .join(Wallet, Wallet.id == Record.wallet_id)
        .join(Teacher, Teacher.id == Wallet.teacher_id)
        .outerjoin(School, School.id == summary.school_of(Teacher.id))
        .where(Record.district_id == district_id, summary.shared_records())
        .order_by(Record.id)
    )
    yield _text([RECORD_HEADER])
    result = await session.stream(query.execution_options(yield_per=chunk))
    async for partition in result.partitions(chunk):
        yield _text(partition)


def rollup_header(by: Sequence[str]) -> list[str]:
    header = []
    for dimension in by:
        if dimension in ("school", "teacher"):
            header.append(f"{dimension}_id")
        header.append(dimension)
    return [*header, *MEASURES, "suppressed"]


def rollup_line(row: service.RollupRow, min_teachers: int) -> list[Any]:
    line: list[Any] = []
    for dimension, key, label in zip(row.by, row.key, row.labels, strict=True):
        if dimension in ("school", "teacher"):
            line.append(key)
        line.append(label)
    if min_teachers and row.suppressed(min_teachers):
        return [*line, *([""] * len(MEASURES)), "true"]
    return [
        *line,
        row.records,
        row.teachers,
        row.clock_hours,
        row.ceus,
        row.hours_equivalent,
        "false",
    ]


async def rollup_csv(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    query: RollupQuery,
    min_teachers: int = 0,
    chunk: int = CHUNK,
) -> AsyncIterator[str]:
    """The rollup's groups in key order; groups of fewer than `min_teachers` teachers masked."""
    service.authorize(principal, district_id)
    service.check_query(query)
    if not query.by:
        raise RollupError("bad_group_by", "name at least one dimension to group by")
    yield _text([rollup_header(query.by)])
    async for rows in service.stream(
        session=session, principal=principal, district_id=district_id, query=query, chunk=chunk
    ):
        yield _text(rollup_line(row, min_teachers) for row in rows)


def compliance_line(c: compliance.TeacherCompliance) -> list[Any]:
    r = c.result
    return [
        c.teacher_id,
        c.display_name,
        c.school_id,
        c.status,
        r.required if r else None,
        r.earned if r else None,
        r.remaining if r else None,
        r.cycle.start if r else None,
        r.cycle.end if r else None,
    ]


async def compliance_csv(
    *,
    session: AsyncSession,
    principal: Principal,
    district_id: int,
    on: dt.date | None = None,
    school_id: int | None = None,
    status: str | None = None,
) -> AsyncIterator[str]:
    stream = compliance.stream_district(
        session=session,
        principal=principal,
        district_id=district_id,
        on=on,
        school_id=school_id,
        status=status,
    )
    first = await anext(stream, None)  # checks the principal before the header goes out
    yield _text([COMPLIANCE_HEADER])
    if first is None:
        return
    yield _text(compliance_line(c) for c in first)
    async for batch in stream:
        yield _text(compliance_line(c) for c in batch)
