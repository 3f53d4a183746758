"""`ler-plugin notify`: the night's reminders before licences expire and renewal cycles end."""

from __future__ import annotations

import datetime as dt

import typer

from ler_plugin.cli.common import console, run, session_scope, settings


def notify(
    district: str = typer.Option(..., help="Slug of the district."),
    today: str | None = typer.Option(
        None, "--today", help="Act as if it were this day (YYYY-MM-DD); default today."
    ),
) -> None:
    """Send every reminder due and not sent yet (run it nightly: a second run sends nothing new).
    Mail goes through LER_SMTP_URL; unset outside production, into .eml files under the data
    folder's outbox."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ler_plugin.districts import service as districts
    from ler_plugin.licences import mail, reminders
    from ler_plugin.principal import Principal

    cfg = settings()
    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        console.print(f"[red]error:[/red] --today {today!r} is not a date like 2026-08-01")
        raise typer.Exit(2) from None
    principal = Principal.operator()

    async def go() -> tuple[int, int, str]:
        mailer = mail.mailer(cfg)
        sender = mail.sender(cfg)
        sent = skipped = 0
        async with session_scope(cfg, one_transaction=False) as session:
            async with session.begin():
                found = await districts.get_by_slug(session=session, slug=district)
                district_id, name = found.id, found.name
                items = await reminders.due(
                    session=session, principal=principal, district_id=district_id, today=day
                )
            with Progress(
                TextColumn("[bold]sending reminders"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("send", total=len(items))
                for item in items:
                    # Noted first, sent, then committed: a failed send leaves no note behind,
                    # and two runs at once cannot both send the same reminder.
                    async with session.begin():
                        noted = await reminders.record_sent(
                            session=session,
                            principal=principal,
                            district_id=district_id,
                            item=item,
                            channel=mailer.channel,
                        )
                        if noted:
                            mailer.send(
                                mail.message(
                                    sender=sender,
                                    to=item.address,
                                    subject=item.subject,
                                    body=item.body(name, f"{cfg.base_url}/app/wallet"),
                                )
                            )
                    sent += noted
                    skipped += not noted
                    bar.advance(task)
        return sent, skipped, mailer.channel

    sent, skipped, channel = run(go)
    typer.echo(
        f"district {district}: {sent} reminder{'' if sent == 1 else 's'} sent ({channel}), "
        f"{skipped} already sent by another run"
    )
