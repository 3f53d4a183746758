"""Periods as the integers the summary cells store, and their labels.

month 202603 -> "2026-03"; quarter 20261 -> "2026-Q1"; school_year 2025 -> "2025-26" (July-June).
"""

from __future__ import annotations

import datetime as dt


def month_key(day: dt.date) -> int:
    return day.year * 100 + day.month


def quarter_key(day: dt.date) -> int:
    return day.year * 10 + (day.month + 2) // 3


def school_year_key(day: dt.date) -> int:
    return day.year if day.month >= 7 else day.year - 1


def label(dimension: str, key: int) -> str:
    if dimension == "month":
        return f"{key // 100:04d}-{key % 100:02d}"
    if dimension == "quarter":
        return f"{key // 10:04d}-Q{key % 10}"
    return f"{key:04d}-{(key + 1) % 100:02d}"


def first_of_month(day: dt.date) -> bool:
    return day.day == 1


def last_of_month(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1
