"""What every command shares: settings read once (a bad one stops here, named), a database session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

from ler_plugin.config import Settings, SettingsError, load_settings
from ler_plugin.errors import LerError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
console = Console(stderr=True)


def settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@asynccontextmanager
async def session_scope(
    cfg: Settings, *, one_transaction: bool = True
) -> AsyncIterator[AsyncSession]:
    """A session for one command: all of it one transaction (committed at the end, rolled back
    on error), or, for services that commit as they go, none opened here."""
    from ler_plugin import rollups
    from ler_plugin.db import make_engine, make_session_factory

    engine = rollups.install(make_engine(cfg))
    try:
        async with make_session_factory(engine)() as session:
            if not one_transaction:
                yield session
                return
            async with session.begin():
                yield session
    finally:
        await engine.dispose()


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run one async command; our errors become one red line and exit status 1."""
    try:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    except LerError as exc:
        console.print(f"[red]error ({exc.code}):[/red] {exc.message}")
        raise typer.Exit(1) from None
