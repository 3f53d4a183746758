"""The roster migration on a database that already holds a district's teachers: their wallets,
records and licences stay (SQLite's table copy, with foreign keys on, would have deleted them)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from ler_plugin import migrate
from ler_plugin.config import Settings
from ler_plugin.db import make_engine

BEFORE = "0007_wallet_roster_review"


async def test_upgrading_keeps_every_wallet_record_and_licence(fresh_database: Settings) -> None:
    engine = make_engine(fresh_database)
    try:
        await migrate.upgrade(engine, fresh_database, BEFORE)
        async with engine.begin() as connection:
            now = dt.datetime.now(dt.UTC)
            await connection.execute(
                text(
                    "INSERT INTO district (id, slug, name, state, created_at) VALUES (1, 'd', 'D', 'TX', :now)"
                ),
                {"now": now},
            )
            await connection.execute(
                text(
                    "INSERT INTO teacher (id, district_id, display_name, created_at) VALUES (1, 1, 'Ana', :now)"
                ),
                {"now": now},
            )
            await connection.execute(
                text("INSERT INTO wallet (id, teacher_id, created_at) VALUES (1, 1, :now)"),
                {"now": now},
            )
            await connection.execute(
                text(
                    "INSERT INTO record (id, wallet_id, district_id, kind, source, status, visibility, title, "
                    "skills, completed_on, created_at, updated_at) VALUES (1, 1, 1, 'pd_hours', 'self_report', "
                    "'approved', 'district', 'Workshop', '[]', '2026-01-05', :now, :now)"
                ),
                {"now": now},
            )
            await connection.execute(
                text(
                    'INSERT INTO license (id, teacher_id, state, credential_class, issued_on, national_board, "primary") '
                    "VALUES (1, 1, 'TX', 'classroom_teacher', '2022-07-01', false, true)"
                )
            )
        await migrate.upgrade(engine, fresh_database)
        async with engine.connect() as connection:
            for table in ("teacher", "wallet", "record", "license"):
                assert (
                    await connection.execute(text(f"SELECT count(*) FROM {table}"))
                ).scalar() == 1, table
            active = (await connection.execute(text("SELECT active FROM teacher"))).scalar()
        assert active in (True, 1)
        await migrate.downgrade(engine, fresh_database, BEFORE)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM record"))).scalar() == 1
        assert await migrate.pending_diff(engine) != []  # the models are ahead again
        await migrate.upgrade(engine, fresh_database)
        assert await migrate.pending_diff(engine) == []
    finally:
        await engine.dispose()
