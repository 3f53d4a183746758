"""The wallet taken out: a CSV of every record and what a printed transcript shows. (Signed
Open Badges 3.0 / CLR 2.0 exports are the district's, in `ler_plugin.issuing`.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from ler_plugin.wallet.models import License, Record, RecordStatus

CSV_COLUMNS = (
    "title",
    "kind",
    "status",
    "status_reason",
    "completed_on",
    "started_on",
    "clock_hours",
    "ceus",
    "provider",
    "category",
    "skills",
    "visibility",
    "source",
)
# A cell starting with one of these is a formula to a spreadsheet: outside text must not run.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COUNTED = frozenset({RecordStatus.APPROVED, RecordStatus.VERIFIED})


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def wallet_csv(records: list[Record]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(
            _cell(v)
            for v in (
                r.title,
                r.kind.value,
                r.status.value,
                r.status_reason,
                r.completed_on.isoformat(),
                r.started_on.isoformat() if r.started_on else None,
                r.clock_hours,
                r.ceus,
                r.provider_name,
                r.category,
                "; ".join(r.skills or []),
                r.visibility.value,
                r.source.value,
            )
        )
    return out.getvalue()


@dataclass(frozen=True)
class Transcript:
    """A renewal-file summary: what counts (approved or verified), then what is still pending."""

    teacher_name: str
    district_name: str
    license: License | None
    generated_on: dt.date
    counted: list[Record]
    pending: list[Record]
    clock_hours: Decimal
    ceus: Decimal


def transcript(
    *,
    teacher_name: str,
    district_name: str,
    license: License | None,
    records: list[Record],
    today: dt.date | None = None,
) -> Transcript:
    counted = [r for r in records if r.status in COUNTED]
    pending = [
        r for r in records if r.status in (RecordStatus.SUBMITTED, RecordStatus.SELF_REPORTED)
    ]
    zero = Decimal("0.00")
    return Transcript(
        teacher_name=teacher_name,
        district_name=district_name,
        license=license,
        generated_on=today or dt.datetime.now(dt.UTC).date(),
        counted=counted,
        pending=pending,
        clock_hours=sum((r.clock_hours or zero for r in counted), zero),
        ceus=sum((r.ceus or zero for r in counted), zero),
    )
