from __future__ import annotations

import os

import typer

from ler_plugin.cli.common import console, run, session_scope, settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
) -> None:
    """Serve the tool with the configured database (run `db upgrade` first)."""
    import uvicorn

    settings()  # fail here, with the setting named, rather than inside each worker
    uvicorn.run(
        "ler_plugin.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    database: str = typer.Option(
        "sqlite+aiosqlite:///var/demo.sqlite3", help="Database for the demo (a SQLite file)."
    ),
) -> None:
    """Serve the whole product with a demo district and a demo LMS page."""
    import uvicorn

    from ler_plugin import demo as demo_data
    from ler_plugin import migrate
    from ler_plugin.app import build_app
    from ler_plugin.db import make_engine

    base_url = os.environ.get("LER_BASE_URL") or f"http://{host}:{port}"
    cfg = settings(
        environment="demo",
        database_url=database,
        base_url=base_url,
        allow_insecure_loopback=True,
    )

    async def prepare() -> demo_data.DemoInfo:
        engine = make_engine(cfg)
        try:
            await migrate.upgrade(engine, cfg)
        finally:
            await engine.dispose()
        async with session_scope(cfg) as session:
            return await demo_data.seed(session=session, settings=cfg)

    info = run(prepare)
    console.print(f"[bold green]Teacher Wallet demo[/bold green] on {cfg.base_url}")
    for line in info.lines:
        print(line, flush=True)  # plain: tokens and URLs must not be wrapped
    uvicorn.run(build_app(cfg), host=host, port=port, log_level="info")
