"""An OB 2.0 BadgeClass that states its PD credit with our extension: the record gets it."""

from __future__ import annotations

from decimal import Decimal

from ler_plugin.wallet.models import ReviewState
from tests.badges.ob2_host import OB2_CONTEXT, BadgeSite
from tests.intake.helpers import district_with_provider, gql, operation, records_of, teacher, token


async def test_credit_stated_on_the_badge_class_is_counted(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    site.host.json(
        "/badges/pd-math.json",
        {
            "@context": OB2_CONTEXT,
            "type": "BadgeClass",
            "id": site.badge_url,
            "name": "Structured literacy, module 1",
            "description": "Six hours.",
            "image": site.image_url,
            "criteria": {"narrative": "Attend."},
            "issuer": site.issuer_url,
            "extensions:PDCreditExtension": {
                "@context": "https://ler-plugin.org/contexts/pd-credit/ob2/v1",
                "type": ["Extension", "extensions:PDCreditExtension"],
                "clockHours": "6",
                "category": "literacy",
            },
        },
    )
    email = "worth@example.org"
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    await teacher(session_factory, district_id, email)
    url = site.hosted("worth", recipient=site.recipient(email, hashed=None))
    answer = gql(
        live_server.url,
        token(live_server.url, made),
        operation("post_badge"),
        {"input": {"url": url}},
    )
    assert answer["data"]["postBadge"]["outcome"] == "RECORDED", answer
    [record] = await records_of(session_factory, district_id)
    assert record.clock_hours == Decimal("6.00")
    assert record.category == "literacy"
    assert record.review == ReviewState.NONE and record.review_note is None


async def test_reading_ob2_credit_first_does_not_break_badgecheck_extensions(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    """PyLD's process-wide context cache once hid OB 2.0 extension contexts from badgecheck, so a
    badge with an extension failed once any OB 2.0 credit had been read in the same process."""
    from ler_plugin.badges.credit import extract_credit

    extension = {
        "@context": "https://ler-plugin.org/contexts/pd-credit/ob2/v1",
        "type": ["Extension", "extensions:PDCreditExtension"],
        "clockHours": "2",
    }
    extract_credit(
        {"@context": OB2_CONTEXT, "type": "Assertion", "extensions:PDCreditExtension": extension}
    )
    await test_credit_stated_on_the_badge_class_is_counted(live_server, session_factory, site)
