"""Credit rules: state and district rulesets as data, renewal cycles, unit conversion and
compliance. Pure computation over plain values; no database, no other ler_plugin domain."""

from ler_plugin.credit.categories import CATEGORIES, category_label
from ler_plugin.credit.cycles import Cycle
from ler_plugin.credit.engine import cycle_containing, evaluate
from ler_plugin.credit.errors import CreditError
from ler_plugin.credit.facts import Credential, CreditRecord, TeacherFacts
from ler_plugin.credit.results import CategoryResult, Compliance, RecordOutcome
from ler_plugin.credit.ruleset import (
    Ruleset,
    RuleVersion,
    load_ruleset,
    parse_ruleset,
    shipped_rulesets,
)
from ler_plugin.credit.units import convert

__all__ = [
    "CATEGORIES",
    "CategoryResult",
    "Compliance",
    "Credential",
    "CreditError",
    "CreditRecord",
    "Cycle",
    "RecordOutcome",
    "RuleVersion",
    "Ruleset",
    "TeacherFacts",
    "category_label",
    "convert",
    "cycle_containing",
    "evaluate",
    "load_ruleset",
    "parse_ruleset",
    "shipped_rulesets",
]
