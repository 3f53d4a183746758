"""The engine and the session factory: the only module that knows SQLite from PostgreSQL.

Everything else takes an `AsyncSession` (services take it as the keyword argument ``session``)
and writes plain SQLAlchemy 2 that runs on both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

from sqlalchemy import JSON, DateTime, MetaData, Numeric, String, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from ler_plugin.config import Settings

# Stable constraint names, so Alembic can drop and alter them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Hours and CEUs: up to 999,999.99 with two decimals, exact.
Quantity = Numeric(10, 2)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: DateTime(timezone=True),
        Decimal: Quantity,
        str: String(255),
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[dict[str, Any]]: JSON,
    }


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def aware(value: dt.datetime) -> dt.datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands timestamps back without their zone; everything we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_before_savepoint(connection: Any, _name: Any) -> None:
    """The Python sqlite3 driver opens a transaction only before INSERT/UPDATE/DELETE. A SAVEPOINT
    sent first would open one of its own, and releasing it would COMMIT on the spot: a service's
    first write in a savepoint (find a teacher or make one) would outlive the caller's rollback.
    So the transaction is begun first, and the savepoint nests in it as on PostgreSQL."""
    driver = connection.connection.dbapi_connection._connection  # aiosqlite's Connection
    if not driver.in_transaction:
        cursor = connection.connection.cursor()
        try:
            cursor.execute("BEGIN")
        finally:
            cursor.close()


@dataclass(frozen=True)
class Tenant:
    """Whose rows a transaction may see on PostgreSQL, where row-level security is the second wall
    behind the services' own checks (see migrations 0003_row_level_security).

    One district's rows, every row (`SYSTEM`: the CLI, migrations, and the flows that find out
    who is asking: LTI launches, provider tokens, share links), or none (`NOBODY`).
    """

    district_id: int | None
    system: bool = False

    @classmethod
    def of(cls, district_id: int | None) -> Tenant:
        """The tenant of a principal's district; no district (the operator) sees every row."""
        return SYSTEM if district_id is None else cls(district_id)


SYSTEM = Tenant(None, system=True)
NOBODY = Tenant(None)
_tenant: ContextVar[Tenant | None] = ContextVar("ler_tenant", default=None)


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[None]:
    """Transactions begun inside the block see `tenant`'s rows (a transaction already open keeps
    what it was begun with: start the scope before the session's first statement)."""
    token = _tenant.set(tenant)
    try:
        yield
    finally:
        _tenant.reset(token)


def _tenant_on_begin(default: Tenant) -> Any:
    def begin(connection: Any) -> None:
        tenant = _tenant.get() or default
        # Settings local to the transaction: a pooled connection carries nothing to the next one.
        # The raw cursor, because a statement through `connection` here would begin again.
        cursor = connection.connection.cursor()
        try:
            cursor.execute(
                "SELECT set_config('ler.district_id', %s, true), set_config('ler.system', %s, true)",
                (
                    "" if tenant.district_id is None else str(tenant.district_id),
                    "on" if tenant.system else "off",
                ),
            )
        finally:
            cursor.close()

    return begin


def make_engine(
    settings: Settings, *, default_tenant: Tenant = SYSTEM, **kwargs: Any
) -> AsyncEngine:
    """The engine for `settings`. On PostgreSQL every transaction states its tenant: the one set
    by `tenant_scope`, else `default_tenant` (the web app passes `NOBODY`; scripts see all)."""
    url = make_url(settings.database_url)
    if settings.is_sqlite:
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # One file, many tasks: SQLite serialises writers itself; pooling buys nothing.
        engine = create_async_engine(url, poolclass=NullPool, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    connect_args: dict[str, Any] = {}
    if settings.database_schema:
        connect_args["options"] = f"-c search_path={settings.database_schema}"
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine.sync_engine, "begin", _tenant_on_begin(default_tenant))
    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends, roll back on any error."""
    async with factory() as session, session.begin():
        yield session


def str_enum(enum_cls: type[Any], name: str) -> Any:
    """A portable enum column: VARCHAR plus a CHECK constraint on both databases."""
    from sqlalchemy import Enum

    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def insert_for(dialect: str) -> Any:
    """The INSERT construct that can take ``ON CONFLICT`` clauses: both databases spell them the
    same, but SQLAlchemy builds them per dialect (by name: mapper events hold only a connection)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def upsert_insert(session: AsyncSession, table: Any) -> Any:
    """`insert_for` the session's database, of `table`."""
    return insert_for(session.get_bind().dialect.name)(table)
