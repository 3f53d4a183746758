"""Renewal cycles: where each one starts and ends for a credential, and which contains a date.

Cycles are numbered from 0, the cycle that starts on the credential's issue date. They are
back to back: each starts the day after the previous one ends, so every day from the issue
date on belongs to exactly one cycle. Leap days: a year added to Feb 29 lands on Feb 28,
and a February birth month ends on Feb 29 in leap years.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from ler_plugin.credit.errors import CreditError
from ler_plugin.credit.ruleset import CarryOver, CycleRule

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Cycle:
    index: int
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def add_years(day: date, years: int) -> date:
    """The same month and day ``years`` later; Feb 29 becomes Feb 28 in a common year."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def _boundary(rule: CycleRule, birth_month: int | None, year: int) -> date:
    """The first day of a cycle that starts in ``year`` (the day after an anchored end)."""
    if rule.anchor == "fixed":
        return date(year, rule.start_month, rule.start_day)
    assert birth_month is not None
    # The day after the last day of the birth month.
    return date(year + 1, 1, 1) if birth_month == 12 else date(year, birth_month + 1, 1)


def _boundary_year(rule: CycleRule, birth_month: int | None, day: date) -> int:
    """The year of the latest boundary on or before ``day``."""
    return day.year if _boundary(rule, birth_month, day.year) <= day else day.year - 1


def _first_year(rule: CycleRule, birth_month: int | None, issued_on: date) -> int:
    """The boundary year that ends the first cycle.

    The first anchored end on or after the issue date is the day before the first boundary
    after it; the first cycle ends ``first_cycle_years`` anchored ends after that one.
    """
    _require_birth_month(rule, birth_month)
    return _boundary_year(rule, birth_month, issued_on) + 1 + rule.first_cycle_years


def cycle_at(rule: CycleRule, issued_on: date, birth_month: int | None, index: int) -> Cycle:
    """Cycle number ``index`` (0 = the one starting on the issue date) of a credential."""
    if rule.anchor == "credential_issue":
        start = add_years(issued_on, index * rule.length_years)
        end = add_years(issued_on, (index + 1) * rule.length_years) - ONE_DAY
        return Cycle(index, start, end)
    first_year = _first_year(rule, birth_month, issued_on)

    def boundary_of(number: int) -> date:
        return _boundary(rule, birth_month, first_year + (number - 1) * rule.length_years)

    start = issued_on if index == 0 else boundary_of(index)
    return Cycle(index, start, boundary_of(index + 1) - ONE_DAY)


def cycle_index(rule: CycleRule, issued_on: date, birth_month: int | None, day: date) -> int:
    """The number of the cycle that contains ``day`` (on or after the issue date)."""
    if day < issued_on:
        raise CreditError(
            "before_credential",
            f"{day.isoformat()} is before the credential was issued ({issued_on.isoformat()}); "
            "no renewal cycle contains it",
        )
    if rule.anchor == "credential_issue":
        index = (day.year - issued_on.year) // rule.length_years
        while add_years(issued_on, index * rule.length_years) > day:
            index -= 1
        while add_years(issued_on, (index + 1) * rule.length_years) <= day:
            index += 1
        return index
    first = cycle_at(rule, issued_on, birth_month, 0)
    if day <= first.end:
        return 0
    later_year = _boundary_year(rule, birth_month, day)
    return 1 + (later_year - _first_year(rule, birth_month, issued_on)) // rule.length_years


def carry_window_start(carry: CarryOver, cycle: Cycle) -> date:
    """The first day of the end-of-cycle window whose surplus credit may carry forward."""
    if carry.last_years is not None:
        start = add_years(cycle.end + ONE_DAY, -carry.last_years)
    else:
        assert carry.from_month is not None and carry.from_day is not None
        start = date(cycle.end.year, carry.from_month, carry.from_day)
        if start > cycle.end:
            start = date(cycle.end.year - 1, carry.from_month, carry.from_day)
    return max(start, cycle.start)


def _require_birth_month(rule: CycleRule, birth_month: int | None) -> None:
    if rule.anchor == "birth_month" and birth_month is None:
        raise CreditError(
            "birth_month_required",
            "this ruleset's cycles end in the teacher's birth month; give TeacherFacts "
            "birth_month or birth_date",
        )
