"""Unit conversion with each state's factors and rounding."""

from datetime import date
from decimal import Decimal

import pytest

from ler_plugin.credit import CreditError, convert, load_ruleset


@pytest.mark.parametrize(
    ("state", "quantity", "unit", "to_unit", "expected"),
    [
        ("tx", "1", "ceu", "clock_hour", "10"),
        ("tx", "3", "semester_hour", "clock_hour", "45"),
        ("ny", "1", "semester_hour", "clock_hour", "15"),
        ("il", "1", "quarter_hour", "clock_hour", "10"),
        ("il", "2", "semester_hour", "clock_hour", "30"),
        ("pa", "6", "semester_hour", "clock_hour", "180"),
        ("fl", "6", "semester_hour", "inservice_point", "120"),
        ("fl", "1", "semester_hour", "inservice_point", "20"),
        ("fl", "7", "clock_hour", "inservice_point", "7"),
        ("fl", "40", "inservice_point", "semester_hour", "2"),
        ("tx", "45", "clock_hour", "semester_hour", "3"),
        ("tx", "10", "clock_hour", "semester_hour", "0.67"),
    ],
)
def test_state_conversions(state, quantity, unit, to_unit, expected):
    assert convert(Decimal(quantity), unit, to_unit, load_ruleset(state)) == Decimal(expected)


def test_florida_counts_whole_points_only():
    # 1.5 clock hours is one inservice point: partial points are dropped.
    assert convert(Decimal("1.5"), "clock_hour", "inservice_point", load_ruleset("fl")) == 1
    assert convert(Decimal("0.5"), "ceu", "inservice_point", load_ruleset("fl")) == 5


def test_generic_rounds_down_to_quarter_hours():
    generic = load_ruleset("generic")
    assert convert(Decimal("1.6"), "clock_hour", "clock_hour", generic) == Decimal("1.5")
    assert convert(Decimal("0.13"), "ceu", "clock_hour", generic) == Decimal("1.25")


def test_conversion_uses_the_version_in_force_on_a_date():
    pa = load_ruleset("pa")
    assert convert(Decimal(1), "semester_hour", "clock_hour", pa, on=date(2010, 1, 1)) == 30
    with pytest.raises(CreditError) as caught:
        convert(Decimal(1), "semester_hour", "clock_hour", pa, on=date(1999, 1, 1))
    assert caught.value.code == "no_version_in_force"


def test_unknown_unit_is_named():
    with pytest.raises(CreditError) as caught:
        convert(Decimal(1), "furlong", "clock_hour", load_ruleset("tx"))
    assert caught.value.code == "unknown_unit"
    assert "furlong" in caught.value.message
