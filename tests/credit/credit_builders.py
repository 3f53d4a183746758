"""Small builders for credit tests: a record or a teacher in one line."""

from datetime import date
from decimal import Decimal

from ler_plugin.credit import Credential, CreditRecord, TeacherFacts


def record(
    id: str,
    on: date,
    hours: str | None = None,
    *,
    ceus: str | None = None,
    semester_hours: str | None = None,
    category: str | None = None,
    status: str = "verified",
    source: str = "provider",
    provider: str | None = "Region 4 ESC",
    kind: str = "workshop",
) -> CreditRecord:
    return CreditRecord(
        id=id,
        kind=kind,
        source=source,
        status=status,
        completed_on=on,
        clock_hours=None if hours is None else Decimal(hours),
        ceus=None if ceus is None else Decimal(ceus),
        semester_hours=None if semester_hours is None else Decimal(semester_hours),
        category=category,
        provider=provider,
    )


def teacher(*credentials: Credential, birth_month: int | None = None) -> TeacherFacts:
    return TeacherFacts(credentials=credentials, birth_month=birth_month)


def holding(
    credential_class: str,
    issued_on: date,
    *,
    national_board: bool = False,
    primary: bool = False,
    birth_month: int | None = None,
) -> TeacherFacts:
    return teacher(
        Credential(credential_class, issued_on, national_board=national_board, primary=primary),
        birth_month=birth_month,
    )
