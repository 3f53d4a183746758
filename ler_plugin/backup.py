"""One district's data out to a JSON document and back: `ler-plugin backup` / `restore`.

Which rows belong to a district is read from the schema itself: a table with a ``district_id``
column belongs through it; any other table belongs through a foreign key to a table that does
(a wallet through its teacher, evidence through its record). Tables with no such path (rate
counters, rulesets, the tool's own keys) are installation-wide and are not part of a district.
Rows keep their ids, so links between them survive; restoring into a database where those ids
are taken is refused before anything is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    LargeBinary,
    Numeric,
    Table,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from ler_plugin.audit import record_event
from ler_plugin.districts.models import District
from ler_plugin.errors import LerError
from ler_plugin.models import metadata
from ler_plugin.principal import Principal, Role

FORMAT = "ler-plugin-district-backup/1"


class BackupError(LerError):
    pass


def district_filters(district_id: int) -> dict[str, ColumnElement[bool]]:
    """For every table that belongs to a district, the condition selecting that district's rows."""
    tables = metadata.sorted_tables
    filters: dict[str, ColumnElement[bool]] = {
        "district": metadata.tables["district"].c.id == district_id
    }
    changed = True
    while changed:
        changed = False
        for table in tables:
            if table.name in filters:
                continue
            if "district_id" in table.c and table.c.district_id.foreign_keys:
                filters[table.name] = table.c.district_id == district_id
                changed = True
                continue
            for fk in table.foreign_keys:
                parent = fk.column.table
                if parent.name in filters and parent.name != table.name and not fk.parent.nullable:
                    ids = select(fk.column).where(filters[parent.name])
                    filters[table.name] = fk.parent.in_(ids)
                    changed = True
                    break
    return filters


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _typed(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return dt.date.fromisoformat(value)
    if isinstance(kind, Numeric) and getattr(kind, "asdecimal", True) is not False:
        return Decimal(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    return value


async def backup(*, session: AsyncSession, principal: Principal, slug: str) -> dict[str, Any]:
    principal.require(Role.OPERATOR)
    district = await session.scalar(select(District).where(District.slug == slug))
    if district is None:
        raise BackupError("district_not_found", f"no district with slug {slug!r}", status=404)
    filters = district_filters(district.id)
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        if table.name not in filters:
            continue
        rows = await session.execute(
            select(table).where(filters[table.name]).order_by(*table.primary_key.columns)
        )
        tables[table.name] = [{k: _plain(v) for k, v in row._mapping.items()} for row in rows]
    return {
        "format": FORMAT,
        "district": slug,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "tables": tables,
    }


async def stream_json(document: dict[str, Any]) -> AsyncIterator[str]:
    yield json.dumps(document, separators=(",", ":"), sort_keys=True)


async def restore(
    *, session: AsyncSession, principal: Principal, document: dict[str, Any]
) -> dict[str, int]:
    """Insert a backup's rows, all or nothing; refuse when the district or any id already exists."""
    principal.require(Role.OPERATOR)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BackupError("bad_backup", f"this is not a {FORMAT} document")
    tables = document.get("tables")
    if not isinstance(tables, dict) or not tables.get("district"):
        raise BackupError("bad_backup", "the backup holds no district")
    unknown = sorted(set(tables) - set(metadata.tables))
    if unknown:
        raise BackupError(
            "bad_backup", f"the backup has tables this version does not know: {unknown}"
        )
    slug = tables["district"][0].get("slug")
    if await session.scalar(select(District.id).where(District.slug == slug)) is not None:
        raise BackupError(
            "district_exists", f"district {slug!r} already exists here: remove it first"
        )
    counts: dict[str, int] = {}
    for table in metadata.sorted_tables:
        rows = tables.get(table.name) or []
        if not rows:
            continue
        if _outlives_its_district(table):
            rows = await _relink_survivors(session, table, rows)
            if not rows:
                continue
        await _check_ids_free(session, table, rows)
        try:
            values = [
                {c.name: _typed(c, row.get(c.name)) for c in table.columns if c.name in row}
                for row in rows
            ]
        except (TypeError, ValueError) as exc:
            raise BackupError(
                "bad_backup", f"a value in table {table.name} is malformed: {exc}"
            ) from None
        await session.execute(insert(table), values)
        counts[table.name] = len(rows)
    await _advance_sequences(session, [metadata.tables[name] for name in counts])
    district_id = tables["district"][0]["id"]
    record_event(
        session,
        "district:backup:restore",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="district",
        subject_id=district_id,
        rows=sum(counts.values()),
    )
    return counts


def _outlives_its_district(table: Table) -> bool:
    """Rows kept when their district is deleted (the audit log: ``ON DELETE SET NULL``)."""
    column = table.c.get("district_id")
    return column is not None and any(fk.ondelete == "SET NULL" for fk in column.foreign_keys)


async def _relink_survivors(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Point surviving rows back at the restored district; return the rows still to insert."""
    key = next(iter(table.primary_key.columns))
    ids = [row[key.name] for row in rows]
    existing = set(await session.scalars(select(key).where(key.in_(ids))))
    for row in rows:
        if row[key.name] in existing:
            await session.execute(
                update(table).where(key == row[key.name]).values(district_id=row["district_id"])
            )
    return [row for row in rows if row[key.name] not in existing]


async def _check_ids_free(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    keys = list(table.primary_key.columns)
    if len(keys) != 1:
        return
    key = keys[0]
    ids = [row.get(key.name) for row in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        taken = await session.scalar(select(func.count()).select_from(table).where(key.in_(chunk)))
        if taken:
            raise BackupError(
                "ids_taken",
                f"{taken} {table.name} ids in the backup are already used here: restore into the "
                "installation it came from, or an empty one",
            )


async def _advance_sequences(session: AsyncSession, tables: list[Table]) -> None:
    """PostgreSQL hands out ids from sequences: move them past the restored ids."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not keys[0].autoincrement or keys[0].type.python_type is not int:
            continue
        key = keys[0]
        highest = select(func.coalesce(func.max(key), 1)).scalar_subquery()
        await session.execute(
            select(func.setval(func.pg_get_serial_sequence(table.name, key.name), highest))
        )
