"""A facilitator's award: PD credit for everyone who attended a course session, all at once.

The roster comes from the LMS (NRPS); the facilitator ticks who attended; `award` writes one
record per attendee in the caller's transaction, so the batch lands whole or not at all. Each
record's `source_key` names the platform, course, activity and member, so sending the same award
again finds the records already there instead of adding twice. Roster members the wallet does
not know yet become teachers (identity = platform + NRPS user_id, which is the LTI `sub`).
After the commit, `send_scores` puts one score per attendee into the LMS gradebook (AGS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.courses.errors import CourseError
from ler_plugin.credit.categories import CATEGORIES
from ler_plugin.errors import Forbidden
from ler_plugin.lti import ags, nrps
from ler_plugin.lti.models import Platform
from ler_plugin.lti.roles import FACILITATING, LEARNING, context_roles
from ler_plugin.lti.services import (
    LtiServiceError,
    ServiceAccess,
    TokenCache,
    TokenEndpoint,
    ToolSigningKey,
)
from ler_plugin.principal import Principal, Role
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.errors import WalletError
from ler_plugin.wallet.models import (
    RecordKind,
    RecordSource,
    RecordStatus,
    Teacher,
    Visibility,
)

SOURCE_KEY_MAX = 128
ACTIVITY_MAX = 120


@dataclass(frozen=True)
class Course:
    """Where the award happens, from the facilitator's launch."""

    platform: Platform
    context_id: str
    context_title: str | None
    memberships_url: str | None
    lineitems_url: str | None


@dataclass(frozen=True)
class AwardInput:
    title: str
    clock_hours: Decimal
    completed_on: dt.date
    ceus: Decimal | None = None
    category: str | None = None
    badge_name: str | None = None


@dataclass
class MemberOutcome:
    """What happened for one selected member; the page lists these."""

    user_id: str
    name: str
    teacher_id: int | None = None
    created: bool = False
    already_awarded: bool = False
    score_sent: bool = False
    score_error: str | None = None


@dataclass
class AwardResult:
    activity: str
    outcomes: list[MemberOutcome] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(o.created for o in self.outcomes)

    @property
    def already(self) -> int:
        return sum(o.already_awarded for o in self.outcomes)


def require_facilitator(principal: Principal) -> None:
    principal.require(Role.FACILITATOR)
    if principal.district_id is None:
        raise Forbidden("forbidden", "a facilitator acts within one district")


async def course_of(*, session: AsyncSession, principal: Principal) -> Course:
    """The course of the facilitator's launch; refused outside a course or another district's."""
    require_facilitator(principal)
    context = principal.context
    platform_id, context_id = context.get("platform_id"), context.get("context_id")
    if not platform_id or not platform_id.isdigit() or not context_id:
        raise CourseError(
            "no_course", "open the Teacher Wallet from inside the PD course in your LMS"
        )
    platform = await session.get(Platform, int(platform_id))
    if platform is None:
        raise CourseError("no_course", "the LMS this launch came from is no longer registered")
    principal.require_district(platform.district_id)
    return Course(
        platform=platform,
        context_id=context_id,
        context_title=context.get("context_title"),
        memberships_url=context.get("nrps_memberships_url"),
        lineitems_url=context.get("ags_lineitems_url"),
    )


def service_access(
    *,
    platform: Platform,
    key: ToolSigningKey,
    client: httpx.AsyncClient,
    tokens: TokenCache,
) -> ServiceAccess:
    return ServiceAccess(client=client, endpoint=TokenEndpoint.of(platform), key=key, tokens=tokens)


async def roster(access: ServiceAccess, course: Course) -> list[nrps.Member]:
    if not course.memberships_url:
        raise CourseError(
            "no_roster",
            "the LMS did not offer this course's roster (Names and Role Provisioning): "
            "enable that service for the Teacher Wallet in the LMS",
        )
    found = await nrps.fetch_roster(access, course.memberships_url)
    return sorted(found.members, key=lambda m: (not is_learner(m), display_name(m).lower()))


def is_learner(member: nrps.Member) -> bool:
    roles = context_roles(member.roles)
    return member.is_active and bool(roles & LEARNING) and not roles & FACILITATING


def display_name(member: nrps.Member) -> str:
    joined = " ".join(p for p in (member.given_name, member.family_name) if p)
    return (member.name or joined or member.email or member.user_id).strip()[:255]


def activity_key(title: str) -> str:
    """The activity as the source key and the gradebook column know it: its title, normalised."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:ACTIVITY_MAX] or "activity"


def source_key(platform_id: int, context_id: str, activity: str, user_id: str) -> str:
    key = f"lti:{platform_id}:{context_id}:{activity}:{user_id}"
    if len(key) <= SOURCE_KEY_MAX:
        return key
    # Long LMS ids: still one key per (platform, course, activity, member), just hashed.
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"lti:{platform_id}:sha256:{digest}"


def check_input(data: AwardInput) -> AwardInput:
    """The award's input, checked as the wallet will check each record (its errors named as
    this room's, with the wallet's codes)."""
    try:
        return _checked(data)
    except WalletError as exc:
        raise CourseError(exc.code, exc.message) from None


def _checked(data: AwardInput) -> AwardInput:
    title = data.title.strip()
    if not title:
        raise CourseError("bad_title", "name the activity being awarded")
    hours = wallets.quantity(data.clock_hours, "clock_hours")
    if not hours:
        raise CourseError("bad_clock_hours", "give the clock hours the session earned (above 0)")
    if data.category and data.category not in CATEGORIES:
        raise CourseError("bad_category", "choose one of the listed categories")
    badge = (data.badge_name or "").strip() or None
    if badge and len(badge) > wallets.TITLE_MAX:
        raise CourseError("bad_badge_name", f"the badge name is longer than {wallets.TITLE_MAX}")
    checked = AwardInput(
        title=title,
        clock_hours=hours,
        completed_on=data.completed_on,
        ceus=wallets.quantity(data.ceus, "ceus"),
        category=data.category or None,
        badge_name=badge,
    )
    wallets.validate(_record_input(checked, RecordKind.PD_HOURS, title, "x"))
    return checked


def _record_input(
    data: AwardInput, kind: RecordKind, title: str, key: str, description: str | None = None
) -> wallets.RecordInput:
    return wallets.RecordInput(
        kind=kind,
        title=title,
        completed_on=data.completed_on,
        source=RecordSource.LMS_AWARD,
        status=RecordStatus.APPROVED,
        clock_hours=data.clock_hours if kind == RecordKind.PD_HOURS else None,
        ceus=data.ceus if kind == RecordKind.PD_HOURS else None,
        category=data.category,
        visibility=Visibility.DISTRICT,
        source_key=key,
        description=description,
    )


async def award(
    *,
    session: AsyncSession,
    principal: Principal,
    course: Course,
    members: Sequence[nrps.Member],
    data: AwardInput,
) -> AwardResult:
    """One record per member (and one badge record when a badge is named), in the caller's
    transaction: any failure raises and the caller's rollback leaves none of them."""
    require_facilitator(principal)
    principal.require_district(course.platform.district_id)
    data = check_input(data)
    if not members:
        raise CourseError("nobody_selected", "tick at least one attendee to award")
    result = AwardResult(activity=activity_key(data.title))
    members = list({m.user_id: m for m in members}.values())  # a member ticked twice: once
    try:
        for member in members:
            result.outcomes.append(
                await _award_one(session, principal, course, member, data, result.activity)
            )
        await session.flush()
    except IntegrityError:
        # The same award sent twice at once: the unique source keys stopped the second one. Or,
        # on PostgreSQL, a member's LMS account is linked to a teacher of another district: the
        # district wall hides that link, so it is the unique identity key that refuses it.
        raise CourseError(
            "award_conflict",
            "this award clashed with one saved at the same moment, or with an LMS account linked "
            "to another district; nobody was awarded: send it again, and if it clashes again "
            "ask the district's administrator to check the roster",
            status=409,
        ) from None
    platform = course.platform
    record_event(
        session,
        "record:lms_award:create",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=platform.district_id,
        subject_type="lti_context",
        subject_id=course.context_id,
        platform_id=platform.id,
        activity=result.activity,
        title=data.title,
        clock_hours=str(data.clock_hours),
        selected=len(members),
        created=result.created,
        already_awarded=result.already,
        badge=data.badge_name,
    )
    return result


async def _award_one(
    session: AsyncSession,
    principal: Principal,
    course: Course,
    member: nrps.Member,
    data: AwardInput,
    activity: str,
) -> MemberOutcome:
    platform = course.platform
    teacher = await teacher_for_member(session=session, platform=platform, member=member)
    principal.require_district(teacher.district_id)
    outcome = MemberOutcome(member.user_id, display_name(member), teacher.id)
    key = source_key(platform.id, course.context_id, activity, member.user_id)
    wanted = [(RecordKind.PD_HOURS, data.title, key)]
    if data.badge_name:
        badge_key = source_key(platform.id, course.context_id, activity + ":badge", member.user_id)
        wanted.append((RecordKind.BADGE, data.badge_name, badge_key))
    for kind, title, record_key in wanted:
        landed = await wallets.land_record(
            session=session,
            principal=principal,
            teacher_id=teacher.id,
            data=_record_input(
                data,
                kind,
                title,
                record_key,
                description=f"Awarded in {course.context_title or course.context_id}",
            ),
            audit=False,  # the award is audited once, for the whole batch
        )
        if record_key == key:
            outcome.created = landed.created
            outcome.already_awarded = not landed.created
    return outcome


async def teacher_for_member(
    *, session: AsyncSession, platform: Platform, member: nrps.Member
) -> Teacher:
    """The teacher behind a roster member (the wallet's rules: LMS identity = platform + NRPS
    user_id, which is the LTI ``sub``; then the SIS id; then the verified email), else a new
    teacher with a wallet."""
    found = await wallets.find_or_create_teacher(
        session=session,
        district_id=platform.district_id,
        person=wallets.Person(
            display_name=display_name(member),
            given_name=member.given_name,
            family_name=member.family_name,
            email=member.email,
            sourced_id=member.lis_person_sourcedid,
            lms=wallets.LmsIdentity(platform.id, platform.issuer, member.user_id),
        ),
    )
    if found.created:
        record_event(
            session,
            "lti:teacher:create",
            actor_kind="lti",
            actor_id=platform.issuer,
            district_id=platform.district_id,
            subject_type="teacher",
            subject_id=found.teacher.id,
            platform_id=platform.id,
            via="nrps",
        )
    return found.teacher


async def send_scores(
    access: ServiceAccess,
    course: Course,
    data: AwardInput,
    result: AwardResult,
    *,
    now: dt.datetime | None = None,
) -> None:
    """One gradebook column for the activity, one score per awarded member; each refusal is
    noted on that member's outcome. Call after the award is committed."""
    pending = [o for o in result.outcomes if o.created or o.already_awarded]
    if not pending:
        return
    if not course.lineitems_url:
        _refuse_all(pending, "the LMS did not offer this course's gradebook (AGS)")
        return
    try:
        line_item = await ags.ensure_line_item(
            access,
            course.lineitems_url,
            ags.NewLineItem(
                label=f"PD credit: {data.title}"[:255],
                score_maximum=data.clock_hours,
                resource_id=f"ler-pd:{result.activity}"[:255],
            ),
        )
        failures = await ags.post_scores(
            access,
            line_item.id,
            _scores(pending, data, now or dt.datetime.now(dt.UTC)),
        )
    except LtiServiceError as exc:
        _refuse_all(pending, exc.message)
        return
    refused = {f.user_id: f.error.message for f in failures}
    for outcome in pending:
        outcome.score_error = refused.get(outcome.user_id)
        outcome.score_sent = outcome.user_id not in refused


def _scores(
    outcomes: Iterable[MemberOutcome], data: AwardInput, now: dt.datetime
) -> list[ags.Score]:
    return [
        ags.Score(
            user_id=o.user_id,
            score_given=data.clock_hours,
            score_maximum=data.clock_hours,
            timestamp=now,
            comment=f"{data.clock_hours} PD clock hours recorded in the Teacher Wallet",
        )
        for o in outcomes
    ]


def _refuse_all(outcomes: Iterable[MemberOutcome], reason: str) -> None:
    for outcome in outcomes:
        outcome.score_error = reason
