"""The public share page verifies each badge live: a badge the issuer revoked after it was
shared shows as failed, though the wallet has not been rechecked yet."""

from __future__ import annotations

import httpx

from ler_plugin.principal import Principal
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet import sharing
from tests.badges.ob2_host import BadgeSite
from tests.intake.helpers import district_with_provider, gql, operation, teacher, token


async def test_share_page_reverifies_badges_live(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    email = "shared@example.org"
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    teacher_id = await teacher(session_factory, district_id, email)
    url = site.hosted("s", recipient=site.recipient(email, hashed=None))
    answer = gql(
        live_server.url,
        token(live_server.url, made),
        operation("post_badge"),
        {"input": {"url": url}},
    )
    record_id = int(answer["data"]["postBadge"]["recordId"])

    principal = Principal.for_teacher(teacher_id, district_id)
    async with session_factory() as session, session.begin():
        wallet = await wallets.wallet_of(session=session, principal=principal)
        _, link_token = await sharing.create_link(
            session=session,
            settings=live_server.settings,
            principal=principal,
            wallet=wallet,
            record_ids=[record_id],
            expires_in_days=7,
            hide_identity=True,
        )

    page = httpx.get(f"{live_server.url}/share/{link_token}")
    assert page.status_code == 200
    assert "Verified just now" in page.text

    site.hosted(
        "s",
        recipient=site.recipient(email, hashed=None),
        revoked=True,
        revocationReason="issued in error",
    )
    page = httpx.get(f"{live_server.url}/share/{link_token}")
    assert "Failed verification" in page.text
    assert "Verified just now" not in page.text
