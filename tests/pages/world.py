"""A district with two teachers and an admin, committed so the live server sees them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.badges.models import Badge
from ler_plugin.config import Settings
from ler_plugin.db import utcnow
from ler_plugin.lti.models import Platform
from ler_plugin.principal import Principal, Role
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import License, RecordKind, RecordSource, RecordStatus, Visibility
from tests import factories

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class World:
    district_id: int
    teacher_id: int
    other_teacher_id: int
    admin_teacher_id: int
    workshop_id: int
    badge_record_id: int
    private_id: int
    other_record_id: int
    teacher: str
    other: str
    admin: str
    lms_origin: str


async def make_world(
    factory: async_sessionmaker[AsyncSession], settings: Settings, lms_origin: str
) -> World:
    async with factory() as session, session.begin():
        district = await factories.district(session)
        session.add(
            Platform(
                district_id=district.id,
                issuer=f"{lms_origin}/issuer",
                client_id=factories.unique("client"),
                auth_login_url=f"{lms_origin}/auth",
                auth_token_url=f"{lms_origin}/token",
                jwks_url=f"{lms_origin}/jwks",
            )
        )
        teacher = await factories.teacher(session, district.id, name="Ada Lovelace")
        session.add(
            License(
                teacher_id=teacher.id,
                state="TX",
                credential_class="Standard Classroom Teacher",
                number="TX-1234567",
                issued_on=dt.date(2022, 7, 1),
                expires_on=dt.date(2027, 6, 30),
            )
        )
        workshop = await factories.record(
            session,
            teacher,
            title="Literacy workshop",
            clock_hours="6",
            completed_on=dt.date(2026, 2, 3),
        )
        workshop.skills = ["Phonics", "Guided reading"]
        badge_record = await factories.record(
            session,
            teacher,
            title=XSS,
            kind=RecordKind.BADGE,
            status=RecordStatus.VERIFIED,
            source=RecordSource.PROVIDER,
            clock_hours="2",
            visibility=Visibility.PUBLIC,
        )
        badge_record.skills = ["Phonics", XSS]
        session.add(
            Badge(
                district_id=district.id,
                record_id=badge_record.id,
                fingerprint=factories.unique("fp"),
                format="ob2",
                issuer_name=XSS,
                name=XSS,
                description=XSS,
                image_url="https://badges.example.org/img.png",
                valid=True,
                verified_at=utcnow(),
                report={},
                credential={},
            )
        )
        private = await factories.record(
            session, teacher, title="Private coaching notes", visibility=Visibility.PRIVATE
        )
        other = await factories.teacher(session, district.id, name="Grace Hopper")
        other_record = await factories.record(session, other, title="Someone else's seminar")
        admin = await factories.teacher(session, district.id, name="Dana Admin")
        ids = (district.id, teacher.id, other.id, admin.id)
        records = (workshop.id, badge_record.id, private.id, other_record.id)
    district_id, teacher_id, other_id, admin_id = ids
    return World(
        district_id,
        teacher_id,
        other_id,
        admin_id,
        *records,
        teacher=issue_token(settings, Principal.for_teacher(teacher_id, district_id)),
        other=issue_token(settings, Principal.for_teacher(other_id, district_id)),
        admin=issue_token(
            settings, Principal.for_teacher(admin_id, district_id, Role.DISTRICT_ADMIN)
        ),
        lms_origin=lms_origin,
    )


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, follow_redirects=False, timeout=10)
