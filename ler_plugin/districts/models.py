"""Districts (the tenant), their schools, and the credit rulesets they follow."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, utcnow


class District(Base):
    """A school district: the tenant. Every row that belongs to someone belongs to one district."""

    __tablename__ = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str]
    state: Mapped[str] = mapped_column(String(2))
    # Which credit ruleset applies (TX, NY, ..., or generic); None means the state's own.
    ruleset_key: Mapped[str | None] = mapped_column(String(64))
    # Hours per cycle for the generic ruleset, when the district sets its own requirement.
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class School(Base):
    __tablename__ = "school"
    __table_args__ = (
        UniqueConstraint("district_id", "name"),
        Index("ix_school_district_sourced_id", "district_id", "sourced_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str]
    code: Mapped[str | None] = mapped_column(String(64))
    # The district system's id for the school (OneRoster org sourcedId, Ed-Fi schoolId).
    sourced_id: Mapped[str | None] = mapped_column(String(255))


class RulesetVersion(Base):
    """A credit ruleset file as loaded by `ler-plugin rules load`; versions chosen by effective date."""

    __tablename__ = "ruleset_version"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[dt.date]
    body: Mapped[dict[str, Any]]
    loaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
