"""A realistic district for demos, tests and benchmarks: schools, providers, teachers with
licences, and years of skewed professional-learning activity.

Rows go in with bulk statements (Core `insert()` executemany in batches; COPY on PostgreSQL), so
the ORM events that keep the rollup cells never fire: the generator sums each batch's cells
itself and writes them alongside, in the same transaction. Nothing here commits; the caller does.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.credit import CATEGORIES, load_ruleset, shipped_rulesets
from ler_plugin.districts import service as districts
from ler_plugin.districts.models import District, School
from ler_plugin.principal import Principal
from ler_plugin.providers.models import Provider
from ler_plugin.rollups import summary
from ler_plugin.rollups.models import RollupCell, RollupTeacherYear
from ler_plugin.wallet.models import (
    License,
    Record,
    RecordKind,
    RecordSource,
    RecordStatus,
    SchoolMembership,
    Teacher,
    Visibility,
    Wallet,
)

RECORDS_PER_TEACHER_YEAR = 26
TEACHERS_PER_SCHOOL = 450
BATCH = 500  # teachers per batch: one round of inserts
ROWS_PER_STATEMENT = 5000

FIRST = "Ana Ben Chen Dana Eli Fatima Gabe Hana Ivan Jada Kofi Lena Mateo Nia Omar Priya Quinn Rosa Sam Tariq Uma Vera Wen Yusuf Zoe".split()
LAST = "Garcia Smith Nguyen Johnson Patel Kim Brown Lopez Davis Okafor Martin Cohen Silva Rossi Khan Walker Ortiz Lee Hughes Moreno".split()
PLACES = "Oak Cedar Maple Pine Willow River Lake Hill Valley Meadow Ridge Park Brook Spring Forest Sunset Lincoln Jefferson Roosevelt Franklin".split()
LEVELS = ("Elementary", "Elementary", "Elementary", "Middle", "High")
PROVIDERS = (
    "Regional Education Service Center",
    "State Teachers Association",
    "University Extension",
    "Learning Forward",
    "Code.org",
    "National Geographic Education",
    "ISTE",
    "ASCD",
    "Kagan Professional Development",
    "Solution Tree",
    "Teachers College Reading and Writing",
    "Special Education Cooperative",
    "WIDA",
    "CASEL",
    "Math Solutions",
    "Khan Academy",
    "Google for Education",
    "Digital Promise",
    "Local Community College",
    "State Department of Education",
)
# (kind, source, weight): district course awards dominate, then provider badges, then self reports.
ORIGINS = (
    (RecordKind.PD_HOURS, RecordSource.LMS_AWARD, 50),
    (RecordKind.BADGE, RecordSource.PROVIDER, 14),
    (RecordKind.MICRO_CREDENTIAL, RecordSource.PROVIDER, 4),
    (RecordKind.CEU, RecordSource.PROVIDER, 8),
    (RecordKind.PD_HOURS, RecordSource.SELF_REPORT, 18),
    (RecordKind.PD_HOURS, RecordSource.IMPORT, 6),
)
SELF_STATUSES = (
    (RecordStatus.APPROVED, 55),
    (RecordStatus.SUBMITTED, 15),
    (RecordStatus.SELF_REPORTED, 15),
    (RecordStatus.REJECTED, 10),
    (RecordStatus.EXPIRED, 5),
)
ISSUED_STATUSES = (
    (RecordStatus.VERIFIED, 94),
    (RecordStatus.REVOKED, 3),
    (RecordStatus.EXPIRED, 3),
)
VISIBILITIES = ((Visibility.DISTRICT, 82), (Visibility.PUBLIC, 6), (Visibility.PRIVATE, 12))
# Summer institutes and August in-service days carry most of the year's learning.
MONTH_WEIGHTS = (6, 6, 8, 5, 5, 14, 12, 20, 6, 7, 6, 5)
HOURS = tuple(Decimal(h) for h in ("1", "1.5", "2", "3", "3", "3", "6", "6", "7.5", "12"))
CEUS = tuple(Decimal(c) for c in ("0.3", "0.5", "1.0", "1.0", "1.5", "2.0", "3.0"))


@dataclass(frozen=True)
class SeedReport:
    district_id: int
    schools: int
    teachers: int
    records: int
    cells: int


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _zipf(count: int, skew: float = 1.1) -> list[float]:
    return [1 / (rank**skew) for rank in range(1, count + 1)]


def _split(pairs: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


class _Generator:
    def __init__(
        self, rng: random.Random, years: int, today: dt.date, providers: list[tuple[int, str]]
    ):
        self.rng = rng
        self.today = today
        self.first_year = today.year - years + (1 if today.month >= 7 else 0)
        self.span_days = (today - dt.date(today.year - years, today.month, 1)).days
        self.start = today - dt.timedelta(days=self.span_days)
        self.providers = providers
        self.provider_weights = _zipf(len(providers))
        self.categories = list(CATEGORIES)
        self.category_weights = _zipf(len(self.categories), 0.9)
        self.origins = [(k, s) for k, s, _ in ORIGINS]
        self.origin_weights = [w for _, _, w in ORIGINS]
        self.self_statuses = _split(SELF_STATUSES)
        self.issued_statuses = _split(ISSUED_STATUSES)
        self.visibilities = _split(VISIBILITIES)
        self.years = years
        self.now = dt.datetime.now(dt.UTC)

    def day(self) -> dt.date:
        rng = self.rng
        for _ in range(8):
            year = self.start.year + rng.randrange(self.years + 1)
            month = rng.choices(range(1, 13), MONTH_WEIGHTS)[0]
            day = dt.date(year, month, rng.randint(1, 28))
            if self.start <= day <= self.today:
                return day
        return self.start + dt.timedelta(days=rng.randrange(self.span_days + 1))

    def records(self, wallet_id: int, district_id: int, count: int) -> list[dict[str, Any]]:
        rng = self.rng
        origins = rng.choices(self.origins, self.origin_weights, k=count)
        categories = rng.choices(self.categories, self.category_weights, k=count)
        visibilities = rng.choices(*self.visibilities, k=count)
        rows = []
        for (kind, source), category, visibility in zip(
            origins, categories, visibilities, strict=True
        ):
            provider_id, provider = (
                rng.choices(self.providers, self.provider_weights)[0]
                if source != RecordSource.LMS_AWARD
                else (None, None)
            )
            statuses = (
                self.self_statuses if source == RecordSource.SELF_REPORT else self.issued_statuses
            )
            status = rng.choices(*statuses)[0]
            ceus = rng.choice(CEUS) if kind == RecordKind.CEU else None
            hours = None if ceus is not None else rng.choice(HOURS)
            completed = self.day()
            rows.append(
                {
                    "wallet_id": wallet_id,
                    "district_id": district_id,
                    "kind": kind.value,
                    "source": source.value,
                    "status": status.value,
                    "visibility": visibility.value,
                    "title": f"{CATEGORIES[category]}: {'course' if provider is None else provider}",
                    "provider_id": provider_id,
                    "provider_name": provider,
                    "category": None if category == "other" and rng.random() < 0.5 else category,
                    "skills": [],
                    "completed_on": completed,
                    "clock_hours": hours,
                    "ceus": ceus,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
        return rows


async def _district(session: AsyncSession, slug: str, state: str | None) -> District:
    found = await session.scalar(select(District).where(District.slug == slug))
    if found is not None:
        return found
    return await districts.create(
        session=session,
        principal=Principal.operator(),
        slug=slug,
        name=" ".join(part.capitalize() for part in slug.split("-")) + " School District",
        state=state or "TX",
    )


async def _insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk rows: COPY on PostgreSQL, executemany elsewhere, in bounded statements."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        columns = list(rows[0])
        names = ", ".join(f'"{c}"' for c in columns)
        json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        async with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(["[]" if c in json_columns else row[c] for c in columns])
        return
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        await session.execute(insert(table), rows[start : start + ROWS_PER_STATEMENT])


async def _returning_ids(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]]
) -> list[int]:
    result = await session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars())


def _add(
    into: dict[tuple[Any, ...], dict[str, Any]], key: tuple[str, ...], row: dict[str, Any]
) -> None:
    at = tuple(row[k] for k in key)
    if at in into:
        kept = into[at]
        for name in summary.SUMS:
            kept[name] += row[name]
    else:
        into[at] = dict(row)


def _summaries(
    records: Iterable[dict[str, Any]], teacher_of: dict[int, int], school_of: dict[int, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The month cells and teacher-year rows of a batch of new records, summed in memory."""
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    years: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        facts = summary.record_facts(record)
        if facts is None:
            continue
        teacher_id = teacher_of[record["wallet_id"]]
        row = summary.cell_row(facts, teacher_id, school_of[teacher_id])
        _add(cells, summary.KEY, row)
        year = summary.year_row(row)
        if year:
            _add(years, summary.YEAR_KEY, year)
    return list(cells.values()), list(years.values())


async def seed(
    *,
    session: AsyncSession,
    slug: str,
    teachers: int,
    years: int,
    state: str | None = None,
    random_seed: int = 1,
    today: dt.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedReport:
    """Generate a district (created when missing) with `teachers` teachers and `years` of activity.

    `progress(teachers_done, records_written)` is called after each batch.
    """
    if teachers < 1 or teachers > 1_000_000:
        from ler_plugin.rollups.errors import RollupError

        raise RollupError("bad_seed", "teachers must be between 1 and 1,000,000")
    if years < 1 or years > 30:
        from ler_plugin.rollups.errors import RollupError

        raise RollupError("bad_seed", "years must be between 1 and 30")
    rng = random.Random(random_seed)
    today = today or dt.date.today()
    district = await _district(session, slug, state)
    ruleset_key = (district.ruleset_key or district.state).lower()
    ruleset = load_ruleset(ruleset_key if ruleset_key in shipped_rulesets() else "generic")
    classes = [
        name
        for name, rule in ruleset.versions[-1].credential_classes.items()
        if not getattr(rule, "exempt", False)
    ] or list(ruleset.versions[-1].credential_classes)

    school_count = min(400, max(min(3, teachers), teachers // TEACHERS_PER_SCHOOL + 1))
    existing = set(
        (await session.scalars(select(School.name).where(School.district_id == district.id))).all()
    )
    names = []
    for index in range(school_count):
        name = f"{PLACES[index % len(PLACES)]} {LEVELS[index % len(LEVELS)]}"
        if index >= len(PLACES):
            name += f" {index // len(PLACES) + 1}"
        names.append(name)
    new_schools = [
        {"district_id": district.id, "name": n, "code": f"S{i:03d}"}
        for i, n in enumerate(names)
        if n not in existing
    ]
    if new_schools:
        await session.execute(insert(School), new_schools)
    schools = list(
        (
            await session.scalars(
                select(School.id).where(School.district_id == district.id, School.name.in_(names))
            )
        ).all()
    )
    school_weights = [rng.uniform(0.6, 1.4) for _ in schools]

    for name in PROVIDERS:
        exists = await session.scalar(
            select(Provider.id).where(Provider.district_id == district.id, Provider.name == name)
        )
        if exists is None:
            session.add(Provider(district_id=district.id, name=name, credit_unit="clock_hour"))
    await session.flush()
    providers = list(
        (
            await session.execute(
                select(Provider.id, Provider.name).where(
                    Provider.district_id == district.id, Provider.name.in_(PROVIDERS)
                )
            )
        ).tuples()
    )
    generator = _Generator(rng, years, today, providers)
    mean_rate = RECORDS_PER_TEACHER_YEAR / 1.197  # mean of lognormal(0, 0.6) is e^0.18

    records_written = cells_written = 0
    for start in range(0, teachers, BATCH):
        size = min(BATCH, teachers - start)
        people = []
        for _ in range(size):
            given, family = rng.choice(FIRST), rng.choice(LAST)
            people.append(
                {
                    "district_id": district.id,
                    "display_name": f"{given} {family}",
                    "given_name": given,
                    "family_name": family,
                    "birth_month": rng.randint(1, 12),
                }
            )
        teacher_ids = await _returning_ids(session, _table(Teacher), people)
        wallet_ids = await _returning_ids(
            session, _table(Wallet), [{"teacher_id": t} for t in teacher_ids]
        )
        school_of = {t: rng.choices(schools, school_weights)[0] for t in teacher_ids}
        await session.execute(
            insert(SchoolMembership),
            [{"teacher_id": t, "school_id": s, "primary": True} for t, s in school_of.items()],
        )
        await session.execute(
            insert(License),
            [
                {
                    "teacher_id": t,
                    "state": district.state,
                    "credential_class": rng.choice(classes),
                    "number": f"{district.state}{t:08d}",
                    "issued_on": today - dt.timedelta(days=rng.randint(200, 365 * 25)),
                    "expires_on": None,
                    "national_board": rng.random() < 0.03,
                    "primary": True,
                }
                for t in teacher_ids
            ],
        )
        teacher_of = dict(zip(wallet_ids, teacher_ids, strict=True))
        records: list[dict[str, Any]] = []
        for wallet_id in wallet_ids:
            count = round(mean_rate * years * rng.lognormvariate(0, 0.6))
            records.extend(generator.records(wallet_id, district.id, count))
        await _insert(session, _table(Record), records)
        cells, teacher_years = _summaries(records, teacher_of, school_of)
        await _insert(session, _table(RollupCell), cells)
        await _insert(session, _table(RollupTeacherYear), teacher_years)
        records_written += len(records)
        cells_written += len(cells)
        if progress:
            progress(start + size, records_written)
    return SeedReport(
        district_id=district.id,
        schools=len(schools),
        teachers=teachers,
        records=records_written,
        cells=cells_written,
    )
