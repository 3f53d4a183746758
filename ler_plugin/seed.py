"""A realistic district for demos, tests and benchmarks: schools, providers, teachers with
licences, and years of skewed professional-learning activity.

Rows go in with bulk statements (Core `insert()` executemany in batches; COPY on PostgreSQL), so
the ORM events that keep the rollup summaries never fire: after each batch the database sums the
batch's month cells and teacher-years from the rows just written, and the school spans once at the
end, in the same transaction. Nothing here commits; the caller does.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.credit import CATEGORIES, load_ruleset
from ler_plugin.districts import service as districts
from ler_plugin.districts.models import District, School
from ler_plugin.principal import Principal
from ler_plugin.providers.models import Provider
from ler_plugin.rollups import compliance, summary
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
ANALYZED = (
    "teacher",
    "wallet",
    "school_membership",
    "record",
    "rollup_cell",
    "rollup_teacher_year",
)
SPAN_TEACHERS = 20_000  # teachers per school-span statement (bind parameters stay under 65,535)

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


class _Generator:
    """Records for one teacher at a time; every draw for a teacher is one `choices` call."""

    def __init__(
        self, rng: random.Random, years: int, today: dt.date, providers: list[tuple[int, str]]
    ):
        self.rng = rng
        start = dt.date(today.year - years, today.month, 1)
        self.days = [start + dt.timedelta(days=n) for n in range((today - start).days + 1)]
        self.day_weights = list(accumulate(MONTH_WEIGHTS[d.month - 1] for d in self.days))
        self.providers = providers
        self.provider_weights = list(accumulate(_zipf(len(providers))))
        self.categories = list(CATEGORIES)
        self.category_weights = list(accumulate(_zipf(len(self.categories), 0.9)))
        self.origins = [(k.value, s.value) for k, s, _ in ORIGINS]
        self.origin_weights = list(accumulate(w for _, _, w in ORIGINS))
        self.self_statuses = [s.value for s, _ in SELF_STATUSES]
        self.self_weights = list(accumulate(w for _, w in SELF_STATUSES))
        self.issued_statuses = [s.value for s, _ in ISSUED_STATUSES]
        self.issued_weights = list(accumulate(w for _, w in ISSUED_STATUSES))
        self.visibilities = [v.value for v, _ in VISIBILITIES]
        self.visibility_weights = list(accumulate(w for _, w in VISIBILITIES))
        self.now = dt.datetime.now(dt.UTC)

    def records(self, wallet_id: int, district_id: int, count: int) -> list[dict[str, Any]]:
        rng, choices = self.rng, self.rng.choices
        draws = zip(
            choices(self.origins, cum_weights=self.origin_weights, k=count),
            choices(self.categories, cum_weights=self.category_weights, k=count),
            choices(self.visibilities, cum_weights=self.visibility_weights, k=count),
            choices(self.providers, cum_weights=self.provider_weights, k=count),
            choices(self.self_statuses, cum_weights=self.self_weights, k=count),
            choices(self.issued_statuses, cum_weights=self.issued_weights, k=count),
            choices(self.days, cum_weights=self.day_weights, k=count),
            choices(HOURS, k=count),
            choices(CEUS, k=count),
            strict=True,
        )
        rows = []
        lms_award, self_report, ceu = (
            RecordSource.LMS_AWARD.value,
            RecordSource.SELF_REPORT.value,
            RecordKind.CEU.value,
        )
        for (kind, source), category, visibility, (
            provider_id,
            provider,
        ), self_status, issued, day, hours, ceus in draws:
            if source == lms_award:
                provider_id, provider = None, None
            rows.append(
                {
                    "wallet_id": wallet_id,
                    "district_id": district_id,
                    "kind": kind,
                    "source": source,
                    "status": self_status if source == self_report else issued,
                    "visibility": visibility,
                    "title": f"{CATEGORIES[category]}: {provider or 'district course'}",
                    "provider_id": provider_id,
                    "provider_name": provider,
                    "category": None if category == "other" and rng.random() < 0.5 else category,
                    "skills": [],
                    "completed_on": day,
                    "clock_hours": None if kind == ceu else hours,
                    "ceus": ceus if kind == ceu else None,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
        return rows


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """One field in COPY's text format (dates, datetimes and decimals print as PostgreSQL reads)."""
    if value is None:
        return "\\N"
    if value.__class__ is str:
        return str(value.translate(_COPY_ESCAPES))
    if isinstance(value, list):
        return "[]"
    return str(value)


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
    """Bulk rows: COPY (text format) on PostgreSQL, executemany elsewhere, in bounded statements."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        columns = list(rows[0])
        names = ", ".join(f'"{c}"' for c in columns)
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        # COPY refuses a table under row-level security: copy into a temporary table (which has
        # none), then one INSERT ... SELECT, which the district wall checks like any insert.
        staging = f"seed_{table.name}"
        create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS "
        await cursor.execute(create + f"SELECT {names} FROM {table.name} WITH NO DATA")  # noqa: S608
        async with cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                await copy.write(
                    "".join("\t".join(_copy_value(row[c]) for c in columns) + "\n" for row in chunk)
                )
        await cursor.execute(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {staging}"  # noqa: S608
        )
        await cursor.execute(f"TRUNCATE {staging}")
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
    ruleset = load_ruleset(compliance.shipped_key(district))
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

    records_written = 0
    seeded: list[int] = []
    dialect = (await session.connection()).dialect.name
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
        records: list[dict[str, Any]] = []
        for wallet_id in wallet_ids:
            count = round(mean_rate * years * rng.lognormvariate(0, 0.6))
            records.extend(generator.records(wallet_id, district.id, count))
        await _insert(session, _table(Record), records)
        # The batch's summaries, summed by the database from the rows just written.
        await session.execute(summary.cells_from_records(Record.wallet_id.in_(wallet_ids)))
        await session.execute(summary.years_from_cells(RollupCell.teacher_id.in_(teacher_ids)))
        seeded.extend(teacher_ids)
        batches = start // BATCH + 1
        if dialect == "postgresql" and batches & (batches - 1) == 0:
            # Uncommitted rows have no statistics: without them the planner takes each batch's
            # `IN (500 ids)` for most of the table and scans it all (quadratic). ANALYZE in the
            # transaction sees its own rows; at 1, 2, 4, 8 ... batches it costs O(log n).
            await session.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))
        records_written += len(records)
        if progress:
            progress(start + size, records_written)
    # School spans last, in few large statements: every batch touches the same span rows, and
    # in one transaction each update leaves a row version that later updates must step over
    # (per batch, a 10M-record seed slowed to a crawl).
    for start in range(0, len(seeded), SPAN_TEACHERS):
        chunk = RollupTeacherYear.teacher_id.in_(seeded[start : start + SPAN_TEACHERS])
        for statement in summary.spans_from_years(dialect, chunk):
            await session.execute(statement)
    cells_written = await session.scalar(
        select(func.count()).select_from(RollupCell).where(RollupCell.district_id == district.id)
    )
    return SeedReport(
        district_id=district.id,
        schools=len(schools),
        teachers=teachers,
        records=records_written,
        cells=cells_written or 0,
    )
