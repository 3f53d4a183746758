"""Share links: a teacher hands a chosen set of records to anyone holding an unguessable URL.

The token is never stored: the table keeps its SHA-256 (for lookup) and a random nonce; the
token is an HMAC of the nonce under the service secret, so the teacher's page can show the link
again while a copy of the database alone opens nothing. A link shows only the records chosen
for it, minus any the teacher has since made private (a quick way to pull one back), and stops
working when it expires or is revoked.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from sqlalchemy import Boolean, ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.audit import AuditEvent, list_subject_events, record_event
from ler_plugin.config import Settings
from ler_plugin.db import Base, aware, utcnow
from ler_plugin.pagination import Page
from ler_plugin.principal import Principal
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import Record, Teacher, Visibility, Wallet

LABEL_MAX = 200
EXPIRY_CHOICES_DAYS = (7, 30, 90, 365)
MAX_RECORDS_PER_LINK = 500


class ShareLink(Base):
    """A link a teacher made to show some of their records to anyone who has it."""

    __tablename__ = "share_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallet.id", ondelete="CASCADE"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(LABEL_MAX))
    hide_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ShareLinkRecord(Base):
    """One record a share link shows."""

    __tablename__ = "share_link_record"

    share_link_id: Mapped[int] = mapped_column(
        ForeignKey("share_link.id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[int] = mapped_column(
        ForeignKey("record.id", ondelete="CASCADE"), primary_key=True, index=True
    )


@dataclass(frozen=True)
class SharedView:
    """What a share link opens: the records, and the owner only when the teacher allowed it."""

    link: ShareLink
    records: list[Record]
    owner_name: str | None
    owner_picture_url: str | None


def token_for(settings: Settings, link: ShareLink) -> str:
    mac = hmac.new(settings.secret_key.encode(), f"share:{link.nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_active(link: ShareLink, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return link.revoked_at is None and aware(link.expires_at) > now


async def create_link(
    *,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    wallet: Wallet,
    record_ids: list[int],
    expires_in_days: int,
    hide_identity: bool,
    label: str | None = None,
) -> tuple[ShareLink, str]:
    """A new link to the chosen records of the principal's own wallet; returns it and its token."""
    if wallet.teacher_id != principal.teacher_id:
        raise WalletError("forbidden", "you can share only your own records", status=403)
    if expires_in_days not in EXPIRY_CHOICES_DAYS:
        choices = ", ".join(str(d) for d in EXPIRY_CHOICES_DAYS)
        raise WalletError("bad_expiry", f"a link expires after one of {choices} days")
    chosen = sorted(set(record_ids))
    if not chosen:
        raise WalletError("no_records", "choose at least one record to share")
    if len(chosen) > MAX_RECORDS_PER_LINK:
        raise WalletError(
            "too_many_records", f"a link shows at most {MAX_RECORDS_PER_LINK} records"
        )
    label = (label or "").strip() or None
    if label and len(label) > LABEL_MAX:
        raise WalletError("bad_label", f"the label is longer than {LABEL_MAX} characters")
    records = list(
        await session.scalars(
            select(Record).where(Record.wallet_id == wallet.id, Record.id.in_(chosen))
        )
    )
    if len(records) != len(chosen):
        raise WalletError("record_not_found", "one of the chosen records is not in your wallet")
    private = [r.title for r in records if r.visibility == Visibility.PRIVATE]
    if private:
        raise WalletError(
            "record_private",
            f"“{private[0]}” is private: make it district or public before sharing it",
        )
    teacher = await session.get(Teacher, wallet.teacher_id)
    assert teacher is not None
    link = ShareLink(
        wallet_id=wallet.id,
        district_id=teacher.district_id,
        nonce=secrets.token_urlsafe(24),
        token_hash="",
        label=label,
        hide_identity=hide_identity,
        expires_at=utcnow() + dt.timedelta(days=expires_in_days),
    )
    token = token_for(settings, link)
    link.token_hash = _hash(token)
    session.add(link)
    await session.flush()
    session.add_all(ShareLinkRecord(share_link_id=link.id, record_id=r) for r in chosen)
    await session.flush()
    record_event(
        session,
        "share:link:create",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=teacher.district_id,
        subject_type="share_link",
        subject_id=link.id,
        records=chosen,
        hide_identity=hide_identity,
        expires_at=link.expires_at.isoformat(),
    )
    return link, token


async def list_links(*, session: AsyncSession, wallet: Wallet) -> list[tuple[ShareLink, int]]:
    """The wallet's links, newest first, each with how many records it names."""
    links = list(
        await session.scalars(
            select(ShareLink)
            .where(ShareLink.wallet_id == wallet.id)
            .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
        )
    )
    counts: dict[int, int] = {}
    if links:
        rows = await session.execute(
            select(ShareLinkRecord.share_link_id, ShareLinkRecord.record_id).where(
                ShareLinkRecord.share_link_id.in_([link.id for link in links])
            )
        )
        for link_id, _record_id in rows:
            counts[link_id] = counts.get(link_id, 0) + 1
    return [(link, counts.get(link.id, 0)) for link in links]


async def revoke_link(
    *, session: AsyncSession, principal: Principal, wallet: Wallet, link_id: int
) -> ShareLink:
    link = await session.get(ShareLink, link_id)
    if link is None or link.wallet_id != wallet.id or wallet.teacher_id != principal.teacher_id:
        raise WalletError("share_link_not_found", "no such share link in your wallet", status=404)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        record_event(
            session,
            "share:link:revoke",
            actor_kind=principal.actor_kind,
            actor_id=principal.subject,
            district_id=link.district_id,
            subject_type="share_link",
            subject_id=link.id,
        )
        await session.flush()
    return link


VIEW_TAG = "share:link:view"


def coarse_address(address: str | None) -> str | None:
    """The viewer's network, not their machine: IPv4 to its /24, IPv6 to its /48. Enough for a
    teacher to tell "my principal's office" from "somewhere else", without logging a person."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


async def open_link(
    *, session: AsyncSession, token: str, viewer_ip: str | None = None
) -> SharedView:
    """What anyone holding the token may see; a link that is unknown, expired or revoked is 404.
    Each successful open writes a `share:link:view` event (the viewer's address coarsened), so the
    owner can see who looked; the caller commits it."""
    gone = WalletError(
        "share_link_not_found",
        "this link does not work: it may have expired or been revoked by its owner",
        status=404,
    )
    if not token or len(token) > 100:
        raise gone
    link = await session.scalar(select(ShareLink).where(ShareLink.token_hash == _hash(token)))
    if link is None or not is_active(link):
        raise gone
    records = list(
        await session.scalars(
            select(Record)
            .join(ShareLinkRecord, ShareLinkRecord.record_id == Record.id)
            .where(
                ShareLinkRecord.share_link_id == link.id,
                Record.wallet_id == link.wallet_id,
                Record.visibility != Visibility.PRIVATE,
            )
            .order_by(Record.completed_on.desc(), Record.id.desc())
        )
    )
    wallet = await session.get(Wallet, link.wallet_id)
    assert wallet is not None
    teacher = await session.get(Teacher, wallet.teacher_id)
    assert teacher is not None
    record_event(
        session,
        VIEW_TAG,
        actor_kind="anonymous",
        actor_id=None,
        district_id=link.district_id,
        subject_type="share_link",
        subject_id=link.id,
        ip=coarse_address(viewer_ip) or "",  # never None: the full address must not fill in
        records=len(records),
    )
    return SharedView(
        link=link,
        records=records,
        owner_name=None if link.hide_identity else teacher.display_name,
        owner_picture_url=None if link.hide_identity else teacher.picture_url,
    )


async def link_views(
    *,
    session: AsyncSession,
    principal: Principal,
    wallet: Wallet,
    first: int = 20,
    after: str | None = None,
) -> Page[AuditEvent]:
    """Opens of the principal's own share links, newest first."""
    if wallet.teacher_id != principal.teacher_id:
        raise WalletError("forbidden", "you can see views of your own links only", status=403)
    link_ids = await session.scalars(select(ShareLink.id).where(ShareLink.wallet_id == wallet.id))
    return await list_subject_events(
        session=session,
        tag=VIEW_TAG,
        subject_type="share_link",
        subject_ids=[str(i) for i in link_ids],
        first=first,
        after=after,
    )


async def recent_views(
    *, session: AsyncSession, links: list[ShareLink], per_link: int = 5
) -> dict[int, list[AuditEvent]]:
    """The latest few opens of each link (for the share management page)."""
    found: dict[int, list[AuditEvent]] = {}
    for link in links:
        page = await list_subject_events(
            session=session,
            tag=VIEW_TAG,
            subject_type="share_link",
            subject_ids=[str(link.id)],
            first=per_link,
        )
        found[link.id] = page.items
    return found
