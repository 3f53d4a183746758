"""Rollups and compliance as the web app asks for them: from the summary tables, beside a plain
GROUP BY over the raw records, and through GraphQL, in one run.

    uv run python bench/rollups.py                      # 1M records on PostgreSQL
    uv run python bench/rollups.py --quick              # 100k records, fewer repeats
    uv run python bench/rollups.py --records 10000000   # 10M (75k teachers)
    uv run python bench/rollups.py --records 100000 --url sqlite+aiosqlite:////tmp/bench.sqlite3
    uv run python bench/rollups.py --keep ...; uv run python bench/rollups.py --schema rollups_xxxx
                                                        # time again on a kept schema, no reseed

On PostgreSQL everything runs as the app's ordinary role `ler_app` in a schema of its own
(dropped afterwards unless --keep): the seed and the nightly refresh as the CLI runs them (every
row), the queries walled to the district by row-level security as a district administrator's
requests are. Rollups over whole cycles, the last 12 months and arbitrary day ranges; the
nightly compliance refresh timed with its commit; then the GraphQL operations the dashboard and
a teacher send (persisted DistrictRollup, MyCompliance, DistrictCompliance with counts) through
the whole app in process (middleware, persisted lookup, parse, validation, resolvers).
Each query is timed several times; the median is printed, and the raw/summary ratio.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository on the path, not bench/ (bench/http.py would shadow the standard library's http).
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import secrets
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.support import APP_ROLE, app_schema
from ler_plugin import migrate, rollups
from ler_plugin.config import Settings, load_settings
from ler_plugin.db import Tenant, make_engine, make_session_factory, tenant_scope
from ler_plugin.districts.models import District
from ler_plugin.principal import Principal, Role
from ler_plugin.rollups import compliance, service, summary
from ler_plugin.rollups.models import RollupCell, RollupTeacherYear
from ler_plugin.rollups.service import RollupQuery
from ler_plugin.seed import RECORDS_PER_TEACHER_YEAR, seed
from ler_plugin.wallet.models import Record, Teacher, Wallet

OPERATIONS = Path(__file__).resolve().parents[1] / "graphql" / "operations"


async def timed(repeat: int, call: Callable[[], Awaitable[Any]]) -> float:
    await call()  # warm the cache and the plan
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def progress(teachers: int, records: int) -> None:
    print(f"\r  {teachers:,} teachers, {records:,} records", end="", flush=True)


def row(name: str, fast: float, slow: float | None, fast_label: str) -> None:
    slow_text = f"records {slow:10.1f} ms  {slow / fast:8.1f}x" if slow else ""
    print(f"  {name:<48} {fast_label:<7} {fast:9.1f} ms   {slow_text}")


async def time_queries(
    args: argparse.Namespace, factory: async_sessionmaker[AsyncSession], district_id: int
) -> list[int]:
    today = dt.date.today()
    school_year = today.year if today.month >= 7 else today.year - 1
    cycle = (dt.date(school_year - 4, 7, 1), dt.date(school_year, 6, 30))
    year_ago = dt.date(today.year - 1, today.month, 1)
    month_end = (dt.date(today.year, today.month, 28) + dt.timedelta(days=4)).replace(day=1)
    month_end -= dt.timedelta(days=1)
    admin = Principal(
        roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district_id, subject="admin:bench"
    )
    first_day, last_day = dt.date(today.year - args.years, 7, 1), today
    rng = random.Random(16)
    arbitrary = []
    for _ in range(3):  # day ranges that are not whole months
        start = first_day + dt.timedelta(days=rng.randrange((last_day - first_day).days - 60))
        end = min(last_day, start + dt.timedelta(days=rng.randrange(30, 700)))
        arbitrary.append((f"school x category, {start} .. {end}", start, end))
    cases = [
        ("school x category, one 5-year cycle", RollupQuery(("school", "category"), *cycle)),
        ("school x school_year, one cycle", RollupQuery(("school", "school_year"), *cycle)),
        ("teacher x category, one cycle", RollupQuery(("teacher", "category"), *cycle)),
        (
            "month x category, last 12 months",
            RollupQuery(("month", "category"), year_ago, month_end),
        ),
        (
            "provider x kind x source, one cycle",
            RollupQuery(("provider", "kind", "source"), *cycle),
        ),
        *[(name, RollupQuery(("school", "category"), a, b)) for name, a, b in arbitrary],
    ]
    print(f"median of {args.repeat} runs (first page of 100 groups + totals):")
    async with factory() as session:
        for name, query in cases:

            async def run(source: str, query: RollupQuery = query) -> None:
                await service.rollup(
                    session=session,
                    principal=admin,
                    district_id=district_id,
                    query=query,
                    first=100,
                    source=source,
                )
                await service.totals(
                    session=session,
                    principal=admin,
                    district_id=district_id,
                    query=query,
                    source=source,
                )

            best = service.sources_for(query)[0]
            fast = await timed(args.repeat, lambda best=best: run(best))  # type: ignore[misc]
            slow = (
                None
                if args.no_raw
                else await timed(max(1, args.repeat // 2), lambda: run("records"))
            )
            row(name, fast, slow, best)

        ids = list(
            await session.scalars(select(Teacher.id).where(Teacher.district_id == district_id))
        )
        sample = random.Random(7).sample(ids, min(20, len(ids)))
        picks = iter(sample * (args.repeat + 2))

        async def one_teacher() -> None:
            await compliance.teacher_compliance(
                session=session, principal=admin, teacher_id=next(picks), on=today
            )

        row(
            "one teacher's compliance (engine, all records)",
            await timed(args.repeat * 4, one_teacher),
            None,
            "records",
        )

        teacher = sample[0]

        async def teacher_cells() -> None:
            await session.execute(
                select(RollupCell.category, func.sum(RollupCell.hours_equivalent))
                .where(
                    RollupCell.teacher_id == teacher,
                    RollupCell.month >= cycle[0].year * 100 + 7,
                )
                .group_by(RollupCell.category)
            )

        async def teacher_raw() -> None:
            await session.execute(
                select(Record.category, func.sum(Record.clock_hours))
                .join(Wallet, Wallet.id == Record.wallet_id)
                .where(Wallet.teacher_id == teacher, Record.completed_on >= cycle[0])
                .group_by(Record.category)
            )

        row(
            "one teacher's cycle hours by category",
            await timed(args.repeat * 4, teacher_cells),
            None if args.no_raw else await timed(args.repeat * 4, teacher_raw),
            "months",
        )

        async def district_page() -> None:
            await compliance.district_compliance(
                session=session, principal=admin, district_id=district_id, on=today, first=50
            )

        row(
            "district compliance, first page of 50",
            await timed(args.repeat, district_page),
            None,
            "records",
        )

        async def school_counts() -> None:
            await compliance.counts_by_school(
                session=session, principal=admin, district_id=district_id
            )

        row(
            "compliance counts by school, statuses current",
            await timed(args.repeat, school_counts),
            None,
            "stored",
        )
    async with factory() as session, session.begin():  # ten teachers' records change in the day
        dialect = (await session.connection()).dialect.name
        for teacher_id in sample[:10]:
            await session.execute(summary.changed(dialect, select(literal(teacher_id))))
    async with factory() as session:
        started = time.perf_counter()
        await compliance.counts_by_school(session=session, principal=admin, district_id=district_id)
        row(
            "... after 10 teachers' records changed",
            (time.perf_counter() - started) * 1000,
            None,
            "stored",
        )
        started = time.perf_counter()
        await compliance.counts_by_school(session=session, principal=admin, district_id=district_id)
        row("... and asked again", (time.perf_counter() - started) * 1000, None, "stored")
    return sample


async def nightly_refresh(factory: async_sessionmaker[AsyncSession], district_id: int) -> None:
    """`ler-plugin compliance refresh` as cron runs it: every row, one transaction, committed."""
    started = time.perf_counter()
    async with factory() as session, session.begin():
        evaluated = await compliance.refresh(
            session=session, principal=Principal.operator(), district_id=district_id
        )
    took = (time.perf_counter() - started) * 1000
    row(f"nightly compliance refresh, {evaluated:,} teachers", took, None, "commit")


async def graphql_path(
    args: argparse.Namespace, settings: Settings, district_id: int, teachers: list[int]
) -> None:
    """The dashboard's and a teacher's GraphQL operations through the whole app, in process."""
    import httpx

    from ler_plugin.app import build_app
    from ler_plugin.sessions import issue_token

    manifest = json.loads((OPERATIONS / "manifest.json").read_text())
    hashes = {op["name"]: op["id"] for op in manifest["operations"]}

    def persisted(name: str, variables: dict[str, Any]) -> dict[str, Any]:
        return {
            "operationName": name,
            "variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hashes[name]}},
        }

    admin = issue_token(
        settings,
        Principal(
            roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district_id, subject="admin:bench"
        ),
    )
    tokens = [issue_token(settings, Principal.for_teacher(t, district_id)) for t in teachers]
    picks = iter(tokens * (args.repeat * 4 + 2))
    today = dt.date.today()
    school_year = today.year if today.month >= 7 else today.year - 1
    cycle = {"from": f"{school_year - 4}-07-01", "to": f"{school_year}-06-30"}
    app = build_app(settings)
    print(f"\nGraphQL through the app in process (median of {args.repeat} runs):")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.base_url
        ) as http,
    ):

        async def ask(token: str, body: dict[str, Any]) -> None:
            answer = await http.post(
                "/graphql", json=body, headers={"authorization": f"Bearer {token}"}
            )
            data = answer.json()
            if answer.status_code != 200 or data.get("errors"):
                raise SystemExit(f"GraphQL: {answer.status_code} {str(data)[:500]}")

        by = {"by": ["school", "category"], "first": 50}
        cases = [
            (
                "DistrictRollup school x category, whole data",
                admin,
                persisted("DistrictRollup", by),
            ),
            (
                "DistrictRollup school x category, one cycle",
                admin,
                persisted("DistrictRollup", {**by, **cycle}),
            ),
            (
                "DistrictRollup, an arbitrary day range",
                admin,
                persisted("DistrictRollup", {**by, "from": "2023-02-15", "to": "2024-11-20"}),
            ),
            (
                "DistrictCompliance (first 50 + counts)",
                admin,
                persisted("DistrictCompliance", {"first": 50}),
            ),
        ]
        for name, token, body in cases:
            took = await timed(args.repeat, lambda token=token, body=body: ask(token, body))  # type: ignore[misc]
            row(name, took, None, "graphql")
        mine = persisted("MyCompliance", {})
        took = await timed(args.repeat * 4, lambda: ask(next(picks), mine))
        row("MyCompliance (a teacher's own standing)", took, None, "graphql")


async def main(args: argparse.Namespace, url: str, schema: str | None) -> None:
    postgres = url.startswith("postgres")
    reuse = args.schema is not None
    if not postgres:
        Path(url.split(":///", 1)[1]).unlink(missing_ok=True)  # a fresh file every run
    settings = load_settings(
        database_url=url,
        database_schema=schema,
        environment="test",
        log_level="WARNING",  # not a line per GraphQL request on the terminal
        secret_key=secrets.token_urlsafe(32),
        data_dir=tempfile.mkdtemp(prefix="ler-rollups-"),
    )
    engine = rollups.install(
        make_engine(settings)
    )  # every row, as the CLI's seed and refresh see them
    factory = make_session_factory(engine)
    try:
        await migrate.upgrade(engine, settings)  # a kept schema gets migrations added since
        if reuse:
            async with factory() as session:
                district_id = await session.scalar(
                    select(District.id).where(District.slug == "bench-isd")
                )
                records = await session.scalar(select(func.count()).select_from(Record))
            if district_id is None:
                raise SystemExit(f"schema {schema} holds no bench-isd district")
            print(f"reusing schema {schema}: {records:,} records")
        else:
            teachers = max(10, round(args.records / (RECORDS_PER_TEACHER_YEAR * args.years)))
            print(
                f"seeding {teachers:,} teachers x {args.years} years on {url.split('://')[0]} ..."
            )
            started = time.perf_counter()
            async with factory() as session, session.begin():
                report = await seed(
                    session=session,
                    slug="bench-isd",
                    teachers=teachers,
                    years=args.years,
                    state="TX",
                    progress=progress,
                )
            seconds = time.perf_counter() - started
            print(
                f"\nseed: {report.records:,} records, {report.cells:,} month cells, {report.schools} "
                f"schools in {seconds:.1f}s ({report.records / seconds:,.0f} records/s)"
            )
            district_id = report.district_id
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
            years = await connection.scalar(select(func.count()).select_from(RollupTeacherYear))
            cells = await connection.scalar(select(func.count()).select_from(RollupCell))
        print(f"summaries: {cells:,} month cells, {years:,} teacher-year rows")
        role = (
            f"as {make_url(url).username} (row-level security on for the queries)"
            if postgres
            else "on SQLite"
        )
        print(f"{role}; median of {args.repeat} runs (first page of 100 groups + totals):")
        await nightly_refresh(factory, district_id)
        # As the web app asks: transactions walled to the district.
        with tenant_scope(Tenant.of(district_id)):
            sample = await time_queries(args, factory, district_id)
    finally:
        await engine.dispose()
    await graphql_path(args, settings, district_id, sample)


def run(args: argparse.Namespace) -> None:
    if args.url.startswith("postgres") and args.schema is None:
        with app_schema("rollups", keep=args.keep) as (schema, url):
            asyncio.run(main(args, url, schema))
            if args.keep:
                print(f"kept schema {schema}")
    elif args.url.startswith("postgres"):
        url = f"postgresql+psycopg://{APP_ROLE}@127.0.0.1:5432/test"
        asyncio.run(main(args, url, args.schema))
    else:
        asyncio.run(main(args, args.url, None))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="about this many records")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--url",
        default=os.environ.get("LER_BENCH_URL", "postgresql"),
        help="postgresql (a new schema, as ler_app) or a SQLite URL",
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--schema", help="time again on a schema kept by --keep (no seeding)")
    parser.add_argument("--no-raw", action="store_true", help="skip the GROUP BY over records")
    parser.add_argument("--quick", action="store_true", help="100k records, 3 repeats")
    arguments = parser.parse_args()
    # A terminated run still drops its schema.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if arguments.quick:
        arguments.records, arguments.repeat = 100_000, 3
    run(arguments)
