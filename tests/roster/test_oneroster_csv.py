"""OneRoster CSV bundles through `ler-plugin roster import`, in a real process on a fresh database:
the shipped 1.2 sample, a second import that changes nothing, a changed bundle that changes only
its changed rows, refused rows with file, line and reason, and nothing half-applied."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ler_plugin.audit import AuditEvent
from ler_plugin.districts.models import School
from ler_plugin.principal import Principal
from ler_plugin.rollups import compliance
from ler_plugin.roster.sources import SAMPLE
from ler_plugin.wallet.models import SchoolMembership, Teacher, TeacherEmail, Wallet
from tests.roster.cli import Install

pytestmark = pytest.mark.asyncio(loop_scope="session")


def counts(output: str) -> dict[str, int]:
    """'staff: 12 created, 0 updated, ...' -> {'staff created': 12, ...}"""
    found = {}
    for line in output.splitlines():
        head, _, rest = line.strip().partition(": ")
        for number, word in re.findall(r"(\d+) ([a-z]+)", rest):
            found[f"{head} {word}"] = int(number)
    return found


def assert_counts(output: str, expected: dict[str, int]) -> None:
    found = counts(output)
    assert {k: found.get(k) for k in expected} == expected, output


def import_bundle(
    install: Install, bundle: Path, *extra: str, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    return install.run(
        "roster",
        "import",
        "--district",
        install.district,
        "--oneroster-csv",
        str(bundle),
        *extra,
        ok=ok,
    )


def copy_sample(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(SAMPLE, bundle)
    return bundle


def edit(path: Path, old: str, new: str) -> None:
    body = path.read_text(encoding="utf-8")
    assert old in body
    path.write_text(body.replace(old, new), encoding="utf-8")


async def staff(install: Install) -> dict[str, tuple[str, bool, list[str]]]:
    """sourcedId -> (display name, active, school names primary first)."""
    async with install.session() as session:
        rows = await session.execute(
            select(Teacher.sourced_id, Teacher.display_name, Teacher.active, School.name)
            .outerjoin(SchoolMembership, SchoolMembership.teacher_id == Teacher.id)
            .outerjoin(School, School.id == SchoolMembership.school_id)
            .order_by(Teacher.sourced_id, SchoolMembership.primary.desc(), School.name)
        )
        found: dict[str, tuple[str, bool, list[str]]] = {}
        for sourced_id, name, active, school in rows:
            entry = found.setdefault(sourced_id, (name, active, []))
            if school:
                entry[2].append(school)
        return found


async def test_the_sample_imports_then_a_second_import_changes_nothing(district: Install) -> None:
    first = import_bundle(district, SAMPLE)
    assert_counts(
        first.stdout,
        {
            "schools created": 3,
            "staff created": 12,
            "staff deactivated": 0,
            "school assignments added": 12,
            "refused rows": 0,
        },
    )
    assert counts(first.stdout)["skipped people"] == 3  # the three students
    people = await staff(district)
    assert people["usr-t-0010"] == (
        "Omar Khalil",
        True,
        ["Riverside Middle School", "Northgate High School"],
    )
    assert people["usr-a-0002"] == ("Priya Raman", True, [])  # district office: no school
    assert people["usr-a-0001"][2] == ["Lakeview Elementary"]
    async with district.session() as session:
        wallets = await session.scalar(select(func.count()).select_from(Wallet))
        emails = await session.scalar(
            select(func.count()).select_from(TeacherEmail).where(TeacherEmail.verified.is_(True))
        )
        staff_ids = set(await session.scalars(select(Teacher.staff_id)))
    assert wallets == 12 and emails == 12
    assert "E10001" in staff_ids and "E20002" in staff_ids

    again = import_bundle(district, SAMPLE)
    assert_counts(
        again.stdout,
        {
            "schools created": 0,
            "schools updated": 0,
            "schools unchanged": 3,
            "staff created": 0,
            "staff updated": 0,
            "staff deactivated": 0,
            "staff unchanged": 12,
            "school assignments added": 0,
            "school assignments removed": 0,
        },
    )
    assert await staff(district) == people


async def test_a_changed_bundle_changes_only_its_changed_rows(
    district: Install, tmp_path: Path
) -> None:
    bundle = copy_sample(tmp_path)
    import_bundle(district, bundle)
    before = await staff(district)
    # Ana marries (new family name), Ben moves from Riverside to Northgate, Ike leaves.
    edit(bundle / "users.csv", ",Ana,Flores,", ",Ana,Flores-Reyes,")
    edit(
        bundle / "roles.csv",
        "usr-t-0002,primary,teacher,2026-08-01,,org-riverside",
        "usr-t-0002,primary,teacher,2026-08-01,,org-northgate",
    )
    edit(bundle / "users.csv", "org-riverside,\nusr-t-0003", "org-northgate,\nusr-t-0003")
    edit(
        bundle / "enrollments.csv",
        "class-sci7-2,org-riverside,usr-t-0002",
        "class-alg1-1,org-northgate,usr-t-0002",
    )
    lines = (bundle / "users.csv").read_text().splitlines(keepends=True)
    (bundle / "users.csv").write_text(
        "".join(line for line in lines if not line.startswith("usr-t-0009"))
    )
    (bundle / "roles.csv").write_text(
        "".join(
            line
            for line in (bundle / "roles.csv").read_text().splitlines(keepends=True)
            if "usr-t-0009" not in line
        )
    )
    # Written as a zip, as districts send them.
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in bundle.iterdir():
            zipped.write(path, f"export/{path.name}")

    changed = import_bundle(district, archive)
    assert_counts(
        changed.stdout,
        {
            "staff created": 0,
            "staff updated": 2,
            "staff deactivated": 1,
            "staff unchanged": 9,
            "school assignments added": 1,
            "school assignments removed": 1,
            "refused rows": 0,
        },
    )
    after = await staff(district)
    assert after["usr-t-0001"][0] == "Ana Flores-Reyes"
    assert after["usr-t-0002"][2] == ["Northgate High School"]
    assert after["usr-t-0009"] == ("Ike Mensah", False, ["Northgate High School"])  # kept, inactive
    untouched = set(before) - {"usr-t-0001", "usr-t-0002", "usr-t-0009"}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}
    async with district.session() as session:
        ike = await session.scalar(select(Teacher).where(Teacher.sourced_id == "usr-t-0009"))
        assert ike is not None
        assert await session.scalar(select(Wallet.id).where(Wallet.teacher_id == ike.id))
        events = list(
            await session.scalars(
                select(AuditEvent.tag).where(AuditEvent.subject_id == str(ike.id))
            )
        )
    assert "roster:teacher:deactivate" in events
    # The district's compliance counts its staff: Ike is kept, but no longer counted.
    async with district.session() as session:
        district_id = ike.district_id
        counts = await compliance.counts_by_school(
            session=session, principal=Principal.operator(), district_id=district_id
        )
        listed = [
            c.teacher_id
            async for batch in compliance.stream_district(
                session=session, principal=Principal.operator(), district_id=district_id
            )
            for c in batch
        ]
    assert sum(sum(by_status.values()) for by_status in counts.values()) == 11
    assert ike.id not in listed and len(listed) == 11


async def test_malformed_rows_are_refused_with_file_line_and_reason(
    district: Install, tmp_path: Path
) -> None:
    bundle = copy_sample(tmp_path)
    with (bundle / "users.csv").open("a", encoding="utf-8") as users:
        users.write(
            "usr-x-1,active,2026-08-01T00:00:00.000Z,true,x1,,Xavier,,,E9,x1@demo.k12.example,,,,,,,,,,,org-lakeview,\n"
        )
        users.write(
            "usr-x-2,active,2026-08-01T00:00:00.000Z,true,x2,,Yara,Quinn,,E10,not-an-email,,,,,,,,,,,org-lakeview,\n"
        )
        users.write(
            "usr-t-0001,active,2026-08-01T00:00:00.000Z,true,x3,,Zed,Twice,,E11,,,,,,,,,,,,org-lakeview,\n"
        )
        users.write("usr-x-4,active,2026-08-01T00:00:00.000Z,true,x4,,Too,Few\n")
        users.write(
            "usr-x-5,active,2026-08-01T00:00:00.000Z,true,x5,,Una,Known,,E10001,,,,,,,,,,,,org-lakeview,\n"
        )
        users.write(
            "usr-x-6,active,2026-08-01T00:00:00.000Z,true,x6,,Vic,Nowhere,,E12,,,,,,,,,,,,org-atlantis,\n"
        )
    with (bundle / "roles.csv").open("a", encoding="utf-8") as roles:
        for n in (1, 2, 3, 5):
            roles.write(
                f"role-x-{n},active,2026-08-01T00:00:00.000Z,usr-x-{n},primary,teacher,,,org-lakeview,\n"
            )
        roles.write(
            "role-x-6,active,2026-08-01T00:00:00.000Z,usr-x-6,primary,teacher,,,org-atlantis,\n"
        )
        roles.write(
            "role-x-7,active,2026-08-01T00:00:00.000Z,usr-ghost,primary,teacher,,,org-lakeview,\n"
        )
        roles.write(
            "role-x-8,active,2026-08-01T00:00:00.000Z,usr-t-0004,boss,teacher,,,org-lakeview,\n"
        )
    done = import_bundle(district, bundle)
    out = done.stdout
    assert "refused users.csv:17: user 'usr-x-1' needs a givenName and a familyName" in out
    assert "refused users.csv:18: user 'usr-x-2': 'not-an-email' is not an email address" in out
    assert "refused users.csv:19: user sourcedId 'usr-t-0001' is already on users.csv:2" in out
    assert "refused users.csv:20: 8 fields where the header has 23" in out
    assert "refused users.csv:21: identifier 'E10001' is already the user's on users.csv:2" in out
    assert "refused users.csv:22: Vic Nowhere: no school with sourcedId 'org-atlantis'" in out
    assert "refused roles.csv:23: no user 'usr-ghost' in users.csv" in out
    assert "refused roles.csv:24: roleType 'boss' is not primary or secondary" in out
    assert counts(out)["staff created"] == 13  # the sample's 12, and Vic without a school
    people = await staff(district)
    assert people["usr-x-6"] == ("Vic Nowhere", True, [])
    assert not {"usr-x-1", "usr-x-2", "usr-x-5"} & set(people)
    assert people["usr-t-0001"][0] == "Ana Flores"


async def test_an_unreadable_bundle_or_a_dry_run_writes_nothing(
    district: Install, tmp_path: Path
) -> None:
    bundle = copy_sample(tmp_path)
    dry = import_bundle(district, bundle, "--dry-run")
    assert "DRY RUN" in dry.stdout and counts(dry.stdout)["staff created"] == 12
    assert await staff(district) == {}

    edit(bundle / "manifest.csv", "oneroster.version,1.2", "oneroster.version,9.9")
    bad = import_bundle(district, bundle, ok=False)
    assert bad.returncode == 1
    assert "bad_version" in bad.stderr and "Traceback" not in bad.stderr
    (bundle / "manifest.csv").unlink()
    gone = import_bundle(district, bundle, ok=False)
    assert gone.returncode == 1 and "no manifest.csv" in gone.stderr
    wrong = district.run(
        "roster", "import", "--district", "nowhere", "--oneroster-csv", str(SAMPLE), ok=False
    )
    assert wrong.returncode == 1 and "district_not_found" in wrong.stderr
    assert await staff(district) == {}


async def test_a_failure_at_the_last_write_leaves_nothing_half_applied(district: Install) -> None:
    """The import's own audit event is its last write: make the database refuse it."""
    async with district.session() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            await session.execute(
                text(
                    "CREATE FUNCTION refuse_import() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
                )
            )
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_import BEFORE INSERT ON audit_event FOR EACH ROW "
                    "WHEN (NEW.tag = 'roster:import:apply') EXECUTE FUNCTION refuse_import()"
                )
            )
        else:
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_import BEFORE INSERT ON audit_event "
                    "WHEN NEW.tag = 'roster:import:apply' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
    failed = import_bundle(district, SAMPLE, ok=False)
    assert failed.returncode != 0
    assert await staff(district) == {}
    async with district.session() as session:
        assert await session.scalar(select(func.count()).select_from(School)) == 0
