"""Teachers, the wallet each owns, and the records of learning in it."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ler_plugin.db import Base, str_enum, utcnow


class RecordKind(enum.StrEnum):
    PD_HOURS = "pd_hours"
    CEU = "ceu"
    BADGE = "badge"
    MICRO_CREDENTIAL = "micro_credential"


class RecordSource(enum.StrEnum):
    LMS_AWARD = "lms_award"
    PROVIDER = "provider"
    SELF_REPORT = "self_report"
    IMPORT = "import"


class RecordStatus(enum.StrEnum):
    SELF_REPORTED = "self_reported"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    VERIFIED = "verified"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ReviewState(enum.StrEnum):
    """Whether a person should look at a record's credit before trusting it (a badge whose hours
    were read from its text, or converted from another unit, says why in `review_note`)."""

    NONE = "none"
    NEEDED = "needed"


class Visibility(enum.StrEnum):
    PRIVATE = "private"
    DISTRICT = "district"
    PUBLIC = "public"


class Teacher(Base):
    """A person who teaches in a district. Everyone who launches the tool is one."""

    __tablename__ = "teacher"
    __table_args__ = (
        Index("ix_teacher_district_sourced_id", "district_id", "sourced_id", unique=True),
        Index("ix_teacher_district_staff_id", "district_id", "staff_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), index=True
    )
    # The district's own id for the person (OneRoster `sourcedId`, the LMS's
    # `lis_person_sourcedid`): how a roster row and an LMS account are known to be one teacher.
    sourced_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str]
    given_name: Mapped[str | None]
    family_name: Mapped[str | None]
    picture_url: Mapped[str | None] = mapped_column(String(1024))
    # Renewal cycles anchored on a birth month need only the month.
    birth_month: Mapped[int | None] = mapped_column(Integer)
    # The employee / staff number the district's HR files carry (OneRoster `identifier`).
    staff_id: Mapped[str | None] = mapped_column(String(64))
    # False once a full roster import no longer lists them: kept, wallet and all, never deleted.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    wallet: Mapped[Wallet] = relationship(back_populates="teacher", uselist=False)


class TeacherEmail(Base):
    """An email a teacher holds; verified ones (from the LMS) match badge recipients."""

    __tablename__ = "teacher_email"
    __table_args__ = (UniqueConstraint("district_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("teacher.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(32), default="lti")


class TeacherIdentity(Base):
    """How an LMS knows the teacher: the platform registration and the token's `sub`."""

    __tablename__ = "teacher_identity"
    __table_args__ = (UniqueConstraint("platform_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("teacher.id", ondelete="CASCADE"), index=True
    )
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(512))
    subject: Mapped[str] = mapped_column(String(255))
    last_launch_at: Mapped[dt.datetime | None]


class SchoolMembership(Base):
    __tablename__ = "school_membership"
    __table_args__ = (UniqueConstraint("teacher_id", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teacher.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"), index=True)
    primary: Mapped[bool] = mapped_column(Boolean, default=True)


class License(Base):
    """A state credential a teacher holds; its class and dates drive the renewal cycle."""

    __tablename__ = "license"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("teacher.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(2))
    credential_class: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(64))
    issued_on: Mapped[dt.date]
    expires_on: Mapped[dt.date | None]
    national_board: Mapped[bool] = mapped_column(Boolean, default=False)
    primary: Mapped[bool] = mapped_column(Boolean, default=True)
    # Ended by the district before it expired (surrendered, revoked): not held from that day on.
    ended_on: Mapped[dt.date | None]


class Wallet(Base):
    """The teacher's own store of records. One per teacher; the teacher decides what is shared."""

    __tablename__ = "wallet"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("teacher.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    teacher: Mapped[Teacher] = relationship(back_populates="wallet")


class Record(Base):
    """One piece of professional learning: hours, CEUs, a badge or a micro-credential."""

    __tablename__ = "record"
    __table_args__ = (
        Index("ix_record_wallet_completed", "wallet_id", "completed_on", "id"),
        Index("ix_record_district_completed", "district_id", "completed_on"),
        UniqueConstraint("wallet_id", "source_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallet.id", ondelete="CASCADE"))
    # Denormalised from the wallet's teacher: every district query filters on it.
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    kind: Mapped[RecordKind] = mapped_column(str_enum(RecordKind, "record_kind"))
    source: Mapped[RecordSource] = mapped_column(str_enum(RecordSource, "record_source"))
    status: Mapped[RecordStatus] = mapped_column(str_enum(RecordStatus, "record_status"))
    visibility: Mapped[Visibility] = mapped_column(
        str_enum(Visibility, "record_visibility"), default=Visibility.DISTRICT
    )
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))
    provider_name: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(64))
    skills: Mapped[list[str]] = mapped_column(default=list)
    started_on: Mapped[dt.date | None]
    completed_on: Mapped[dt.date]
    clock_hours: Mapped[Decimal | None]
    ceus: Mapped[Decimal | None]
    reflection: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    review: Mapped[ReviewState] = mapped_column(
        str_enum(ReviewState, "record_review"),
        default=ReviewState.NONE,
        server_default=ReviewState.NONE.value,
    )
    review_note: Mapped[str | None] = mapped_column(Text)
    # Where it came from, unique per wallet, so the same award or badge never lands twice.
    source_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Evidence(Base):
    """A link or an uploaded file that backs a record."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
