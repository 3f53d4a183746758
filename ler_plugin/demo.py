"""The demo district: a few schools, teachers and a spread of records, created once per database."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.config import Settings
from ler_plugin.districts import service as districts
from ler_plugin.districts.models import District
from ler_plugin.lti import demo_platform as lti_demo
from ler_plugin.principal import Principal
from ler_plugin.sessions import issue_token
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.models import (
    RecordKind,
    RecordSource,
    RecordStatus,
    SchoolMembership,
    Teacher,
    Visibility,
)

DEMO_SLUG = "demo"
SCHOOLS = ["Lakeview Elementary", "Riverside Middle School", "Northgate High School"]
TEACHERS = [
    ("Ana Flores", "ana.flores@demo.k12.example"),
    ("Ben Okafor", "ben.okafor@demo.k12.example"),
    ("Chloe Nguyen", "chloe.nguyen@demo.k12.example"),
    ("Dev Patel", "dev.patel@demo.k12.example"),
    ("Elena Rossi", "elena.rossi@demo.k12.example"),
    ("Farah Haddad", "farah.haddad@demo.k12.example"),
    ("Gus Johansson", "gus.johansson@demo.k12.example"),
    ("Hana Sato", "hana.sato@demo.k12.example"),
    ("Ike Mensah", "ike.mensah@demo.k12.example"),
]
ACTIVITIES = [
    (
        "Supporting English learners in math",
        "ell",
        "Region 13 ESC",
        ["ELL strategies", "Math discourse"],
    ),
    ("Structured literacy foundations", "literacy", "Reading Academy", ["Phonics instruction"]),
    (
        "Inclusive classrooms: IEP in practice",
        "special_education",
        "State PD Network",
        ["IEP implementation"],
    ),
    ("Classroom technology integration", "technology", "Digital Promise", ["Blended learning"]),
    ("Restorative practices", "sel", "District PD Office", ["Restorative circles"]),
    ("AP Biology summer institute", "content_knowledge", "College Board", ["Lab design"]),
]


@dataclass
class DemoInfo:
    district_id: int
    teacher_ids: list[int]
    lines: list[str] = field(default_factory=list)


async def seed(*, session: AsyncSession, settings: Settings) -> DemoInfo:
    """Create the demo district unless it exists; always say how to reach it."""
    district = await session.scalar(select(District).where(District.slug == DEMO_SLUG))
    if district is None:
        district = await districts.create(
            session=session,
            principal=Principal.operator(),
            slug=DEMO_SLUG,
            name="Demo Unified School District",
            state="TX",
        )
        await _populate(session, district.id)
    await lti_demo.register(session=session, settings=settings, district_id=district.id)
    teacher_ids = list(
        await session.scalars(
            select(Teacher.id).where(Teacher.district_id == district.id).order_by(Teacher.id)
        )
    )
    token = issue_token(
        settings, Principal.for_teacher(teacher_ids[0], district.id), ttl=dt.timedelta(days=1)
    )
    info = DemoInfo(district_id=district.id, teacher_ids=teacher_ids)
    info.lines = [
        f"Demo LMS (launch as a teacher, a facilitator or a district admin): {settings.base_url}/demo-lms/",
        f"GraphQL (GraphiQL in the browser): {settings.base_url}/graphql",
        f"Health: {settings.base_url}/healthz",
        "A demo teacher's API token (valid for a day), for the Authorization: Bearer header:",
        token,
    ]
    return info


async def _populate(session: AsyncSession, district_id: int) -> None:
    rng = random.Random(20261128)  # the same demo every time
    schools = [
        await districts.ensure_school(session=session, district_id=district_id, name=name)
        for name in SCHOOLS
    ]
    today = dt.date.today()
    operator = Principal.operator()
    for index, (name, email) in enumerate(TEACHERS):
        given, family = name.split(" ", 1)
        found = await wallets.find_or_create_teacher(
            session=session,
            district_id=district_id,
            person=wallets.Person(
                display_name=name, given_name=given, family_name=family, email=email
            ),
        )
        teacher = found.teacher
        session.add(
            SchoolMembership(teacher_id=teacher.id, school_id=schools[index % len(schools)].id)
        )
        for n in range(rng.randint(4, 9)):
            title, category, provider, skills = rng.choice(ACTIVITIES)
            kind = rng.choice([RecordKind.PD_HOURS, RecordKind.PD_HOURS, RecordKind.CEU])
            hours = Decimal(rng.choice([1, 2, 3, 6, 12, 15])).quantize(Decimal("0.01"))
            await wallets.land_record(
                session=session,
                principal=operator,
                teacher_id=teacher.id,
                data=wallets.RecordInput(
                    kind=kind,
                    title=title,
                    completed_on=today - dt.timedelta(days=rng.randint(5, 900)),
                    source=rng.choice(
                        [RecordSource.LMS_AWARD, RecordSource.PROVIDER, RecordSource.SELF_REPORT]
                    ),
                    status=rng.choice(
                        [RecordStatus.APPROVED, RecordStatus.VERIFIED, RecordStatus.SUBMITTED]
                    ),
                    clock_hours=hours if kind == RecordKind.PD_HOURS else None,
                    ceus=(hours / 10).quantize(Decimal("0.01")) if kind == RecordKind.CEU else None,
                    provider_name=provider,
                    category=category,
                    skills=skills,
                    visibility=rng.choice(
                        [Visibility.DISTRICT, Visibility.DISTRICT, Visibility.PRIVATE]
                    ),
                    source_key=f"demo:{teacher.id}:{n}",
                ),
            )
