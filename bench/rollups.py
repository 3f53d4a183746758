"""Rollups and compliance from the summary tables beside a plain GROUP BY over the raw records.

    uv run python bench/rollups.py                      # 1M records on PostgreSQL (a few minutes)
    uv run python bench/rollups.py --records 10000000   # 10M (75k teachers)
    uv run python bench/rollups.py --records 100000 --url sqlite+aiosqlite:////tmp/bench.sqlite3
    uv run python bench/rollups.py --keep ...; uv run python bench/rollups.py --schema bench_xxxx
                                                        # time again on a kept schema, no reseed
    ... --schema bench_xxxx --no-raw --url postgresql+psycopg://ler_app@127.0.0.1:5432/test
                                                        # as an ordinary role: row-level security on
                                                        # (GRANT SELECT on the schema's tables first)

Seeds a district into a fresh PostgreSQL schema (dropped afterwards unless --keep), then times each
query several times and prints the median, and the raw/summary ratio, in one run.
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
import os
import random
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin import migrate
from ler_plugin.config import load_settings
from ler_plugin.db import Tenant, make_engine, make_session_factory, tenant_scope
from ler_plugin.districts.models import District
from ler_plugin.principal import Principal
from ler_plugin.rollups import compliance, service, summary
from ler_plugin.rollups.models import RollupCell, RollupTeacherYear
from ler_plugin.rollups.service import RollupQuery
from ler_plugin.seed import RECORDS_PER_TEACHER_YEAR, seed
from ler_plugin.wallet.models import Record, Teacher, Wallet

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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
    ratio = f"{slow / fast:8.1f}x" if slow else ""
    slow_text = f"{slow:10.1f} ms" if slow else " " * 13
    print(f"  {name:<48} {fast_label:<7} {fast:9.1f} ms   records {slow_text}  {ratio}")


async def time_queries(
    args: argparse.Namespace, factory: async_sessionmaker[AsyncSession], district_id: int
) -> None:
    today = dt.date.today()
    school_year = today.year if today.month >= 7 else today.year - 1
    cycle = (dt.date(school_year - 4, 7, 1), dt.date(school_year, 6, 30))
    year_ago = dt.date(today.year - 1, today.month, 1)
    month_end = (dt.date(today.year, today.month, 28) + dt.timedelta(days=4)).replace(day=1)
    month_end -= dt.timedelta(days=1)
    operator = Principal.operator()
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
    ]
    print(f"median of {args.repeat} runs (first page of 100 groups + totals):")
    async with factory() as session:
        for name, query in cases:

            async def run(source: str, query: RollupQuery = query) -> None:
                await service.rollup(
                    session=session,
                    principal=operator,
                    district_id=district_id,
                    query=query,
                    first=100,
                    source=source,
                )
                await service.totals(
                    session=session,
                    principal=operator,
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
                session=session, principal=operator, teacher_id=next(picks), on=today
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
                session=session, principal=operator, district_id=district_id, on=today, first=50
            )

        row(
            "district compliance, first page of 50",
            await timed(args.repeat, district_page),
            None,
            "records",
        )

        started = time.perf_counter()
        evaluated = await compliance.refresh(
            session=session, principal=operator, district_id=district_id, on=today
        )
        refresh_ms = (time.perf_counter() - started) * 1000
        row(f"compliance refresh, {evaluated:,} teachers (nightly)", refresh_ms, None, "records")

        async def school_counts() -> None:
            await compliance.counts_by_school(
                session=session, principal=operator, district_id=district_id
            )

        row(
            "compliance counts by school, statuses current",
            await timed(args.repeat, school_counts),
            None,
            "stored",
        )
        changed = sample[:10]
        dialect = (await session.connection()).dialect.name
        for teacher_id in changed:  # ten teachers' records change during the day
            await session.execute(summary.changed(dialect, select(literal(teacher_id))))
        started = time.perf_counter()
        await school_counts()
        row(
            "... after 10 teachers' records changed",
            (time.perf_counter() - started) * 1000,
            None,
            "stored",
        )


async def main(args: argparse.Namespace) -> None:
    url = args.url
    postgres = url.startswith("postgres")
    reuse = args.schema is not None
    schema = args.schema or (f"bench_{secrets.token_hex(4)}" if postgres else None)
    if not postgres:
        Path(url.split(":///", 1)[1]).unlink(missing_ok=True)  # a fresh file every run
    if schema and not reuse:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    settings = load_settings(database_url=url, database_schema=schema, environment="test")
    engine = make_engine(settings)
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
        print(f"summaries: {cells:,} month cells, {years:,} teacher-year rows\n")

        # As the web app asks: transactions walled to the district (row-level security applies
        # when the URL's role is an ordinary one; a superuser passes the wall).
        with tenant_scope(Tenant.of(district_id)):
            await time_queries(args, factory, district_id)
    finally:
        await engine.dispose()
        if schema and not (args.keep or reuse):
            import psycopg

            with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        elif schema:
            print(f"kept schema {schema}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000, help="about this many records")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", default=os.environ.get("LER_BENCH_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--schema", help="time again on a schema kept by --keep (no seeding)")
    parser.add_argument("--no-raw", action="store_true", help="skip the GROUP BY over records")
    asyncio.run(main(parser.parse_args()))
