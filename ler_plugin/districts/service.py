"""Districts and schools: create, find."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.audit import record_event
from ler_plugin.districts.errors import DistrictError
from ler_plugin.districts.models import District, School
from ler_plugin.principal import Principal, Role

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


async def get_by_slug(*, session: AsyncSession, slug: str) -> District:
    district = await session.scalar(select(District).where(District.slug == slug))
    if district is None:
        raise DistrictError("district_not_found", f"no district with slug {slug!r}", status=404)
    return district


async def create(
    *, session: AsyncSession, principal: Principal, slug: str, name: str, state: str
) -> District:
    principal.require(Role.OPERATOR)
    state = state.strip().upper()
    if not SLUG.match(slug):
        raise DistrictError(
            "bad_slug", "the slug must be lowercase letters, digits and hyphens (at most 64)"
        )
    if state not in US_STATES:
        raise DistrictError("bad_state", f"{state!r} is not a US state or territory code")
    if not name.strip():
        raise DistrictError("bad_name", "the district needs a name")
    if await session.scalar(select(District.id).where(District.slug == slug)) is not None:
        raise DistrictError("district_exists", f"a district with slug {slug!r} already exists")
    district = District(slug=slug, name=name.strip(), state=state)
    session.add(district)
    await session.flush()
    record_event(
        session,
        "district:district:create",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district.id,
        subject_type="district",
        subject_id=district.id,
        slug=slug,
    )
    return district


async def ensure_school(*, session: AsyncSession, district_id: int, name: str) -> School:
    school = await session.scalar(
        select(School).where(School.district_id == district_id, School.name == name)
    )
    if school is None:
        school = School(district_id=district_id, name=name)
        session.add(school)
        await session.flush()
    return school


async def school_names(*, session: AsyncSession, district_id: int) -> dict[int, str]:
    """Every school of a district, by id."""
    rows = await session.execute(
        select(School.id, School.name).where(School.district_id == district_id)
    )
    return {school_id: name for school_id, name in rows}
