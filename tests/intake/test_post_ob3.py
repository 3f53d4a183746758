"""An OB 3.0 credential signed with a did:key posted by its provider: verified offline, credit
from the PD-credit extension, landed in the recipient's wallet."""

from __future__ import annotations

from decimal import Decimal

from ler_plugin.badges.service import claim_pending_for_teacher
from tests.intake.helpers import (
    district_with_provider,
    gql,
    operation,
    records_of,
    signed_ob3,
    teacher,
    token,
)


async def test_signed_ob3_credential_lands_with_its_pd_credit(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    did, credential = signed_ob3("ell@example.org")
    district_id, made = await district_with_provider(session_factory, [did])
    await teacher(session_factory, district_id, "ell@example.org")
    bearer = token(live_server.url, made)
    answer = gql(
        live_server.url, bearer, operation("post_badge"), {"input": {"credential": credential}}
    )
    result = answer["data"]["postBadge"]
    assert result["outcome"] == "RECORDED", result["report"]["errors"]
    assert result["report"]["format"] == "ob3"
    [record] = await records_of(session_factory, district_id)
    assert record.clock_hours == Decimal("3.50")
    assert record.category == "ell"
    assert record.status_reason is None

    tampered = credential | {"name": "Something else"}
    refused = gql(
        live_server.url, bearer, operation("post_badge"), {"input": {"credential": tampered}}
    )
    assert refused["data"]["postBadge"]["outcome"] == "REFUSED"


async def test_a_did_subject_waits_for_the_email_the_provider_names(
    live_server, session_factory
) -> None:  # type: ignore[no-untyped-def]
    did, credential = signed_ob3(None)
    district_id, made = await district_with_provider(session_factory, [did])
    answer = gql(
        live_server.url,
        token(live_server.url, made),
        operation("post_badge"),
        {"input": {"credential": credential, "recipientEmail": "Holder@Example.org"}},
    )["data"]["postBadge"]
    assert answer["outcome"] == "PENDING_CLAIM", answer["report"]["errors"]
    teacher_id = await teacher(session_factory, district_id, "holder@example.org")
    async with session_factory() as session, session.begin():
        landed = await claim_pending_for_teacher(session=session, teacher_id=teacher_id)
    assert [r.clock_hours for r in landed] == [Decimal("3.50")]
