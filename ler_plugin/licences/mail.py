"""Sending reminders: by SMTP (`LER_SMTP_URL`), or into a folder of .eml files in development."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from ler_plugin.config import Settings
from ler_plugin.licences.errors import LicenceError

TIMEOUT = 30.0


class Mailer(Protocol):
    @property
    def channel(self) -> str: ...

    def send(self, message: EmailMessage) -> None: ...


def message(*, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> "))
    mail.set_content(body)
    return mail


@dataclass(frozen=True)
class FileMailer:
    """Development: each message an .eml file in `folder`, named by time."""

    folder: Path
    channel: str = "file"

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.eml"
        (self.folder / name).write_bytes(bytes(message))


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = None
    channel: str = "smtp"

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        try:
            if self.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=TIMEOUT, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            with client:
                client.ehlo()
                secure = self.implicit_tls
                if not secure and client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                    secure = True
                if self.username:
                    if not secure:
                        raise LicenceError(
                            "smtp_insecure",
                            f"{self.host} offers no TLS: the SMTP password is not sent in the clear",
                        )
                    client.login(self.username, self.password or "")
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise LicenceError(
                "smtp_failed", f"mailing through {self.host}:{self.port} failed: {exc}"
            ) from None


def mailer(settings: Settings) -> Mailer:
    """The mailer the settings ask for; in production there is no default."""
    url = settings.smtp_url
    if url is None:
        if settings.is_production:
            raise LicenceError(
                "no_smtp",
                "set LER_SMTP_URL (smtp://host:587 or smtps://host:465) to send reminders",
            )
        return FileMailer(settings.data_dir / "outbox")
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileMailer(Path(unquote(parts.path)))
    return SmtpMailer(
        host=parts.hostname or "",
        port=parts.port or (465 if parts.scheme == "smtps" else 587),
        implicit_tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def sender(settings: Settings) -> str:
    if settings.mail_from:
        return settings.mail_from
    host = urlsplit(settings.base_url).hostname or "localhost"
    if re.fullmatch(r"[\d.]+", host) or host == "localhost":
        host = "localhost.localdomain"
    return f"Teacher Wallet <wallet@{host}>"
