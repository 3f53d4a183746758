"""Roster import: 20,000 staff from a OneRoster 1.2 CSV bundle into a fresh SQLite database.

Times `ler-plugin roster import` as an operator runs it (a process of its own, reading the zip,
one transaction): the first import (everyone created), the same bundle again (nothing changes)
and a bundle in which 1% of the people changed school or name. The peer is what a district
would otherwise write: one person at a time through the wallet's `find_or_create_teacher`, timed on a share of the same people in the same
run and reported as people per second against ours.

    uv run python bench/roster_import.py [--staff 20000] [--schools 60] [--peer 2000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/roster_import.py`, this folder comes first on the path, and its http.py
# would stand in for the standard library's http package (which jwt and httpx import).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
# ruff: noqa: E402 (the imports below must come after the path is set)

import argparse
import asyncio
import csv
import io
import os
import random
import subprocess
import tempfile
import time
import zipfile

from sqlalchemy import select

from ler_plugin import migrate, rollups
from ler_plugin.config import load_settings
from ler_plugin.db import make_engine, make_session_factory
from ler_plugin.districts import service as districts
from ler_plugin.districts.models import School
from ler_plugin.principal import Principal
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.models import SchoolMembership

USERS = "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns".split(
    ","
)
ROLES = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId".split(
    ","
)
ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId".split(",")
STAMP = "2026-08-01T00:00:00.000Z"
FIRST = "Ana Ben Chen Dana Eli Fatima Gabe Hana Ivan Jada Kofi Lena Mateo Nia Omar Priya".split()
LAST = "Garcia Smith Nguyen Johnson Patel Kim Brown Lopez Davis Okafor Martin Cohen Silva".split()


def people(staff: int, schools: int, rng: random.Random) -> list[dict[str, str]]:
    return [
        {
            "id": f"usr-{n:06d}",
            "given": rng.choice(FIRST),
            "family": rng.choice(LAST),
            "school": f"org-{rng.randrange(schools):04d}",
            "role": "teacher" if n % 12 else "principal",
        }
        for n in range(staff)
    ]


def table(header: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def bundle(path: Path, staff: list[dict[str, str]], schools: int) -> Path:
    manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\nfile.roles,bulk\n"
    orgs = [
        {
            "sourcedId": "org-district",
            "status": "active",
            "dateLastModified": STAMP,
            "name": "Bench ISD",
            "type": "district",
            "identifier": "1",
        }
    ]
    orgs += [
        {
            "sourcedId": f"org-{n:04d}",
            "status": "active",
            "dateLastModified": STAMP,
            "name": f"School {n}",
            "type": "school",
            "identifier": str(100 + n),
            "parentSourcedId": "org-district",
        }
        for n in range(schools)
    ]
    users = [
        {
            "sourcedId": p["id"],
            "status": "active",
            "dateLastModified": STAMP,
            "enabledUser": "true",
            "username": p["id"],
            "givenName": p["given"],
            "familyName": p["family"],
            "identifier": f"E{p['id'][4:]}",
            "email": f"{p['id']}@bench.k12.example",
            "primaryOrgSourcedId": p["school"],
        }
        for p in staff
    ]
    roles = [
        {
            "sourcedId": f"role-{p['id']}",
            "status": "active",
            "dateLastModified": STAMP,
            "userSourcedId": p["id"],
            "roleType": "primary",
            "role": p["role"],
            "orgSourcedId": p["school"],
        }
        for p in staff
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("manifest.csv", manifest)
        zipped.writestr("orgs.csv", table(ORGS, orgs))
        zipped.writestr("users.csv", table(USERS, users))
        zipped.writestr("roles.csv", table(ROLES, roles))
    return path


def cli(database: str, *args: str) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["LER_DATABASE_URL"] = database
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ler_plugin", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    return elapsed, done.stdout


async def peer(database: str, staff: list[dict[str, str]]) -> float:
    """One person at a time through the wallet's own `find_or_create_teacher` (a school each),
    as an importer calling the single-person path would."""
    settings = load_settings(database_url=database)
    engine = rollups.install(make_engine(settings))
    try:
        async with make_session_factory(engine)() as session, session.begin():
            district = await districts.get_by_slug(session=session, slug="bench")
            schools = {
                s.sourced_id: s.id
                for s in await session.scalars(
                    select(School).where(School.district_id == district.id)
                )
            }
            started = time.perf_counter()
            for p in staff:
                found = await wallets.find_or_create_teacher(
                    session=session,
                    district_id=district.id,
                    person=wallets.Person(
                        display_name=f"{p['given']} {p['family']}",
                        email=f"peer-{p['id']}@bench.k12.example",
                        sourced_id=f"peer-{p['id']}",
                    ),
                )
                if found.created:
                    session.add(
                        SchoolMembership(
                            teacher_id=found.teacher.id, school_id=schools[p["school"]]
                        )
                    )
                    await session.flush()
            return time.perf_counter() - started
    finally:
        await engine.dispose()


async def prepare(database: str) -> None:
    settings = load_settings(database_url=database)
    engine = rollups.install(make_engine(settings))
    try:
        await migrate.upgrade(engine, settings)
        async with make_session_factory(engine)() as session, session.begin():
            await districts.create(
                session=session,
                principal=Principal.operator(),
                slug="bench",
                name="Bench ISD",
                state="TX",
            )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=20_000)
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--peer", type=int, default=2_000, help="people the per-row peer imports")
    options = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        database = f"sqlite+aiosqlite:///{root / 'bench.sqlite3'}"
        asyncio.run(prepare(database))
        staff = people(options.staff, options.schools, rng)
        first_zip = bundle(root / "roster.zip", staff, options.schools)
        changed = [dict(p) for p in staff]
        for p in rng.sample(changed, len(changed) // 100):
            if rng.random() < 0.5:
                p["family"] += "-Lee"
            else:
                p["school"] = f"org-{rng.randrange(options.schools):04d}"
        second_zip = bundle(root / "changed.zip", changed, options.schools)
        runs = []
        for label, path in (
            ("first import", first_zip),
            ("same bundle again", first_zip),
            ("1% changed", second_zip),
        ):
            elapsed, out = cli(
                database, "roster", "import", "--district", "bench", "--oneroster-csv", str(path)
            )
            summary = next(
                line.strip() for line in out.splitlines() if line.strip().startswith("staff:")
            )
            runs.append((label, elapsed, summary))
        peer_seconds = asyncio.run(peer(database, staff[: options.peer]))
    print(
        f"roster import, {options.staff:,} staff in {options.schools} schools, SQLite, `ler-plugin roster import` in its own process:"
    )
    for label, elapsed, summary in runs:
        print(
            f"  {label:<18} {elapsed:6.1f} s   {options.staff / elapsed:8,.0f} people/s   ({summary})"
        )
    ours = options.staff / runs[0][1]
    theirs = options.peer / peer_seconds
    print(
        f"  peer (one person at a time through find_or_create_teacher, {options.peer:,} people): {peer_seconds:.1f} s, {theirs:,.0f} people/s"
    )
    print(
        f"  ratio, first import vs peer: {ours / theirs:.1f}x (ours includes process start and reading the zip)"
    )


if __name__ == "__main__":
    main()
