"""A district's OB 3.0 issuer key is made on first need, and that making is in the audit log."""

from __future__ import annotations

from sqlalchemy import select

from ler_plugin.audit import AuditEvent
from ler_plugin.issuing.keys import district_issuer
from tests import factories


async def test_issuer_key_creation_is_audited_once(session, settings) -> None:  # type: ignore[no-untyped-def]
    district = await factories.district(session)
    first = await district_issuer(session=session, settings=settings, district=district)
    again = await district_issuer(session=session, settings=settings, district=district)
    assert first.id == again.id
    events = list(
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.tag == "wallet:issuer_key:create",
                AuditEvent.district_id == district.id,
            )
        )
    )
    assert [e.subject_id for e in events] == [first.id]
