"""Alembic environment: runs on the engine our settings describe, SQLite or PostgreSQL.

`ler_plugin.migrate` hands us a live connection (config.attributes["connection"]) so migrations
run inside the caller's event loop and transaction; run by hand, we open our own.
"""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from ler_plugin.config import load_settings
from ler_plugin.db import make_engine
from ler_plugin.models import metadata

config = context.config


def run_with(connection: Connection) -> None:
    settings = config.attributes.get("settings")
    is_postgres = connection.dialect.name == "postgresql"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=not is_postgres,  # SQLite alters tables by copying them
        compare_type=True,
        transaction_per_migration=False,
        version_table_schema=getattr(settings, "database_schema", None) if is_postgres else None,
    )
    with context.begin_transaction():
        if is_postgres:
            # Never wait behind a long lock while old code still serves traffic.
            context.execute("SET LOCAL lock_timeout = '5s'")
            context.execute("SET LOCAL statement_timeout = '10min'")
        context.run_migrations()


async def run_online() -> None:
    settings = config.attributes.get("settings") or load_settings()
    config.attributes["settings"] = settings
    engine = make_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")

connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(run_online())
