"""A district with a teacher, an admin and a share link, made through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.config import Settings
from ler_plugin.principal import Principal, Role
from ler_plugin.sessions import issue_token
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet import sharing
from tests import factories


@dataclass(frozen=True)
class Place:
    district_id: int
    link_id: int
    share_path: str
    teacher: str  # session tokens
    other_teacher: str
    admin: str


async def place(factory: async_sessionmaker[AsyncSession], settings: Settings) -> Place:
    async with factory() as session, session.begin():
        district = await factories.district(session)
        teacher = await factories.teacher(session, district.id)
        other = await factories.teacher(session, district.id)
        admin = await factories.teacher(session, district.id)
        record = await factories.record(session, teacher)
        principal = Principal.for_teacher(teacher.id, district.id)
        wallet = await wallets.wallet_of(session=session, principal=principal)
        link, token = await sharing.create_link(
            session=session,
            settings=settings,
            principal=principal,
            wallet=wallet,
            record_ids=[record.id],
            expires_in_days=30,
            hide_identity=False,
        )
        ids = (district.id, link.id, teacher.id, other.id, admin.id)
    district_id, link_id, teacher_id, other_id, admin_id = ids
    return Place(
        district_id=district_id,
        link_id=link_id,
        share_path=f"/share/{token}",
        teacher=issue_token(settings, Principal.for_teacher(teacher_id, district_id)),
        other_teacher=issue_token(settings, Principal.for_teacher(other_id, district_id)),
        admin=issue_token(
            settings, Principal.for_teacher(admin_id, district_id, Role.DISTRICT_ADMIN)
        ),
    )


def ask(url: str, token: str | None, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{url}/graphql", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def codes(body: dict[str, Any]) -> set[str]:
    return {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
