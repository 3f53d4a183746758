"""Unit conversion between clock hours, CEUs, semester hours and state units (inservice points).

Each ruleset version says how many of its own units one of each other unit is worth (Texas:
a semester hour is 15 clock hours; Florida: a semester hour is 20 inservice points), and how
converted amounts are rounded.
"""

from datetime import date
from decimal import Decimal

from ler_plugin.credit.errors import CreditError
from ler_plugin.credit.ruleset import Ruleset, RuleVersion


def convert(
    quantity: Decimal, unit: str, to_unit: str, ruleset: Ruleset, *, on: date | None = None
) -> Decimal:
    """``quantity`` of ``unit`` expressed in ``to_unit`` under the version in force ``on``
    (the newest version when ``on`` is not given), rounded as that version says."""
    version = ruleset.version_on(on) if on is not None else ruleset.versions[-1]
    return convert_in(quantity, unit, to_unit, version)


def convert_in(quantity: Decimal, unit: str, to_unit: str, version: RuleVersion) -> Decimal:
    units = version.units
    for name in (unit, to_unit):
        if name not in units:
            raise CreditError(
                "unknown_unit",
                f"unit {name!r} is not defined by this ruleset (known: {', '.join(sorted(units))})",
            )
    if not isinstance(quantity, Decimal) or not quantity.is_finite():
        raise CreditError("invalid_input", "quantity must be a finite Decimal", field="quantity")
    return version.rounding.apply(quantity * units[unit] / units[to_unit])
