"""`ler-plugin notify` in a real process: reminders mailed to an SMTP server on 127.0.0.1 (aiosmtpd),
once per deadline and window; opted-out and inactive teachers get none; the development file sink."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from ler_plugin import credit
from ler_plugin.districts.models import District
from ler_plugin.licences import reminders
from ler_plugin.principal import Principal
from ler_plugin.rollups import compliance
from ler_plugin.roster.sources import SAMPLE
from ler_plugin.wallet.models import License, Teacher
from tests.conftest import free_port
from tests.roster.cli import Install
from tests.roster.test_oneroster_csv import import_bundle

pytestmark = pytest.mark.asyncio(loop_scope="session")

LICENCES = (
    "staff_id,email,licence_type,number,state,issued,expires,birth_month\n"
    "E10001,,classroom_teacher,TX-1001,TX,2022-07-01,2032-06-30,4\n"
    "E10002,,classroom_teacher,TX-1002,TX,2021-09-01,2026-12-31,9\n"
    "E10003,,classroom_teacher,TX-1003,TX,2021-09-01,2026-12-20,9\n"
    "E10009,,classroom_teacher,TX-1009,TX,2021-09-01,2026-12-31,9\n"
)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def ready(district: Install, tmp_path: Path) -> None:
    import_bundle(district, SAMPLE)
    (tmp_path / "licences.csv").write_text(LICENCES)
    district.run(
        "licences", "import", "--district", district.district, str(tmp_path / "licences.csv")
    )


def notify(district: Install, today: str, **env: str) -> str:
    return district.run("notify", "--district", district.district, "--today", today, **env).stdout


async def test_reminders_go_once_per_window_and_not_to_who_opted_out(
    district: Install, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    await ready(district, tmp_path)
    async with district.session() as session, session.begin():
        chloe = await session.scalar(select(Teacher).where(Teacher.staff_id == "E10003"))
        assert chloe is not None
        await reminders.set_reminders(
            session=session,
            principal=Principal.for_teacher(chloe.id, chloe.district_id),
            wanted=False,
        )
    # Ike left the district: the roster without him marks him inactive.
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for path in SAMPLE.iterdir():
        lines = path.read_text().splitlines(keepends=True)
        (bundle / path.name).write_text("".join(line for line in lines if "usr-t-0009" not in line))
    import_bundle(district, bundle)

    smtp_url = f"smtp://127.0.0.1:{port}"
    first = notify(district, "2026-12-01", LER_SMTP_URL=smtp_url)
    assert "1 reminder sent (smtp)" in first, first
    assert inbox.to("ben.okafor@demo.k12.example") == [
        "Your classroom teacher licence TX-1002 expires in 30 days"
    ]
    body = inbox.messages[0].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "December 31, 2026" in body and "/app/wallet" in body
    assert inbox.to("chloe.nguyen@demo.k12.example") == []  # opted out
    assert inbox.to("ike.mensah@demo.k12.example") == []  # inactive

    again = notify(district, "2026-12-01", LER_SMTP_URL=smtp_url)
    assert "0 reminders sent" in again and len(inbox.messages) == 1
    # Still inside the same 30-day window the next night: nothing new.
    assert "0 reminders sent" in notify(district, "2026-12-02", LER_SMTP_URL=smtp_url)
    # Inside the 7-day window: the last reminder.
    assert "1 reminder sent" in notify(district, "2026-12-26", LER_SMTP_URL=smtp_url)
    assert inbox.to("ben.okafor@demo.k12.example")[-1] == (
        "Your classroom teacher licence TX-1002 expires in 5 days"
    )


async def test_a_renewal_cycle_ending_with_hours_left_is_reminded(
    district: Install, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    await ready(district, tmp_path)
    async with district.session() as session:
        ana = await session.scalar(select(Teacher).where(Teacher.staff_id == "E10001"))
        assert ana is not None
        found = await session.get(District, ana.district_id)
        assert found is not None
        held = list(await session.scalars(select(License).where(License.teacher_id == ana.id)))
        ruleset = await compliance.ruleset_for(
            session=session, district=found, on=dt.date(2026, 12, 1)
        )
    end = credit.cycle_containing(
        ruleset, compliance.teacher_facts(4, held), dt.date(2026, 12, 1)
    ).end
    day = end - dt.timedelta(days=20)
    done = notify(district, day.isoformat(), LER_SMTP_URL=f"smtp://127.0.0.1:{port}")
    assert "sent (smtp)" in done
    subjects = inbox.to("ana.flores@demo.k12.example")
    assert subjects == ["Your renewal cycle ends in 20 days"], subjects
    body = (
        next(m for m in inbox.messages if m["To"] == "ana.flores@demo.k12.example")
        .get_payload(decode=True)
        .decode()
    )  # type: ignore[union-attr]
    assert "You still need" in body and "clock hours" in body


async def test_without_an_smtp_url_reminders_are_files_in_development(
    district: Install, tmp_path: Path
) -> None:
    await ready(district, tmp_path)
    done = notify(district, "2026-12-01")
    assert "3 reminders sent (file)" in done
    outbox = Path(district.settings.data_dir) / "outbox"
    mails = [message_from_bytes(p.read_bytes()) for p in outbox.glob("*.eml")]
    assert sorted(m["To"] for m in mails) == [
        "ben.okafor@demo.k12.example",
        "chloe.nguyen@demo.k12.example",
        "ike.mensah@demo.k12.example",
    ]
    refused = district.run(
        "notify",
        "--district",
        district.district,
        ok=False,
        LER_ENVIRONMENT="production",
        LER_SECRET_KEY="x" * 40,
        LER_BASE_URL="https://wallet.example.org",
        LER_ALLOW_INSECURE_LOOPBACK="false",
    )
    assert refused.returncode == 1 and "LER_SMTP_URL" in refused.stderr
    bad = district.run("notify", "--district", district.district, ok=False, LER_SMTP_URL="ftp://x")
    assert bad.returncode == 2 and "LER_SMTP_URL" in bad.stderr
