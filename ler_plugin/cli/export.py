"""`ler-plugin export`: a district's records, rollups or compliance as CSV on standard output."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import typer

from ler_plugin.cli.common import run, session_scope, settings

app = typer.Typer(no_args_is_help=True, help="CSV exports (header row, then data, on stdout).")


def _write(make: Callable[[Any, Any, int], AsyncIterator[str]], slug: str) -> None:
    from ler_plugin.districts import service as districts
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> None:
        async with session_scope(cfg) as session:
            district = await districts.get_by_slug(session=session, slug=slug)
            async for text in make(session, Principal.operator(), district.id):
                sys.stdout.write(text)
            sys.stdout.flush()

    run(go)


@app.command("records")
def records(district: str = typer.Option(..., help="Slug of the district.")) -> None:
    """Every record the district may see: teacher, school, kind, source, status, category,
    provider, completed date, hours, CEUs."""
    from ler_plugin.rollups import streams

    _write(lambda s, p, d: streams.records_csv(session=s, principal=p, district_id=d), district)


@app.command("rollup")
def rollup(
    district: str = typer.Option(..., help="Slug of the district."),
    by: str = typer.Option(
        ...,
        help="Dimensions, e.g. school,category (also provider, kind, "
        "source, teacher, month, quarter, school_year).",
    ),
    date_from: dt.datetime = typer.Option(None, "--from", formats=["%Y-%m-%d"], help="First day."),
    date_to: dt.datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="Last day."),
    status: list[str] = typer.Option(None, help="Only these record statuses (repeatable)."),
    min_teachers: int = typer.Option(
        0, help="Mask groups of fewer teachers (small-cell suppression)."
    ),
) -> None:
    """Sums grouped by the chosen dimensions, one row per group."""
    from ler_plugin.rollups import service, streams

    def rows(session: Any, principal: Any, district_id: int) -> AsyncIterator[str]:
        query = service.RollupQuery(
            by=service.parse_by(by),
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            statuses=tuple(status or ()),
        )
        return streams.rollup_csv(
            session=session,
            principal=principal,
            district_id=district_id,
            query=query,
            min_teachers=min_teachers,
        )

    _write(rows, district)


@app.command("compliance")
def compliance(
    district: str = typer.Option(..., help="Slug of the district."),
    on: dt.datetime = typer.Option(None, formats=["%Y-%m-%d"], help="As of (default today)."),
    status: str = typer.Option(None, help="Only teachers at this status."),
) -> None:
    """Each teacher's standing in the renewal cycle containing the date."""
    from ler_plugin.rollups import streams

    _write(
        lambda s, p, d: streams.compliance_csv(
            session=s, principal=p, district_id=d, on=on.date() if on else None, status=status
        ),
        district,
    )
