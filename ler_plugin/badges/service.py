"""Badge intake: providers post badges, teachers import their own, both through one pipeline.

parse -> verify (in a worker thread: it fetches) -> issuer binding -> credit -> recipient match
-> a verified wallet record, or a pending claim until the recipient launches -> audit event.

Decisions:
- An invalid badge is answered with its report (``valid: false`` and the error codes) and
  stores nothing: no badge row, no record, no claim. Only an audit event
  (``record:badge:refuse``) remembers the attempt, for the district.
- The same badge posted again (hosted: the same assertion id; signed: the same content) is the
  same Badge row and the same record: `(district_id, fingerprint)` is unique and the row is
  written with ``INSERT ... ON CONFLICT DO NOTHING`` and read back, so fifty simultaneous posts
  make one badge and one record. The first report stays; `recheck` refreshes it.
- Verification happens with no transaction open, so a slow issuer never holds a database
  connection or lock: intake is three steps, `receive_*` (reads, parses), `check` (verifies;
  takes no session) and `post_badge` / `import_badge` (writes), and the edge commits after the
  first and the last. `recheck` yields at the end of each unit of work for the edge to commit.
  No function here commits: services flush, the edge owns the transaction.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.models import Badge, PendingClaim
from ler_plugin.badges.parse import BadgeInput, parse_badge, parse_json, parse_text
from ler_plugin.badges.pipeline import (
    Credit,
    PostedCredit,
    decide_credit,
    fingerprint,
    identity_matches,
    is_email_recipient,
    plain_recipient_email,
    verify_input,
)
from ler_plugin.badges.report import RecipientSummary, VerificationReport
from ler_plugin.db import upsert_insert, utcnow
from ler_plugin.errors import NotFound
from ler_plugin.fetch import FetchPolicy
from ler_plugin.principal import Principal, Role
from ler_plugin.providers import service as providers
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.service import Record, RecordKind, RecordSource, RecordStatus


@dataclass(frozen=True)
class Submission:
    """What a provider or teacher sends: exactly one of the badge forms, plus hints."""

    url: str | None = None
    json: dict[str, Any] | str | None = None
    jws: str | None = None
    image_base64: str | None = None
    credential: dict[str, Any] | str | None = None
    recipient_email: str | None = None
    credit: PostedCredit | None = None


@dataclass(frozen=True)
class IntakeResult:
    """`outcome`: ``recorded`` (in a wallet), ``pending_claim`` or ``refused`` (not valid)."""

    outcome: str
    report: VerificationReport
    badge: Badge | None = None
    record: Record | None = None
    claim: PendingClaim | None = None
    created: bool = False


def parse_submission(submission: Submission) -> BadgeInput:
    given = {
        name: value
        for name, value in (
            ("url", submission.url),
            ("json", submission.json),
            ("jws", submission.jws),
            ("imageBase64", submission.image_base64),
            ("credential", submission.credential),
        )
        if value not in (None, "")
    }
    if len(given) != 1:
        raise BadgeError(
            "invalid_input",
            "send exactly one of url, json, jws, imageBase64 or credential"
            + (f" (got {', '.join(sorted(given))})" if given else ""),
        )
    ((name, value),) = given.items()
    if name == "imageBase64":
        try:
            image = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise BadgeError("invalid_image", "imageBase64 is not valid base64") from None
        return parse_badge(image)
    if isinstance(value, dict):
        return parse_json(value)
    parsed = parse_text(str(value))
    if name == "url" and parsed.kind != "url":
        raise BadgeError("invalid_input", "url must be an http(s) URL of a hosted assertion")
    return parsed


# Verifications wait on other people's servers: they get their own threads, at most this many
# per event loop, so a burst of slow badges cannot take the threads token requests hash in.
VERIFY_THREADS = 16
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _verify_limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:  # a limiter belongs to the loop that made it
        limiter = _limiters[loop] = anyio.CapacityLimiter(VERIFY_THREADS)
    return limiter


async def _verify(badge_input: BadgeInput, policy: FetchPolicy) -> VerificationReport:
    return await anyio.to_thread.run_sync(
        lambda: verify_input(badge_input, policy=policy), limiter=_verify_limiter()
    )


# --- intake ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A submission parsed, with what its intake read from the database before any fetch: the
    acting provider (a post) or the teacher and their verified emails (an import)."""

    principal: Principal
    district_id: int
    submission: Submission
    badge_input: BadgeInput
    acting: providers.ActingProvider | None = None
    teacher_id: int | None = None
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checked:
    """A received submission and its verification report."""

    received: Received
    report: VerificationReport


async def receive_post(
    *, session: AsyncSession, principal: Principal, submission: Submission
) -> Received:
    """A provider's post, step 1: the provider may act (approved, credential not revoked: read
    now, so a revoked provider makes us fetch nothing) and the submission parses. Writes nothing:
    the edge ends this reading transaction before `check` fetches."""
    acting = await providers.authorise(session=session, principal=principal)
    return Received(
        principal, acting.district_id, submission, parse_submission(submission), acting=acting
    )


async def receive_import(
    *, session: AsyncSession, principal: Principal, submission: Submission
) -> Received:
    """A teacher's import, step 1: a teacher, their verified emails, the submission parsed."""
    principal.require(Role.TEACHER)
    if principal.teacher_id is None or principal.district_id is None:
        raise BadgeError("forbidden", "only a teacher can import a badge", status=403)
    emails = await wallets.verified_emails(session, principal.teacher_id)
    return Received(
        principal,
        principal.district_id,
        submission,
        parse_submission(submission),
        teacher_id=principal.teacher_id,
        emails=tuple(emails),
    )


async def check(received: Received, *, policy: FetchPolicy) -> Checked:
    """Step 2: verify (fetching issuers, keys, status lists through the guarded fetcher, in a
    worker thread). Takes no session: call it with no transaction open."""
    return Checked(received, await _verify(received.badge_input, policy))


async def post_badge(*, session: AsyncSession, checked: Checked) -> IntakeResult:
    """A provider's post, step 3: store the badge it issued (through one of its registered
    issuers) and land it in the recipient's wallet, or keep it as a pending claim. Flushes."""
    received, report = checked.received, checked.report
    principal, acting, submission = received.principal, received.acting, received.submission
    assert acting is not None, "a post is received by receive_post"
    if not report.valid:
        return _refused(session, principal, acting.district_id, report)
    acting.require_issuer(report.issuer.id)
    hint = _recipient_hint(report.recipient, submission.recipient_email)
    credit = decide_credit(
        report, posted=submission.credit, credit_unit=acting.credit_unit, posted_by_issuer=True
    )
    badge, created = await _store_badge(
        session, acting.district_id, acting.id, received.badge_input, report, credit
    )
    if not created:
        return await _existing(session, badge, report_of(badge))
    teacher_id = await _find_recipient(session, acting.district_id, report.recipient, hint)
    if teacher_id is None:
        claim = _pending_claim(session, badge, report.recipient, hint)
        await session.flush()
        _audit_verify(session, principal, badge, outcome="pending_claim")
        return IntakeResult("pending_claim", report, badge, claim=claim, created=True)
    record = await _land(session, principal, badge, teacher_id, RecordSource.PROVIDER)
    _audit_verify(session, principal, badge, outcome="recorded")
    return IntakeResult("recorded", report, badge, record=record, created=True)


async def import_badge(*, session: AsyncSession, checked: Checked) -> IntakeResult:
    """A teacher's import, step 3: a badge of their own, whose recipient must be one of their
    verified emails, lands in their wallet (or claims the pending claim it waited as)."""
    received, report = checked.received, checked.report
    principal, district_id, teacher_id = (
        received.principal,
        received.district_id,
        received.teacher_id,
    )
    assert teacher_id is not None, "an import is received by receive_import"
    if not report.valid:
        return _refused(session, principal, district_id, report)
    if not any(identity_matches(report.recipient, e) for e in received.emails):
        raise BadgeError(
            "recipient_mismatch",
            "this badge was awarded to an address that is not one of your verified emails",
            status=403,
        )
    provider = await providers.approved_for_issuer(
        session=session, district_id=district_id, issuer=report.issuer.id
    )
    credit = decide_credit(
        report,
        posted=received.submission.credit,
        credit_unit=provider.credit_unit if provider else None,
        posted_by_issuer=False,
    )
    badge, created = await _store_badge(
        session,
        district_id,
        provider.id if provider else None,
        received.badge_input,
        report,
        credit,
    )
    if created:
        record = await _land(session, principal, badge, teacher_id, RecordSource.IMPORT)
        _audit_verify(session, principal, badge, outcome="recorded")
        return IntakeResult("recorded", report, badge, record=record, created=True)
    if badge.record_id is None and not badge.revoked:
        # Already here, waiting as a claim for this teacher's address: importing it claims it.
        claim = await session.scalar(
            select(PendingClaim).where(
                PendingClaim.badge_id == badge.id, PendingClaim.claimed_at.is_(None)
            )
        )
        if claim is not None:
            record = await _land_claim(session, principal, claim, badge, teacher_id)
            return IntakeResult("recorded", report_of(badge), badge, record=record)
    return await _existing(session, badge, report_of(badge))


def _refused(
    session: AsyncSession, principal: Principal, district_id: int, report: VerificationReport
) -> IntakeResult:
    record_event(
        session,
        "record:badge:refuse",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district_id,
        subject_type="badge",
        subject_id=report.assertion_id,
        errors=report.error_codes,
    )
    return IntakeResult("refused", report)


def _recipient_hint(recipient: RecipientSummary, email: str | None) -> str | None:
    """The provider's plain email for the recipient, checked against the badge when it can be."""
    if not email:
        return plain_recipient_email(recipient)
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise BadgeError("bad_recipient_email", "recipientEmail is not an email address")
    # A badge naming its recipient by email must name this one; one naming a DID or URL
    # cannot be checked, and the provider speaks for the issuer.
    if is_email_recipient(recipient) and not identity_matches(recipient, email):
        raise BadgeError(
            "recipient_mismatch", "recipientEmail is not the recipient the badge names"
        )
    return email


async def _existing(
    session: AsyncSession, badge: Badge, report: VerificationReport
) -> IntakeResult:
    if badge.record_id is not None:
        record = await wallets.get_record(session=session, record_id=badge.record_id)
        return IntakeResult("recorded", report, badge, record=record)
    claim = await session.scalar(select(PendingClaim).where(PendingClaim.badge_id == badge.id))
    return IntakeResult("pending_claim", report, badge, claim=claim)


def report_of(badge: Badge) -> VerificationReport:
    report = VerificationReport.from_json(badge.report)
    report.raw = badge.credential or None
    return report


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else value


async def _store_badge(
    session: AsyncSession,
    district_id: int,
    provider_id: int | None,
    badge_input: BadgeInput,
    report: VerificationReport,
    credit: Credit,
) -> tuple[Badge, bool]:
    """Insert the badge unless this district already has it; (the row, whether we made it)."""
    key = fingerprint(badge_input, report)
    stored_report = {**report.to_json(), "raw": None}
    credential = badge_input.data if badge_input.kind == "json" else report.raw
    values: dict[str, Any] = {
        "district_id": district_id,
        "provider_id": provider_id,
        "fingerprint": key,
        "format": report.format,
        "source_url": _clip(badge_input.url, 2048),
        "assertion_id": _clip(report.assertion_id, 2048),
        "issuer_id": _clip(report.issuer.id, 2048),
        "issuer_name": _clip(report.issuer.name, 255),
        "name": _clip(report.badge_class.name, 500) or "Untitled badge",
        "description": _clip(report.badge_class.description, 4000),
        "image_url": _clip(report.badge_class.image, 2048),
        "recipient_identity": _clip(report.recipient.identity, 512),
        "valid": report.valid,
        "revoked": False,
        "expires_at": report.expires_at,
        "issued_at": report.issued_on,
        "verified_at": report.checked_at,
        "report": stored_report,
        "credential": credential or {},
        "clock_hours": credit.clock_hours,
        "ceus": credit.ceus,
        "category": _clip(credit.category, 64),
        "credit_note": "; ".join(credit.notes) or None,
        "created_at": utcnow(),
    }
    table = Badge.__table__
    statement = (
        upsert_insert(session, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["district_id", "fingerprint"])
        .returning(table.c.id)
    )
    inserted = (await session.execute(statement)).scalar() is not None
    badge = await session.scalar(
        select(Badge)
        .where(Badge.district_id == district_id, Badge.fingerprint == key)
        .execution_options(populate_existing=True)
    )
    assert badge is not None  # inserted now, or by whoever won the race (committed)
    return badge, inserted


async def _find_recipient(
    session: AsyncSession, district_id: int, recipient: RecipientSummary, hint: str | None
) -> int | None:
    """The teacher in the district whose verified email the badge names, if any."""
    plain = hint or plain_recipient_email(recipient)
    if plain is not None:
        return await wallets.teacher_with_verified_email(
            session=session, district_id=district_id, email=plain
        )
    if not is_email_recipient(recipient):
        return None
    # Hashed and no hint: try every verified address in the district (a hash per teacher).
    for teacher_id, email in await wallets.verified_addresses(
        session=session, district_id=district_id
    ):
        if identity_matches(recipient, email):
            return teacher_id
    return None


def _pending_claim(
    session: AsyncSession, badge: Badge, recipient: RecipientSummary, hint: str | None
) -> PendingClaim:
    hashed = not hint and is_email_recipient(recipient)
    claim = PendingClaim(
        district_id=badge.district_id,
        badge_id=badge.id,
        recipient_email=hint,
        recipient_hash=_clip(recipient.identity, 255) if hashed else None,
        recipient_salt=_clip(recipient.salt, 255) if hashed else None,
    )
    session.add(claim)
    return claim


async def _land(
    session: AsyncSession,
    principal: Principal,
    badge: Badge,
    teacher_id: int,
    source: RecordSource,
) -> Record:
    """The badge as a verified record in the teacher's wallet."""
    issued = badge.issued_at or badge.verified_at
    provider_name = badge.issuer_name
    if badge.provider_id is not None:
        provider_name = (
            await providers.name_of(session=session, provider_id=badge.provider_id) or provider_name
        )
    landed = await wallets.land_record(
        session=session,
        principal=principal,
        teacher_id=teacher_id,
        data=wallets.RecordInput(
            kind=RecordKind.BADGE,
            title=badge.name,
            completed_on=issued.astimezone(dt.UTC).date(),
            source=source,
            status=RecordStatus.VERIFIED,
            clock_hours=badge.clock_hours,
            ceus=badge.ceus,
            description=badge.description,
            provider_id=badge.provider_id,
            provider_name=_clip(provider_name, 255),
            category=badge.category,
            source_key=f"badge:{badge.fingerprint}",
            review_note=badge.credit_note,
        ),
    )
    badge.record_id = landed.record.id
    await session.flush()
    return landed.record


def _audit_verify(session: AsyncSession, principal: Principal, badge: Badge, outcome: str) -> None:
    record_event(
        session,
        "record:badge:verify",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=badge.district_id,
        subject_type="badge",
        subject_id=badge.id,
        outcome=outcome,
        record_id=badge.record_id,
        fingerprint=badge.fingerprint,
    )


# --- claims ------------------------------------------------------------------------------------


def _claim_matches(claim: PendingClaim, emails: list[str]) -> bool:
    if claim.recipient_email is not None:
        return claim.recipient_email in {e.lower() for e in emails}
    recipient = RecipientSummary(
        identity=claim.recipient_hash, type="email", hashed=True, salt=claim.recipient_salt
    )
    return any(identity_matches(recipient, e) for e in emails)


async def _open_claims_for(
    session: AsyncSession, district_id: int, emails: list[str]
) -> list[tuple[PendingClaim, Badge]]:
    if not emails:
        return []
    rows = await session.execute(
        select(PendingClaim, Badge)
        .join(Badge, Badge.id == PendingClaim.badge_id)
        .where(
            PendingClaim.district_id == district_id,
            PendingClaim.claimed_at.is_(None),
            PendingClaim.declined_at.is_(None),
            Badge.revoked.is_(False),
            or_(
                PendingClaim.recipient_email.in_([e.lower() for e in emails]),
                and_(
                    PendingClaim.recipient_email.is_(None),
                    PendingClaim.recipient_hash.is_not(None),
                ),
            ),
        )
        .order_by(PendingClaim.id)
    )
    return [(c, b) for c, b in rows.tuples() if _claim_matches(c, emails)]


async def _land_claim(
    session: AsyncSession, principal: Principal, claim: PendingClaim, badge: Badge, teacher_id: int
) -> Record:
    source = RecordSource.PROVIDER if badge.provider_id else RecordSource.IMPORT
    record = await _land(session, principal, badge, teacher_id, source)
    claim.claimed_at = utcnow()
    record_event(
        session,
        "record:badge:claim",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=badge.district_id,
        subject_type="badge",
        subject_id=badge.id,
        record_id=record.id,
        claim_id=claim.id,
    )
    await session.flush()
    return record


async def claim_pending_for_teacher(*, session: AsyncSession, teacher_id: int) -> list[Record]:
    """Land every open claim addressed to the teacher's verified emails.

    The LTI launch calls it once the teacher's emails are stored; the caller commits."""
    teacher = await wallets.get_teacher(session=session, teacher_id=teacher_id)
    principal = Principal.for_teacher(teacher.id, teacher.district_id)
    emails = await wallets.verified_emails(session, teacher.id)
    records = []
    for claim, badge in await _open_claims_for(session, teacher.district_id, emails):
        records.append(await _land_claim(session, principal, claim, badge, teacher.id))
    return records


async def list_pending_claims(
    *, session: AsyncSession, principal: Principal
) -> list[tuple[PendingClaim, Badge]]:
    """Open claims addressed to the signed-in teacher's verified emails."""
    teacher_id, district_id = _teacher(principal)
    emails = await wallets.verified_emails(session, teacher_id)
    return await _open_claims_for(session, district_id, emails)


def _teacher(principal: Principal) -> tuple[int, int]:
    principal.require(Role.TEACHER)
    if principal.teacher_id is None or principal.district_id is None:
        raise BadgeError("forbidden", "only a teacher has claims", status=403)
    return principal.teacher_id, principal.district_id


async def _my_open_claim(
    session: AsyncSession, principal: Principal, claim_id: int
) -> tuple[PendingClaim, Badge]:
    for claim, badge in await list_pending_claims(session=session, principal=principal):
        if claim.id == claim_id:
            return claim, badge
    raise NotFound("claim_not_found", "no open claim with that id for your email addresses")


async def accept_claim(*, session: AsyncSession, principal: Principal, claim_id: int) -> Record:
    teacher_id, _ = _teacher(principal)
    claim, badge = await _my_open_claim(session, principal, claim_id)
    return await _land_claim(session, principal, claim, badge, teacher_id)


async def decline_claim(
    *, session: AsyncSession, principal: Principal, claim_id: int
) -> PendingClaim:
    """The teacher says the badge is not theirs (or not wanted): it never lands."""
    _teacher(principal)
    claim, badge = await _my_open_claim(session, principal, claim_id)
    claim.declined_at = utcnow()
    record_event(
        session,
        "record:badge:decline",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=badge.district_id,
        subject_type="badge",
        subject_id=badge.id,
        claim_id=claim.id,
    )
    await session.flush()
    return claim


# --- reading, revoking, rechecking -------------------------------------------------------------


async def get_badge(*, session: AsyncSession, principal: Principal, badge_id: int) -> Badge:
    """A badge with its report: for the teacher whose wallet holds it, and that district's
    admins. Anyone else is told it does not exist."""
    badge = await session.get(Badge, badge_id)
    if badge is not None and await _may_read(session, principal, badge):
        return badge
    raise NotFound("badge_not_found", f"no badge with id {badge_id}")


async def badge_of_record(*, session: AsyncSession, principal: Principal, record_id: int) -> Badge:
    badge = await session.scalar(select(Badge).where(Badge.record_id == record_id))
    if badge is not None and await _may_read(session, principal, badge):
        return badge
    raise NotFound("badge_not_found", f"no badge behind record {record_id}")


async def _may_read(session: AsyncSession, principal: Principal, badge: Badge) -> bool:
    if Role.OPERATOR in principal.roles:
        return True
    if principal.district_id != badge.district_id:
        return False
    if Role.DISTRICT_ADMIN in principal.roles:
        return True
    if principal.teacher_id is None or badge.record_id is None:
        return False
    owner = await wallets.owner_of_record(session=session, record_id=badge.record_id)
    return owner == principal.teacher_id


async def revoke_badge(
    *, session: AsyncSession, principal: Principal, badge_id: int, reason: str
) -> Badge:
    """The provider that posted a badge (or the district's admin) withdraws it: its record is
    revoked and stops counting; the teacher sees the reason."""
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise BadgeError("bad_reason", "give a reason of at most 1000 characters")
    badge = await session.get(Badge, badge_id)
    allowed = False
    if badge is not None:
        if Role.PROVIDER in principal.roles:
            acting = await providers.authorise(session=session, principal=principal)
            allowed = badge.provider_id == acting.id and badge.district_id == acting.district_id
        elif principal.has(Role.DISTRICT_ADMIN):
            allowed = Role.OPERATOR in principal.roles or principal.district_id == badge.district_id
    if badge is None or not allowed:
        raise NotFound("badge_not_found", f"no badge with id {badge_id} posted by you")
    await mark(session, principal, badge, RecordStatus.REVOKED, f"revoked by the issuer: {reason}")
    return badge


async def mark(
    session: AsyncSession, principal: Principal, badge: Badge, status: RecordStatus, reason: str
) -> None:
    """Record a badge as revoked or expired, and its wallet record with it."""
    if status == RecordStatus.REVOKED:
        badge.revoked = True
        badge.revoked_reason = reason
    if badge.record_id is not None:
        await wallets.set_record_status(
            session=session, record_id=badge.record_id, status=status, reason=reason
        )
    record_event(
        session,
        f"record:badge:{'revoke' if status == RecordStatus.REVOKED else 'expire'}",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=badge.district_id,
        subject_type="badge",
        subject_id=badge.id,
        reason=reason,
    )
    await session.flush()


@dataclass
class RecheckSummary:
    checked: int = 0
    still_valid: int = 0
    revoked: int = 0
    expired: int = 0
    unreachable: int = 0


def _recheck_input(badge: Badge) -> BadgeInput | None:
    if badge.source_url:
        return BadgeInput(kind="url", format="ob2", url=badge.source_url)
    if badge.format in ("ob3", "clr2") and badge.credential.get("credentialStatus"):
        return parse_json(badge.credential)
    return None


async def verify_again(badge: Badge, *, policy: FetchPolicy) -> VerificationReport | None:
    """A live verification of a stored badge that stores nothing (the public share page shows
    it); None when the badge has nothing that can change (a signed OB 2.0 assertion)."""
    if badge.format in ("ob3", "clr2") and badge.credential:
        return await _verify(parse_json(badge.credential), policy)
    badge_input = _recheck_input(badge)
    return await _verify(badge_input, policy) if badge_input else None


@dataclass(frozen=True)
class RecheckProgress:
    done: int
    total: int
    summary: RecheckSummary


async def recheck(
    *,
    session: AsyncSession,
    principal: Principal,
    policy: FetchPolicy,
    district_id: int | None = None,
) -> AsyncIterator[RecheckProgress]:
    """Verify again every live badge that can change (hosted OB 2.0; OB 3.0 with a status
    list); mark the revoked and expired ones. A badge whose host cannot be reached keeps its
    status: an outage is not a revocation.

    Yields at the end of each unit of work, and the caller (the edge) commits there: once after
    reading what to check (before the first fetch), then after each badge. So no transaction is
    held while an issuer is fetched (on SQLite a held write would stall every other writer for
    the whole run) and a run that stops keeps what it found."""
    principal.require(Role.DISTRICT_ADMIN)
    query = select(Badge).where(Badge.revoked.is_(False), Badge.valid.is_(True))
    if district_id is not None:
        principal.require_district(district_id)
        query = query.where(Badge.district_id == district_id)
    elif Role.OPERATOR not in principal.roles:
        raise BadgeError("district_required", "name the district to recheck")
    checkable = [
        (badge, badge_input)
        for badge in await session.scalars(query.order_by(Badge.id))
        if (badge_input := _recheck_input(badge)) is not None
    ]
    expired_records = await wallets.records_in_status(
        session=session,
        record_ids=[b.record_id for b, _ in checkable if b.record_id],
        status=RecordStatus.EXPIRED,
    )
    summary = RecheckSummary()
    yield RecheckProgress(0, len(checkable), summary)
    for index, (badge, badge_input) in enumerate(checkable, start=1):
        report = await _verify(badge_input, policy)
        summary.checked += 1
        if report.revoked:
            summary.revoked += 1
            why = "; ".join(m.message for m in report.errors if m.code in ("revoked", "gone"))
            await mark(session, principal, badge, RecordStatus.REVOKED, why or "revoked")
        elif report.expired:
            summary.expired += 1
            if badge.record_id not in expired_records:
                why = "; ".join(m.message for m in report.errors if m.code == "expired")
                await mark(session, principal, badge, RecordStatus.EXPIRED, why or "expired")
        elif report.valid:
            summary.still_valid += 1
        else:
            summary.unreachable += 1  # an outage: the badge keeps its status and its report
        if report.valid or report.revoked or report.expired:
            badge.report = {**report.to_json(), "raw": None}
            badge.verified_at = report.checked_at
            await session.flush()
        yield RecheckProgress(index, len(checkable), summary)
