"""Badges in GraphQL: providers post and revoke, teachers import and claim, reports for the
badge's teacher and district admins only. Resolvers ask `badges.service` and shape answers."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

from ler_plugin import ratelimit
from ler_plugin.api.context import Info
from ler_plugin.api.wallet import Record
from ler_plugin.badges import models
from ler_plugin.badges import service as badges
from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.pipeline import PostedCredit
from ler_plugin.badges.report import VerificationReport as DomainReport
from ler_plugin.errors import LerError
from ler_plugin.fetch import FetchPolicy


@strawberry.type
class ReportMessage:
    code: str
    message: str


@strawberry.type
class IssuerSummary:
    id: str | None
    name: str | None
    url: str | None


@strawberry.type
class AchievementSummary:
    id: str | None
    name: str | None
    description: str | None
    image: str | None
    criteria: str | None


@strawberry.type(description="What verifying a badge found: every check, error and warning.")
class VerificationReport:
    valid: bool
    format: str
    errors: list[ReportMessage]
    warnings: list[ReportMessage]
    checks: list[str]
    checked_at: dt.datetime
    revoked: bool
    expired: bool
    expires_at: dt.datetime | None
    issued_on: dt.datetime | None
    assertion_id: str | None
    issuer: IssuerSummary
    achievement: AchievementSummary
    recipient_hashed: bool

    @classmethod
    def from_domain(cls, report: DomainReport) -> VerificationReport:
        return cls(
            valid=report.valid,
            format=report.format,
            errors=[ReportMessage(code=m.code, message=m.message) for m in report.errors],
            warnings=[ReportMessage(code=m.code, message=m.message) for m in report.warnings],
            checks=list(report.checks),
            checked_at=report.checked_at,
            revoked=report.revoked,
            expired=report.expired,
            expires_at=report.expires_at,
            issued_on=report.issued_on,
            assertion_id=report.assertion_id,
            issuer=IssuerSummary(
                id=report.issuer.id, name=report.issuer.name, url=report.issuer.url
            ),
            achievement=AchievementSummary(
                id=report.badge_class.id,
                name=report.badge_class.name,
                description=report.badge_class.description,
                image=report.badge_class.image,
                criteria=report.badge_class.criteria,
            ),
            recipient_hashed=report.recipient.hashed,
        )


@strawberry.type
class Badge:
    id: strawberry.ID
    name: str
    description: str | None
    format: str
    issuer_id: str | None
    issuer_name: str | None
    image_url: str | None
    issued_at: dt.datetime | None
    expires_at: dt.datetime | None
    verified_at: dt.datetime
    revoked: bool
    revoked_reason: str | None
    clock_hours: Decimal | None
    ceus: Decimal | None
    category: str | None
    credit_note: str | None
    record_id: strawberry.ID | None
    report: VerificationReport

    @classmethod
    def from_model(cls, badge: models.Badge) -> Badge:
        return cls(
            id=strawberry.ID(str(badge.id)),
            name=badge.name,
            description=badge.description,
            format=badge.format,
            issuer_id=badge.issuer_id,
            issuer_name=badge.issuer_name,
            image_url=badge.image_url,
            issued_at=badge.issued_at,
            expires_at=badge.expires_at,
            verified_at=badge.verified_at,
            revoked=badge.revoked,
            revoked_reason=badge.revoked_reason,
            clock_hours=badge.clock_hours,
            ceus=badge.ceus,
            category=badge.category,
            credit_note=badge.credit_note,
            record_id=strawberry.ID(str(badge.record_id)) if badge.record_id else None,
            report=VerificationReport.from_domain(badges.report_of(badge)),
        )


@strawberry.enum
class IntakeOutcome(enum.Enum):
    RECORDED = "recorded"
    PENDING_CLAIM = "pending_claim"
    REFUSED = "refused"


@strawberry.type(description="What became of a posted or imported badge.")
class BadgeIntake:
    outcome: IntakeOutcome
    valid: bool
    created: bool = strawberry.field(description="False when this badge was already here.")
    report: VerificationReport
    badge_id: strawberry.ID | None
    record_id: strawberry.ID | None
    claim_id: strawberry.ID | None

    @classmethod
    def from_result(cls, result: badges.IntakeResult) -> BadgeIntake:
        def ident(row: object | None) -> strawberry.ID | None:
            return strawberry.ID(str(row.id)) if row is not None else None  # type: ignore[attr-defined]

        return cls(
            outcome=IntakeOutcome(result.outcome),
            valid=result.report.valid,
            created=result.created,
            report=VerificationReport.from_domain(result.report),
            badge_id=ident(result.badge),
            record_id=ident(result.record),
            claim_id=ident(result.claim),
        )


@strawberry.type(description="A badge addressed to one of your emails, waiting for you.")
class PendingClaim:
    id: strawberry.ID
    created_at: dt.datetime
    badge: Badge


@strawberry.input(description="Credit the badge carries, in the poster's words.")
class CreditInput:
    clock_hours: Decimal | None = None
    ceus: Decimal | None = None
    category: str | None = None


@strawberry.input(description="Exactly one of url, json, jws, imageBase64, credential.")
class BadgeSubmission:
    url: str | None = None
    json: JSON | None = strawberry.field(default=None, description="Assertion JSON (OB 2.0).")
    jws: str | None = strawberry.field(default=None, description="A signed assertion.")
    image_base64: str | None = strawberry.field(
        default=None, description="A baked PNG or SVG, base64."
    )
    credential: JSON | None = strawberry.field(
        default=None, description="An OB 3.0 / CLR 2.0 credential: JSON object or VC-JWT string."
    )
    recipient_email: str | None = strawberry.field(
        default=None, description="The recipient's email, when the badge only has its hash."
    )
    credit: CreditInput | None = None

    def to_domain(self) -> badges.Submission:
        credit = None
        if self.credit is not None:
            credit = PostedCredit(self.credit.clock_hours, self.credit.ceus, self.credit.category)
        return badges.Submission(
            url=self.url,
            json=_object_or_text(self.json, "json"),
            jws=self.jws,
            image_base64=self.image_base64,
            credential=_object_or_text(self.credential, "credential"),
            recipient_email=self.recipient_email,
            credit=credit,
        )


def _object_or_text(value: object, name: str) -> dict[str, Any] | str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    raise BadgeError("invalid_json", f"{name} must be a JSON object or a string")


def _id(value: strawberry.ID, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise LerError("bad_id", f"{what} ids are numbers") from None


@strawberry.type
class BadgeQuery:
    @strawberry.field(description="A badge with its verification report (its teacher, admins).")
    async def badge(self, info: Info, id: strawberry.ID) -> Badge:
        found = await badges.get_badge(
            session=info.context.session,
            principal=info.context.need_principal(),
            badge_id=_id(id, "badge"),
        )
        return Badge.from_model(found)

    @strawberry.field(description="The badge behind a wallet record, with its report.")
    async def record_badge(self, info: Info, record_id: strawberry.ID) -> Badge:
        found = await badges.badge_of_record(
            session=info.context.session,
            principal=info.context.need_principal(),
            record_id=_id(record_id, "record"),
        )
        return Badge.from_model(found)

    @strawberry.field(description="Badges addressed to your verified emails, not yet landed.")
    async def pending_claims(self, info: Info) -> list[PendingClaim]:
        rows = await badges.list_pending_claims(
            session=info.context.session, principal=info.context.need_principal()
        )
        return [
            PendingClaim(
                id=strawberry.ID(str(c.id)), created_at=c.created_at, badge=Badge.from_model(b)
            )
            for c, b in rows
        ]


@strawberry.type
class BadgeMutation:
    @strawberry.mutation(description="A provider posts a badge for one of its issuers.")
    async def post_badge(self, info: Info, input: BadgeSubmission) -> BadgeIntake:
        session = info.context.session
        principal = info.context.need_principal()
        await ratelimit.count(
            info.context.request.app.state.session_factory,
            f"post_badge:provider:{principal.provider_id or principal.subject}",
            limit=info.context.settings.badge_posts_per_minute,
        )
        received = await badges.receive_post(
            session=session, principal=principal, submission=input.to_domain()
        )
        await session.commit()  # reads only: nothing is held while issuers are fetched
        checked = await badges.check(
            received, policy=FetchPolicy.from_settings(info.context.settings)
        )
        result = await badges.post_badge(session=session, checked=checked)
        await session.commit()
        return BadgeIntake.from_result(result)

    @strawberry.mutation(description="A teacher imports a badge awarded to one of their emails.")
    async def import_badge(self, info: Info, input: BadgeSubmission) -> BadgeIntake:
        session = info.context.session
        received = await badges.receive_import(
            session=session, principal=info.context.need_principal(), submission=input.to_domain()
        )
        await session.commit()  # reads only: nothing is held while issuers are fetched
        checked = await badges.check(
            received, policy=FetchPolicy.from_settings(info.context.settings)
        )
        result = await badges.import_badge(session=session, checked=checked)
        await session.commit()
        return BadgeIntake.from_result(result)

    @strawberry.mutation(description="The posting provider withdraws a badge; it stops counting.")
    async def revoke_badge(self, info: Info, id: strawberry.ID, reason: str) -> Badge:
        session = info.context.session
        badge = await badges.revoke_badge(
            session=session,
            principal=info.context.need_principal(),
            badge_id=_id(id, "badge"),
            reason=reason,
        )
        await session.commit()
        return Badge.from_model(badge)

    @strawberry.mutation(description="Take a pending badge into your wallet.")
    async def accept_claim(self, info: Info, id: strawberry.ID) -> Record:
        session = info.context.session
        record = await badges.accept_claim(
            session=session, principal=info.context.need_principal(), claim_id=_id(id, "claim")
        )
        await session.commit()
        return Record.from_model(record)

    @strawberry.mutation(description="Refuse a pending badge: it never lands in your wallet.")
    async def decline_claim(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        session = info.context.session
        claim = await badges.decline_claim(
            session=session, principal=info.context.need_principal(), claim_id=_id(id, "claim")
        )
        await session.commit()
        return strawberry.ID(str(claim.id))
