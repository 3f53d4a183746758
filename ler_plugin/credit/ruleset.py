"""Rulesets as data: the shape of a ruleset file, and the loader that checks every field.

A ruleset is one jurisdiction's (or one district's) renewal rules: the unit credit is counted
in, how renewal cycles are laid out, and a list of versions, each in force from a date. The
loader refuses anything it does not understand (unknown keys included, so a typo cannot
silently switch a rule off) and names the offending field in the error.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from ler_plugin.credit.categories import CATEGORIES
from ler_plugin.credit.errors import CreditError

FORMAT = 1
RECORD_UNITS = ("clock_hour", "ceu", "semester_hour")
ANCHORS = ("credential_issue", "birth_month", "fixed")
COMBINE = ("max", "sum", "primary")
CHOSEN_BY = ("cycle_start", "cycle_end")
ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
}
DEFAULT_COUNTING_STATUSES = ("verified", "approved")
DEFAULT_DISTRICT_SOURCES = ("lms_award",)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a rule comes from: a citation people can look up and what it says."""

    cite: str
    url: str
    says: str


@dataclass(frozen=True, slots=True)
class CycleRule:
    """How renewal cycles are laid out from a credential's issue date.

    ``credential_issue``: back-to-back ``length_years`` periods from the issue date.
    ``birth_month`` / ``fixed``: cycles end on the last day of the birth month, or the day
    before ``start_month``/``start_day``; the first cycle runs from the issue date to the
    anchored end ``first_cycle_years`` years after the first one on or after the issue date.
    """

    anchor: str
    length_years: int
    first_cycle_years: int
    start_month: int
    start_day: int
    sources: tuple[Source, ...]


@dataclass(frozen=True, slots=True)
class NationalBoardRule:
    """What National Board certification does for a credential class: a new requirement,
    an exemption, or credit that counts as hours earned."""

    required: Decimal | None
    exempt: bool
    credit: Decimal | None


@dataclass(frozen=True, slots=True)
class ClassRule:
    key: str
    label: str
    required: Decimal | None
    exempt: bool
    national_board: NationalBoardRule | None


@dataclass(frozen=True, slots=True)
class CategoryLimit:
    """A minimum or a cap on one category: a percent of the requirement or a fixed amount,
    optionally only for some credential classes."""

    category: str
    percent: Decimal | None
    amount: Decimal | None
    credential_classes: frozenset[str] | None

    def limit(self, required: Decimal) -> Decimal:
        if self.amount is not None:
            return self.amount
        assert self.percent is not None
        return required * self.percent / 100


@dataclass(frozen=True, slots=True)
class CarryOver:
    """Credit beyond the requirement, earned in a window at the end of a cycle, that may move
    to the next cycle: from a month-day of the cycle's last year, or in its last N years."""

    from_month: int | None
    from_day: int | None
    last_years: int | None
    max: Decimal | None


@dataclass(frozen=True, slots=True)
class Rounding:
    increment: Decimal
    mode: str

    def apply(self, value: Decimal) -> Decimal:
        if self.increment == 1:
            return value.quantize(self.increment, rounding=self.mode)
        steps = (value / self.increment).quantize(Decimal(1), rounding=self.mode)
        return steps * self.increment


@dataclass(frozen=True, slots=True)
class RuleVersion:
    effective_from: date
    sources: tuple[Source, ...]
    combine: str
    credential_classes: Mapping[str, ClassRule]
    units: Mapping[str, Decimal]
    rounding: Rounding
    category_names: Mapping[str, str]
    category_minimums: tuple[CategoryLimit, ...]
    category_caps: tuple[CategoryLimit, ...]
    carry_over: CarryOver | None
    approved_providers: frozenset[str] | None
    counting_statuses: frozenset[str]
    district_sources: frozenset[str]


@dataclass(frozen=True, slots=True)
class Ruleset:
    id: str
    name: str
    jurisdiction: str
    unit: str
    cycle: CycleRule
    version_chosen_by: str
    versions: tuple[RuleVersion, ...]
    notes: str

    def version_on(self, day: date) -> RuleVersion:
        """The version in force on ``day``: the latest one effective on or before it."""
        chosen = None
        for version in self.versions:
            if version.effective_from <= day:
                chosen = version
        if chosen is None:
            raise CreditError(
                "no_version_in_force",
                f"ruleset {self.id!r} has no version in force on {day.isoformat()} "
                f"(the first is effective {self.versions[0].effective_from.isoformat()})",
            )
        return chosen

    @property
    def has_carry_over(self) -> bool:
        return any(version.carry_over is not None for version in self.versions)


def shipped_rulesets() -> tuple[str, ...]:
    """Names of the rulesets shipped with the package (``tx``, ``ny``, ..., ``generic``)."""
    folder = resources.files("ler_plugin.credit").joinpath("rulesets")
    return tuple(
        sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".json"))
    )


def load_ruleset(name_or_path: str | Path) -> Ruleset:
    """Load a shipped ruleset by name (``"tx"``) or an operator's file by path, and check it."""
    if isinstance(name_or_path, str) and name_or_path in shipped_rulesets():
        resource = resources.files("ler_plugin.credit").joinpath(f"rulesets/{name_or_path}.json")
        text = resource.read_text(encoding="utf-8")
        origin = f"{name_or_path}.json"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise CreditError(
                "ruleset_not_found",
                f"no shipped ruleset named {str(name_or_path)!r} and no file at that path "
                f"(shipped: {', '.join(shipped_rulesets())})",
            )
        text = path.read_text(encoding="utf-8")
        origin = path.name
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CreditError(
            "ruleset_unreadable",
            f"{origin}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from None
    return parse_ruleset(data, origin=origin)


def parse_ruleset(data: Any, *, origin: str = "ruleset") -> Ruleset:
    """Check a ruleset given as parsed JSON (a dict) and build it; ``origin`` prefixes errors."""
    return _Reader(origin).ruleset(data)


class _Reader:
    """Walks the parsed file keeping the path of the field being read, for error messages."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, message: str) -> CreditError:
        return CreditError("invalid_ruleset", f"{self.origin}: {path}: {message}", field=path)

    def obj(self, value: Any, path: str, required: set[str], optional: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {type(value).__name__}")
        missing = sorted(required - value.keys())
        if missing:
            raise self.fail(f"{path}.{missing[0]}", "is required")
        unknown = sorted(value.keys() - required - optional)
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            raise self.fail(f"{path}.{unknown[0]}", f"is not a known field (known: {allowed})")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "expected a non-empty string")
        return value

    def choice(self, value: Any, path: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(path, f"expected one of {', '.join(allowed)}, got {value!r}")
        return str(value)

    def integer(self, value: Any, path: str, low: int, high: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(path, f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {value!r}")
        return value

    def quantity(self, value: Any, path: str, *, positive: bool = False) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise self.fail(path, f'expected a number such as "150" or 150, got {value!r}')
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.fail(path, f"expected a number, got {value!r}") from None
        if not number.is_finite() or number < 0 or (positive and number == 0):
            limit = "greater than zero" if positive else "zero or more"
            raise self.fail(path, f"must be {limit}, got {value!r}")
        return number

    def day(self, value: Any, path: str) -> date:
        try:
            return date.fromisoformat(self.text(value, path))
        except ValueError:
            raise self.fail(path, f"expected a date as YYYY-MM-DD, got {value!r}") from None

    def month_day(self, value: Any, path: str) -> tuple[int, int]:
        text = self.text(value, path)
        try:
            month, day = (int(part) for part in text.split("-"))
            date(2001, month, day)
        except ValueError:
            raise self.fail(path, f"expected MM-DD, got {value!r}") from None
        if day > 28:
            raise self.fail(path, "day must be 28 or less so the date exists every year")
        return month, day

    def category(self, value: Any, path: str) -> str:
        return self.choice(value, path, tuple(CATEGORIES))

    def sources(self, value: Any, path: str) -> tuple[Source, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, "expected a non-empty list of {cite, url, says}")
        found = []
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            entry = self.obj(item, where, {"cite", "url", "says"}, set())
            url = self.text(entry["url"], f"{where}.url")
            if not url.startswith("https://"):
                raise self.fail(f"{where}.url", "expected an https:// address")
            found.append(
                Source(self.text(entry["cite"], f"{where}.cite"), url, entry["says"].strip())
            )
        return tuple(found)

    def ruleset(self, data: Any) -> Ruleset:
        top = self.obj(
            data,
            "$",
            {"format", "id", "name", "jurisdiction", "unit", "cycle", "versions"},
            {"version_chosen_by", "notes"},
        )
        if top["format"] != FORMAT:
            raise self.fail("format", f"this engine reads format {FORMAT}, got {top['format']!r}")
        unit = self.text(top["unit"], "unit")
        raw_versions = top["versions"]
        if not isinstance(raw_versions, list) or not raw_versions:
            raise self.fail("versions", "expected a non-empty list")
        versions = tuple(
            self.version(item, f"versions[{index}]", unit)
            for index, item in enumerate(raw_versions)
        )
        for index in range(1, len(versions)):
            if versions[index].effective_from <= versions[index - 1].effective_from:
                raise self.fail(
                    f"versions[{index}].effective_from",
                    "versions must be listed oldest first with distinct dates",
                )
        notes = top.get("notes", "")
        if not isinstance(notes, str):
            raise self.fail("notes", "expected a string")
        return Ruleset(
            id=self.text(top["id"], "id"),
            name=self.text(top["name"], "name"),
            jurisdiction=self.text(top["jurisdiction"], "jurisdiction"),
            unit=unit,
            cycle=self.cycle(top["cycle"], "cycle"),
            version_chosen_by=self.choice(
                top.get("version_chosen_by", "cycle_end"), "version_chosen_by", CHOSEN_BY
            ),
            versions=versions,
            notes=notes,
        )

    def cycle(self, value: Any, path: str) -> CycleRule:
        entry = self.obj(
            value,
            path,
            {"anchor", "length_years", "sources"},
            {"first_cycle_years", "start_month_day"},
        )
        anchor = self.choice(entry["anchor"], f"{path}.anchor", ANCHORS)
        start_month, start_day = 1, 1
        if anchor == "fixed":
            if "start_month_day" not in entry:
                raise self.fail(f"{path}.start_month_day", "is required when anchor is fixed")
            start_month, start_day = self.month_day(
                entry["start_month_day"], f"{path}.start_month_day"
            )
        elif "start_month_day" in entry:
            raise self.fail(f"{path}.start_month_day", "only applies when anchor is fixed")
        length = self.integer(entry["length_years"], f"{path}.length_years", 1, 20)
        first = length
        if "first_cycle_years" in entry:
            if anchor == "credential_issue":
                raise self.fail(
                    f"{path}.first_cycle_years", "only applies to birth_month and fixed anchors"
                )
            first = self.integer(entry["first_cycle_years"], f"{path}.first_cycle_years", 0, 20)
        return CycleRule(
            anchor=anchor,
            length_years=length,
            first_cycle_years=first,
            start_month=start_month,
            start_day=start_day,
            sources=self.sources(entry["sources"], f"{path}.sources"),
        )

    def version(self, value: Any, path: str, unit: str) -> RuleVersion:
        entry = self.obj(
            value,
            path,
            {"effective_from", "sources", "credential_classes", "units", "rounding"},
            {
                "combine",
                "categories",
                "category_minimums",
                "category_caps",
                "carry_over",
                "approved_providers",
                "counting_statuses",
                "district_sources",
            },
        )
        classes = self.classes(entry["credential_classes"], f"{path}.credential_classes")
        minimums = self.limits(entry.get("category_minimums", []), f"{path}.category_minimums")
        caps = self.limits(entry.get("category_caps", []), f"{path}.category_caps")
        for kind, limits in (("category_minimums", minimums), ("category_caps", caps)):
            for index, limit in enumerate(limits):
                for key in sorted(limit.credential_classes or ()):
                    if key not in classes:
                        raise self.fail(
                            f"{path}.{kind}[{index}].credential_classes",
                            f"{key!r} is not one of this version's credential_classes",
                        )
        capped = [limit.category for limit in caps]
        if len(set(capped)) != len(capped):
            raise self.fail(f"{path}.category_caps", "a category may have only one cap")
        providers = entry.get("approved_providers")
        return RuleVersion(
            effective_from=self.day(entry["effective_from"], f"{path}.effective_from"),
            sources=self.sources(entry["sources"], f"{path}.sources"),
            combine=self.choice(entry.get("combine", "max"), f"{path}.combine", COMBINE),
            credential_classes=classes,
            units=self.units(entry["units"], f"{path}.units", unit),
            rounding=self.rounding(entry["rounding"], f"{path}.rounding"),
            category_names=self.category_names(entry.get("categories", {}), f"{path}.categories"),
            category_minimums=minimums,
            category_caps=caps,
            carry_over=self.carry_over(entry.get("carry_over"), f"{path}.carry_over"),
            approved_providers=None
            if providers is None
            else frozenset(
                name.casefold() for name in self.names(providers, path, "approved_providers")
            ),
            counting_statuses=frozenset(
                self.names(
                    entry.get("counting_statuses", list(DEFAULT_COUNTING_STATUSES)),
                    path,
                    "counting_statuses",
                )
            ),
            district_sources=frozenset(
                self.names(
                    entry.get("district_sources", list(DEFAULT_DISTRICT_SOURCES)),
                    path,
                    "district_sources",
                )
            ),
        )

    def names(self, value: Any, path: str, key: str) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(f"{path}.{key}", "expected a list of strings")
        return [self.text(item, f"{path}.{key}[{index}]") for index, item in enumerate(value)]

    def classes(self, value: Any, path: str) -> dict[str, ClassRule]:
        if not isinstance(value, dict) or not value:
            raise self.fail(path, "expected an object with at least one credential class")
        found = {}
        for key, item in value.items():
            where = f"{path}.{key}"
            entry = self.obj(item, where, {"label"}, {"required", "exempt", "national_board"})
            exempt = self.boolean(entry.get("exempt", False), f"{where}.exempt")
            if exempt == ("required" in entry):
                raise self.fail(where, "give either required (a number) or exempt: true")
            found[key] = ClassRule(
                key=key,
                label=self.text(entry["label"], f"{where}.label"),
                required=None if exempt else self.quantity(entry["required"], f"{where}.required"),
                exempt=exempt,
                national_board=self.national_board(
                    entry.get("national_board"), f"{where}.national_board"
                ),
            )
        return found

    def national_board(self, value: Any, path: str) -> NationalBoardRule | None:
        if value is None:
            return None
        entry = self.obj(value, path, set(), {"required", "exempt", "credit"})
        if len(entry) != 1:
            raise self.fail(path, "give exactly one of required, exempt, credit")
        if "exempt" in entry and not self.boolean(entry["exempt"], f"{path}.exempt"):
            raise self.fail(f"{path}.exempt", "write exempt: true or leave national_board out")
        return NationalBoardRule(
            required=self.quantity(entry["required"], f"{path}.required")
            if "required" in entry
            else None,
            exempt="exempt" in entry,
            credit=self.quantity(entry["credit"], f"{path}.credit") if "credit" in entry else None,
        )

    def units(self, value: Any, path: str, unit: str) -> dict[str, Decimal]:
        if not isinstance(value, dict):
            raise self.fail(path, "expected an object of unit name -> how many units it is worth")
        for needed in (unit, *RECORD_UNITS):
            if needed not in value:
                raise self.fail(f"{path}.{needed}", "is required")
        found = {
            name: self.quantity(amount, f"{path}.{name}", positive=True)
            for name, amount in value.items()
        }
        if found[unit] != 1:
            raise self.fail(
                f"{path}.{unit}", f"the ruleset's own unit must be worth 1, got {found[unit]}"
            )
        return found

    def rounding(self, value: Any, path: str) -> Rounding:
        entry = self.obj(value, path, {"increment", "mode"}, set())
        mode = self.choice(entry["mode"], f"{path}.mode", tuple(ROUNDING_MODES))
        return Rounding(
            increment=self.quantity(entry["increment"], f"{path}.increment", positive=True),
            mode=ROUNDING_MODES[mode],
        )

    def category_names(self, value: Any, path: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise self.fail(path, "expected an object of state category name -> canonical category")
        return {
            self.text(name, path).casefold(): self.category(target, f"{path}.{name}")
            for name, target in value.items()
        }

    def limits(self, value: Any, path: str) -> tuple[CategoryLimit, ...]:
        if not isinstance(value, list):
            raise self.fail(path, "expected a list")
        found = []
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            entry = self.obj(item, where, {"category"}, {"percent", "amount", "credential_classes"})
            if ("percent" in entry) == ("amount" in entry):
                raise self.fail(where, "give exactly one of percent and amount")
            percent = None
            if "percent" in entry:
                percent = self.quantity(entry["percent"], f"{where}.percent")
                if percent > 100:
                    raise self.fail(f"{where}.percent", f"must be 100 or less, got {percent}")
            classes = entry.get("credential_classes")
            found.append(
                CategoryLimit(
                    category=self.category(entry["category"], f"{where}.category"),
                    percent=percent,
                    amount=self.quantity(entry["amount"], f"{where}.amount")
                    if "amount" in entry
                    else None,
                    credential_classes=None
                    if classes is None
                    else frozenset(self.names(classes, where, "credential_classes")),
                )
            )
        return tuple(found)

    def carry_over(self, value: Any, path: str) -> CarryOver | None:
        if value is None:
            return None
        entry = self.obj(value, path, {"max"}, {"from_month_day", "last_years"})
        if ("from_month_day" in entry) == ("last_years" in entry):
            raise self.fail(path, "give exactly one of from_month_day and last_years")
        from_month = from_day = last_years = None
        if "from_month_day" in entry:
            from_month, from_day = self.month_day(entry["from_month_day"], f"{path}.from_month_day")
        else:
            last_years = self.integer(entry["last_years"], f"{path}.last_years", 1, 20)
        return CarryOver(
            from_month=from_month,
            from_day=from_day,
            last_years=last_years,
            max=None if entry["max"] is None else self.quantity(entry["max"], f"{path}.max"),
        )
