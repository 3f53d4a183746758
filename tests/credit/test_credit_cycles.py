"""Renewal cycles per state, at their edges: birth months, fiscal years, leap days."""

from datetime import date, timedelta

import pytest
from credit_builders import holding
from hypothesis import given
from hypothesis import strategies as st

from ler_plugin.credit import CreditError, cycle_containing, load_ruleset
from ler_plugin.credit.cycles import add_years, cycle_at, cycle_index
from ler_plugin.credit.ruleset import CycleRule, Source

TX = load_ruleset("tx")
NY = load_ruleset("ny")
IL = load_ruleset("il")
FL = load_ruleset("fl")
PA = load_ruleset("pa")
GENERIC = load_ruleset("generic")


def test_texas_renews_five_years_after_the_next_birth_month():
    # TEA's own example: born in March, issued December 1999 -> renewal March 2005.
    rule = TX.cycle
    first = cycle_at(rule, date(1999, 12, 10), 3, 0)
    assert (first.start, first.end) == (date(1999, 12, 10), date(2005, 3, 31))
    second = cycle_at(rule, date(1999, 12, 10), 3, 1)
    assert (second.start, second.end) == (date(2005, 4, 1), date(2010, 3, 31))


def test_texas_cycle_boundary_days_belong_to_one_cycle_each():
    teacher = holding("classroom_teacher", date(2019, 12, 10), birth_month=3)
    assert cycle_containing(TX, teacher, date(2025, 3, 31)).index == 0
    assert cycle_containing(TX, teacher, date(2025, 4, 1)).index == 1
    assert cycle_containing(TX, teacher, date(2019, 12, 10)).index == 0


def test_february_birth_month_ends_on_feb_29_in_leap_years():
    leap = cycle_at(TX.cycle, date(2022, 5, 10), 2, 0)
    assert leap.end == date(2028, 2, 29)
    common = cycle_at(TX.cycle, date(2023, 5, 10), 2, 0)
    assert common.end == date(2029, 2, 28)
    assert cycle_at(TX.cycle, date(2023, 5, 10), 2, 1).start == date(2029, 3, 1)


def test_teacher_born_on_feb_29_uses_the_month_only():
    from ler_plugin.credit import Credential, TeacherFacts

    teacher = TeacherFacts(
        credentials=(Credential("classroom_teacher", date(2022, 5, 10)),),
        birth_date=date(1988, 2, 29),
    )
    assert cycle_containing(TX, teacher, date(2028, 2, 29)).end == date(2028, 2, 29)
    assert cycle_containing(TX, teacher, date(2028, 3, 1)).index == 1


def test_december_birth_month_rolls_into_the_new_year():
    cycle = cycle_at(TX.cycle, date(2020, 12, 31), 12, 0)
    assert cycle.end == date(2025, 12, 31)
    assert cycle_at(TX.cycle, date(2020, 12, 31), 12, 1).start == date(2026, 1, 1)


def test_new_york_re_registers_in_the_fifth_succeeding_birthday_month():
    # Issued September 2017, born March: birthday months March 2018 (1st) ... March 2022 (5th).
    cycle = cycle_at(NY.cycle, date(2017, 9, 15), 3, 0)
    assert cycle.end == date(2022, 3, 31)
    assert cycle_at(NY.cycle, date(2017, 9, 15), 3, 1).end == date(2027, 3, 31)


def test_illinois_cycle_runs_to_june_30_following_five_years():
    cycle = cycle_at(IL.cycle, date(2020, 10, 1), None, 0)
    assert (cycle.start, cycle.end) == (date(2020, 10, 1), date(2026, 6, 30))
    nxt = cycle_at(IL.cycle, date(2020, 10, 1), None, 1)
    assert (nxt.start, nxt.end) == (date(2026, 7, 1), date(2031, 6, 30))
    teacher = holding("teaching", date(2020, 10, 1))
    assert cycle_containing(IL, teacher, date(2026, 6, 30)).index == 0
    assert cycle_containing(IL, teacher, date(2026, 7, 1)).index == 1
    assert cycle_containing(IL, teacher, date(2031, 7, 1)).index == 2


def test_florida_validity_is_five_school_fiscal_years():
    cycle = cycle_at(FL.cycle, date(2020, 10, 15), None, 0)
    assert cycle.end == date(2025, 6, 30)
    assert cycle_at(FL.cycle, date(2020, 7, 1), None, 0).end == date(2025, 6, 30)
    assert cycle_at(FL.cycle, date(2020, 6, 30), None, 0).end == date(2024, 6, 30)


def test_pennsylvania_periods_run_from_the_issue_date_and_feb_29_lands_on_feb_28():
    first = cycle_at(PA.cycle, date(2016, 2, 29), None, 0)
    assert (first.start, first.end) == (date(2016, 2, 29), date(2021, 2, 27))
    assert cycle_at(PA.cycle, date(2016, 2, 29), None, 1).start == date(2021, 2, 28)
    # Twenty years on is a leap year again: the anniversary is Feb 29 once more.
    assert cycle_at(PA.cycle, date(2016, 2, 29), None, 4).start == date(2036, 2, 29)
    assert cycle_index(PA.cycle, date(2016, 2, 29), None, date(2036, 2, 28)) == 3


def test_generic_district_cycle_is_each_school_year():
    cycle = cycle_at(GENERIC.cycle, date(2024, 10, 1), None, 0)
    assert (cycle.start, cycle.end) == (date(2024, 10, 1), date(2025, 6, 30))
    assert cycle_at(GENERIC.cycle, date(2024, 10, 1), None, 1).end == date(2026, 6, 30)


def test_a_date_before_the_credential_has_no_cycle():
    teacher = holding("teaching", date(2020, 10, 1))
    with pytest.raises(CreditError) as caught:
        cycle_containing(IL, teacher, date(2020, 9, 30), credential=teacher.credentials[0])
    assert caught.value.code == "before_credential"


def test_birth_month_cycles_need_a_birth_month():
    teacher = holding("classroom_teacher", date(2020, 1, 1))
    with pytest.raises(CreditError) as caught:
        cycle_containing(TX, teacher, date(2021, 1, 1))
    assert caught.value.code == "birth_month_required"


def test_add_years_keeps_feb_29_only_in_leap_years():
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


SOURCE = (Source("test", "https://example.org", "test"),)
rules = st.builds(
    lambda anchor, length, first, start: CycleRule(
        anchor=anchor,
        length_years=length,
        first_cycle_years=length if anchor == "credential_issue" else first,
        start_month=start[0],
        start_day=start[1],
        sources=SOURCE,
    ),
    st.sampled_from(["credential_issue", "birth_month", "fixed"]),
    st.integers(1, 6),
    st.integers(0, 6),
    st.tuples(st.integers(1, 12), st.integers(1, 28)),
)


@given(
    rule=rules,
    issued=st.dates(date(1990, 1, 1), date(2030, 12, 31)),
    birth_month=st.integers(1, 12),
    offset=st.integers(0, 365 * 30),
)
def test_every_day_from_issue_lies_in_exactly_the_cycle_found(rule, issued, birth_month, offset):
    day = issued + timedelta(days=offset)
    index = cycle_index(rule, issued, birth_month, day)
    cycle = cycle_at(rule, issued, birth_month, index)
    assert cycle.start <= day <= cycle.end
    assert cycle_at(rule, issued, birth_month, index + 1).start == cycle.end + timedelta(days=1)
    if index > 0:
        previous = cycle_at(rule, issued, birth_month, index - 1)
        assert previous.end + timedelta(days=1) == cycle.start
