"""The summary table rollups read instead of raw records.

One cell sums a teacher's shared records of one month with the same category, provider, kind,
source and status. It is kept equal to the records in the same transaction as every record change
(see `ler_plugin.rollups.summary`), so a district rollup reads cells and never scans records.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base

# Sums of many records: wider than one record's quantity.
Total = Numeric(14, 2)


class RollupCell(Base):
    __tablename__ = "rollup_cell"
    __table_args__ = (
        UniqueConstraint(
            "teacher_id",
            "month",
            "category",
            "provider",
            "kind",
            "source",
            "status",
            name="uq_rollup_cell_key",
        ),
        # Month-grouped rollups read this index alone on PostgreSQL (keys presorted for the
        # distinct-teacher count, sums included): 4,474 -> 1,024 ms for month x category over a
        # 10M-record district. SQLite ignores INCLUDE.
        Index(
            "ix_rollup_cell_district_month",
            "district_id",
            "month",
            "category",
            "teacher_id",
            postgresql_include=["status", "records", "clock_hours", "ceus", "hours_equivalent"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teacher.id", ondelete="CASCADE"))
    # The teacher's primary school when the cell was written (0: none); see summary.rebuild_teacher.
    school_id: Mapped[int] = mapped_column(Integer)
    # Periods as integers so both databases group them alike: 202603, 20261 (Q1), 2025 (2025-26).
    month: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    school_year: Mapped[int] = mapped_column(Integer)
    # '' when the record has none: part of the unique key, so never NULL.
    category: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    records: Mapped[int] = mapped_column(Integer)
    clock_hours: Mapped[Decimal] = mapped_column(Total)
    ceus: Mapped[Decimal] = mapped_column(Total)
    hours_equivalent: Mapped[Decimal] = mapped_column(Total)


class RollupTeacherYear(Base):
    """A teacher's live shared credit per school year and category (statuses rejected, revoked and
    expired left out): few rows per teacher, so district rollups by school, category, teacher and
    school year over whole school years read a fraction of what the month cells hold."""

    __tablename__ = "rollup_teacher_year"
    __table_args__ = (
        UniqueConstraint(
            "teacher_id", "school_year", "category", name="uq_rollup_teacher_year_key"
        ),
        Index("ix_rollup_teacher_year_district_year", "district_id", "school_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teacher.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(Integer)
    school_year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    clock_hours: Mapped[Decimal] = mapped_column(Total)
    ceus: Mapped[Decimal] = mapped_column(Total)
    hours_equivalent: Mapped[Decimal] = mapped_column(Total)


class RollupSchoolSpan(Base):
    """District-level rows small enough for instant rollups by school, category and school year.

    A row with first_year == last_year holds the sums of that school year (live shared credit of
    the school's teachers in the category); every row holds how many distinct teachers of the
    school have credit in the category (category '*': in any) in some school year of the span.
    Distinct counts do not add up across years, so each span of up to MAX_SPAN years keeps its own.
    """

    __tablename__ = "rollup_school_span"
    __table_args__ = (
        UniqueConstraint(
            "district_id",
            "first_year",
            "last_year",
            "school_id",
            "category",
            name="uq_rollup_school_span_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    teachers: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(Integer)
    clock_hours: Mapped[Decimal] = mapped_column(Total)
    ceus: Mapped[Decimal] = mapped_column(Total)
    hours_equivalent: Mapped[Decimal] = mapped_column(Total)


class ComplianceStatus(Base):
    """Each teacher's compliance status as last evaluated, so district counts and status lists are
    one indexed query instead of evaluating every teacher (212 s for 77,000 teachers measured).

    A row is current when it was evaluated for the date asked, under the ruleset version in force
    (`ruleset`), and nothing changed since (`evaluated_changes == changes`). Every change to a
    teacher's records, licences, schools or facts bumps `changes` in the same transaction
    (`summary`), creating the row if need be, so an evaluation racing a change never passes for
    current; `compliance.refresh` evaluates what is not current.
    """

    __tablename__ = "compliance_status"
    __table_args__ = (Index("ix_compliance_status_district_status", "district_id", "status"),)

    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("teacher.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32), default="")
    evaluated_on: Mapped[dt.date | None]
    ruleset: Mapped[str] = mapped_column(String(128), default="")
    changes: Mapped[int] = mapped_column(Integer, default=0)
    evaluated_changes: Mapped[int] = mapped_column(Integer, default=-1)
