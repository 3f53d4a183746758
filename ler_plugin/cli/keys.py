from __future__ import annotations

import typer

from ler_plugin.cli.common import console, run, session_scope, settings

app = typer.Typer(
    no_args_is_help=True, help="The tool's own signing keys (published at /lti/jwks)."
)


@app.command("rotate")
def rotate() -> None:
    """Add a new signing key; the previous one stays published so calls in flight still verify."""
    from ler_plugin.lti import keys
    from ler_plugin.principal import Principal

    cfg = settings()

    async def go() -> str:
        async with session_scope(cfg) as session:
            key = await keys.rotate(session=session, settings=cfg, principal=Principal.operator())
            return key.kid

    kid = run(go)
    console.print(
        f"new signing key {kid}; the previous key stays published until the next rotation"
    )


@app.command("list")
def list_() -> None:
    """The tool's keys: which signs, which are published, which are retired."""
    from sqlalchemy import select

    from ler_plugin.lti.models import ToolKey

    cfg = settings()

    async def go() -> list[str]:
        async with session_scope(cfg) as session:
            rows = await session.scalars(
                select(ToolKey).order_by(ToolKey.activated_at.desc(), ToolKey.id.desc())
            )
            lines, live = [], 0
            for key in rows:
                if key.retired_at is None:
                    live += 1
                state = "retired" if key.retired_at else ("signing" if live == 1 else "published")
                lines.append(f"{key.kid}\t{state}\tactivated {key.activated_at:%Y-%m-%d %H:%M}")
            return lines

    for line in run(go) or ["no keys yet (one is made on first need)"]:
        print(line)
