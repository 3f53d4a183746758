"""Migrations: up to head, down to base, up again, on the backend under test; models agree."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, text

from ler_plugin import migrate
from ler_plugin.config import Settings
from ler_plugin.db import make_engine
from ler_plugin.models import metadata


async def _tables(engine) -> set[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return set(names) - {"alembic_version"}


async def test_upgrade_downgrade_upgrade(fresh_database: Settings) -> None:
    engine = make_engine(fresh_database)
    try:
        await migrate.upgrade(engine, fresh_database)
        assert await _tables(engine) == set(metadata.tables)
        await migrate.downgrade(engine, fresh_database, "base")
        assert await _tables(engine) == set()
        await migrate.upgrade(engine, fresh_database)
        assert await _tables(engine) == set(metadata.tables)
        assert await migrate.pending_diff(engine) == []
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(engine) -> None:  # type: ignore[no-untyped-def]
    assert await migrate.pending_diff(engine) == []


async def test_review_text_becomes_the_review_column_and_back(fresh_database: Settings) -> None:
    """0007 moves 'needs review: ...' out of status_reason into record.review / review_note;
    other reasons stay; the downgrade puts the text back. Nothing stored is lost."""
    engine = make_engine(fresh_database)
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    try:
        await migrate.upgrade(engine, fresh_database, "0006_obapi_oauth")
        async with engine.begin() as db:
            await db.execute(
                text(
                    "INSERT INTO district (id, slug, name, state, created_at) "
                    "VALUES (1, 'd', 'D', 'TX', :now)"
                ),
                {"now": now},
            )
            await db.execute(
                text(
                    "INSERT INTO teacher (id, district_id, display_name, created_at) "
                    "VALUES (1, 1, 'T', :now)"
                ),
                {"now": now},
            )
            await db.execute(
                text("INSERT INTO wallet (id, teacher_id, created_at) VALUES (1, 1, :now)"),
                {"now": now},
            )
            for record_id, reason in ((1, "needs review: hours from text"), (2, "revoked: x")):
                await db.execute(
                    text(
                        "INSERT INTO record (id, wallet_id, district_id, kind, source, status, "
                        "visibility, title, skills, completed_on, status_reason, created_at, "
                        "updated_at) VALUES (:id, 1, 1, 'badge', 'import', 'verified', "
                        "'district', 'B', '[]', :day, :reason, :now, :now)"
                    ),
                    {"id": record_id, "reason": reason, "day": now.date(), "now": now},
                )
        await migrate.upgrade(engine, fresh_database)
        query = text("SELECT id, review, review_note, status_reason FROM record ORDER BY id")
        async with engine.connect() as db:
            rows = [tuple(r) for r in await db.execute(query)]
        assert rows == [(1, "needed", "hours from text", None), (2, "none", None, "revoked: x")]
        await migrate.downgrade(engine, fresh_database, "0006_obapi_oauth")
        async with engine.connect() as db:
            reasons = list(await db.scalars(text("SELECT status_reason FROM record ORDER BY id")))
        assert reasons == ["needs review: hours from text", "revoked: x"]
    finally:
        await engine.dispose()
