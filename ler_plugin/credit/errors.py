"""Failures of the credit engine: a bad ruleset file, or inputs the rules cannot be applied to."""

from ler_plugin.errors import LerError


class CreditError(LerError):
    """A ruleset or an input the rules cannot use; ``code`` is stable, ``field`` names the culprit.

    Codes: ``ruleset_not_found``, ``ruleset_unreadable``, ``invalid_ruleset`` (``field`` is the
    path inside the file, e.g. ``versions[0].credential_classes.teacher.required``),
    ``invalid_input`` (``field`` names the dataclass field), ``unknown_credential_class``,
    ``no_credential``, ``before_credential``, ``several_primary_credentials``,
    ``birth_month_required``, ``no_version_in_force``, ``duplicate_record``, ``unknown_unit``.
    """

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message)
        self.field = field
