"""What the reminders room stores: each reminder sent (so a window is reminded once) and who
asked for none."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, utcnow


class Reminder(Base):
    """One reminder written to a teacher: that `kind` (licence expiry, cycle end) falls on
    `due_on`, sent inside the window of `window_days` before it. Unique per teacher, kind, due day
    and window, so running `ler-plugin notify` again sends nothing new."""

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("teacher_id", "kind", "due_on", "window_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("district.id", ondelete="CASCADE"), index=True
    )
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teacher.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[dt.date]
    window_days: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReminderOptOut(Base):
    """A teacher who asked, on their wallet page, for no reminders by email."""

    __tablename__ = "reminder_opt_out"

    teacher_id: Mapped[int] = mapped_column(
        ForeignKey("teacher.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    opted_out_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
