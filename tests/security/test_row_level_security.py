"""The second wall (PostgreSQL): row-level security keyed by district, under the services' checks.

The whole suite runs on PostgreSQL as an ordinary role (tests/conftest.py), so every flow proves it
names its tenant; these tests show the wall itself: a transaction sees only its district's rows,
none when it names no tenant (never an error), and cannot write into another district.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ler_plugin.db import NOBODY, SYSTEM, Tenant, make_engine, make_session_factory, tenant_scope
from ler_plugin.models import metadata
from ler_plugin.wallet.models import License, Record, Teacher, Wallet
from tests import factories

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Tables that belong to no district: the tool's own LTI signing keys, rate-limit counters,
# shipped rulesets. Every other table must be walled; a new table without a decision fails here.
UNWALLED = {"lti_tool_key", "rate_counter", "ruleset_version"}


@pytest.fixture
def postgres(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; SQLite is one deployment per file")


async def _two_districts(factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with factory() as session, session.begin():
        ids = []
        for name in ("Ana North", "Ben South"):
            district = await factories.district(session)
            teacher = await factories.teacher(session, district.id, name=name)
            await factories.record(session, teacher, title=f"{name}'s workshop")
            ids.append(district.id)
    return ids[0], ids[1]


async def _titles(factory: async_sessionmaker[AsyncSession], ids: tuple[int, int]) -> set[str]:
    async with factory() as session:
        found = await session.scalars(select(Record.title).where(Record.district_id.in_(ids)))
        return set(found)


async def test_the_suite_connects_as_a_role_the_wall_holds_for(
    postgres: None, session: AsyncSession
) -> None:
    superuser, bypass = (
        await session.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        )
    ).one()
    assert (superuser, bypass) == (False, False)


async def test_every_table_with_district_data_is_walled(
    postgres: None, session: AsyncSession
) -> None:
    rows = await session.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
            "FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace"
        )
    )
    walled = {name for name, enabled, forced, policies in rows if enabled and forced and policies}
    expected = set(metadata.tables) - UNWALLED
    assert expected - walled == set(), "tables without a district wall"
    assert walled & UNWALLED == set()


async def test_each_tenant_sees_its_own_district_and_no_tenant_sees_nothing(
    postgres: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    north, south = await _two_districts(session_factory)
    with tenant_scope(SYSTEM):
        assert await _titles(session_factory, (north, south)) == {
            "Ana North's workshop",
            "Ben South's workshop",
        }
    with tenant_scope(Tenant.of(north)):
        assert await _titles(session_factory, (north, south)) == {"Ana North's workshop"}
        async with session_factory() as session:
            # Tables without a district column take their teacher's wall.
            names = await session.scalars(
                select(Teacher.display_name)
                .join(Wallet, Wallet.teacher_id == Teacher.id)
                .where(Teacher.district_id.in_((north, south)))
            )
            assert list(names) == ["Ana North"]
            hidden = select(Teacher.id).where(Teacher.district_id == south)
            assert await session.scalar(hidden) is None
    with tenant_scope(Tenant.of(south)):
        assert await _titles(session_factory, (north, south)) == {"Ben South's workshop"}
    with tenant_scope(NOBODY):
        assert await _titles(session_factory, (north, south)) == set()
        async with session_factory() as session:
            for table in (Teacher, Wallet, License, Record):
                assert await session.scalar(select(func.count()).select_from(table)) == 0


async def test_the_web_app_engine_sees_nothing_until_a_tenant_is_named(
    postgres: None, settings: object, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    north, south = await _two_districts(session_factory)
    engine = make_engine(settings, default_tenant=NOBODY)  # type: ignore[arg-type]
    try:
        walled = make_session_factory(engine)
        assert await _titles(walled, (north, south)) == set()
        with tenant_scope(Tenant.of(south)):
            assert await _titles(walled, (north, south)) == {"Ben South's workshop"}
    finally:
        await engine.dispose()


async def test_a_tenant_cannot_write_into_or_change_another_district(
    postgres: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    north, south = await _two_districts(session_factory)
    with tenant_scope(Tenant.of(north)):
        async with session_factory() as session:
            with pytest.raises(DBAPIError, match="row-level security"):
                await session.execute(
                    insert(Teacher).values(district_id=south, display_name="Planted")
                )
            await session.rollback()
            changed = await session.execute(
                update(Record).where(Record.district_id == south).values(title="Defaced")
            )
            assert changed.rowcount == 0  # type: ignore[attr-defined]
            await session.commit()
    with tenant_scope(SYSTEM):
        async with session_factory() as session:
            planted = select(Teacher.id).where(Teacher.display_name == "Planted")
            assert await session.scalar(planted) is None
        assert await _titles(session_factory, (north, south)) == {
            "Ana North's workshop",
            "Ben South's workshop",
        }
