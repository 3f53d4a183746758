"""`ler-plugin licences import` in a real process on a fresh database: licences land on the
roster's teachers (by staff id or email), a second import changes nothing, a changed file
changes only its changed rows, bad rows are refused with line and reason, and the licence
reaches the credit engine (the teacher's compliance is evaluated against it)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from ler_plugin.principal import Principal
from ler_plugin.rollups import compliance
from ler_plugin.roster.sources import SAMPLE
from ler_plugin.wallet.models import License, Teacher
from tests.roster.cli import Install
from tests.roster.test_oneroster_csv import assert_counts, import_bundle

pytestmark = pytest.mark.asyncio(loop_scope="session")

HEADER = "staff_id,email,licence_type,number,state,issued,expires,birth_month\n"
GOOD = (
    "E10001,,classroom_teacher,TX-1001,TX,2022-07-01,2027-06-30,4\n"
    ",ben.okafor@demo.k12.example,classroom_teacher,TX-1002,,2021-09-01,2026-12-31,9\n"
    "E20001,,administrator,,TX,2020-01-15,,\n"
)


def licences(
    install: Install, path: Path, *extra: str, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    return install.run(
        "licences", "import", "--district", install.district, str(path), *extra, ok=ok
    )


async def held(
    install: Install,
) -> dict[str, list[tuple[str, str | None, dt.date, dt.date | None, bool]]]:
    async with install.session() as session:
        rows = await session.execute(
            select(
                Teacher.staff_id,
                License.credential_class,
                License.number,
                License.issued_on,
                License.expires_on,
                License.primary,
            )
            .join(Teacher, Teacher.id == License.teacher_id)
            .order_by(Teacher.staff_id, License.id)
        )
        found: dict[str, list[tuple[str, str | None, dt.date, dt.date | None, bool]]] = {}
        for staff_id, *licence in rows:
            found.setdefault(staff_id, []).append(tuple(licence))  # type: ignore[arg-type]
        return found


async def test_licences_land_on_the_roster_teachers_idempotently(
    district: Install, tmp_path: Path
) -> None:
    import_bundle(district, SAMPLE)
    file = tmp_path / "licences.csv"
    file.write_text(HEADER + GOOD)
    first = licences(district, file)
    assert_counts(
        first.stdout,
        {"licences created": 3, "licences updated": 0, "birth months given": 2, "refused rows": 0},
    )
    stored = await held(district)
    assert stored["E10002"] == [
        ("classroom_teacher", "TX-1002", dt.date(2021, 9, 1), dt.date(2026, 12, 31), True)
    ]
    assert stored["E20001"] == [("administrator", None, dt.date(2020, 1, 15), None, True)]

    again = licences(district, file)
    assert_counts(
        again.stdout, {"licences created": 0, "licences updated": 0, "licences unchanged": 3}
    )
    assert await held(district) == stored

    # Ana renews (a later expiry) and earns a second licence; nothing else changes.
    file.write_text(
        HEADER
        + GOOD.replace("2022-07-01,2027-06-30", "2022-07-01,2032-06-30")
        + "E10001,,student_services,TX-5555,TX,2024-01-10,2029-01-09,\n"
    )
    changed = licences(district, file)
    assert_counts(
        changed.stdout, {"licences created": 1, "licences updated": 1, "licences unchanged": 2}
    )
    after = await held(district)
    assert after["E10001"] == [
        ("classroom_teacher", "TX-1001", dt.date(2022, 7, 1), dt.date(2032, 6, 30), True),
        ("student_services", "TX-5555", dt.date(2024, 1, 10), dt.date(2029, 1, 9), False),
    ]
    assert {k: v for k, v in after.items() if k != "E10001"} == {
        k: v for k, v in stored.items() if k != "E10001"
    }

    # The licence is what the credit engine now evaluates: no longer "no licence on file".
    async with district.session() as session:
        ben = await session.scalar(select(Teacher).where(Teacher.staff_id == "E10002"))
        assert ben is not None
        standing = await compliance.teacher_compliance(
            session=session,
            principal=Principal.operator(),
            teacher_id=ben.id,
            on=dt.date(2026, 6, 1),
        )
    assert standing.status != "no_credential" and standing.result is not None
    assert standing.result.credential_classes == ("classroom_teacher",)


async def test_bad_rows_are_refused_with_line_and_reason_and_dry_run_writes_nothing(
    district: Install, tmp_path: Path
) -> None:
    import_bundle(district, SAMPLE)
    file = tmp_path / "licences.csv"
    file.write_text(
        HEADER
        + GOOD
        + "E10003,,wizard,TX-1003,TX,2022-07-01,2027-06-30,\n"
        + "E99999,nobody@demo.k12.example,classroom_teacher,TX-9,TX,2022-07-01,2027-06-30,\n"
        + "E10004,,classroom_teacher,TX-1004,TX,2023-07-01,2020-06-30,\n"
        + "E10005,,classroom_teacher,TX-1005,ZZ,2023-07-01,,\n"
        + "E10006,,classroom_teacher,TX-1006,TX,July 4th,,\n"
        + "E10001,,classroom_teacher,TX-1001,TX,2022-07-01,2027-06-30,4\n"
        + "E10007,,classroom_teacher\n"
        + "E10008,,classroom_teacher,TX-1008,TX,2023-07-01,,13\n"
    )
    dry = licences(district, file, "--dry-run")
    assert "DRY RUN" in dry.stdout
    assert await held(district) == {}
    done = licences(district, file)
    out = done.stdout
    assert (
        "refused licences.csv:5: licence type 'wizard' is not one of the district's ruleset (administrator, classroom_teacher, educational_aide, student_services)"
        in out
    )
    assert (
        "refused licences.csv:6: no teacher with staff id 'E99999' or email 'nobody@demo.k12.example'"
        in out
    )
    assert "refused licences.csv:7: the licence expires before it was issued" in out
    assert "refused licences.csv:8: 'ZZ' is not a US state or territory code" in out
    assert "refused licences.csv:9: issued 'July 4th' is not a date like 2026-08-01" in out
    assert "refused licences.csv:10: the same licence is already on licences.csv:2" in out
    assert "refused licences.csv:11: 3 fields where the header has 8" in out
    assert "refused licences.csv:12: birth_month '13' is not 1 to 12" in out
    assert_counts(out, {"licences created": 3, "refused rows": 8})
    assert set(await held(district)) == {"E10001", "E10002", "E20001"}

    (tmp_path / "bad.csv").write_text("teacher,licence\nx,y\n")
    bad = licences(district, tmp_path / "bad.csv", ok=False)
    assert bad.returncode == 1 and "bad_header" in bad.stderr and "Traceback" not in bad.stderr
