"""Revocation by the provider, recheck against the issuer, imports, and who reads reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from ler_plugin.badges import service as badges
from ler_plugin.fetch import FetchPolicy
from ler_plugin.principal import Principal
from ler_plugin.wallet.models import ReviewState
from tests.badges.ob2_host import BadgeSite
from tests.intake.helpers import (
    admin_token,
    district_with_provider,
    error_code,
    gql,
    operation,
    records_of,
    teacher,
    teacher_token,
    token,
)

POST = operation("post_badge")
WALLET = "{ wallet { totals { badges clockHours } records(first: 5) { edges { node { status statusReason } } } } }"


async def _posted(live_server, session_factory, site: BadgeSite, email: str):  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    teacher_id = await teacher(session_factory, district_id, email)
    bearer = token(live_server.url, made)
    url = site.hosted("r", recipient=site.recipient(email, hashed=None))
    answer = gql(
        live_server.url, bearer, POST, {"input": {"url": url, "credit": {"clockHours": "3"}}}
    )["data"]["postBadge"]
    assert answer["outcome"] == "RECORDED"
    return district_id, teacher_id, bearer, answer["badgeId"]


async def _recheck(  # type: ignore[no-untyped-def]
    session_factory, district_id: int, on_progress: Callable[[int, int], None] | None = None
) -> badges.RecheckSummary:
    """The operator's recheck of one district, the way `ler-plugin badges recheck` runs it:
    the edge commits each unit of work the service yields."""
    summary = badges.RecheckSummary()
    async with session_factory() as session:
        async for step in badges.recheck(
            session=session,
            principal=Principal.operator(),
            policy=FetchPolicy(allow_insecure_loopback=True),
            district_id=district_id,
        ):
            await session.commit()
            if on_progress:
                on_progress(step.done, step.total)
            summary = step.summary
    return summary


async def test_provider_revokes_and_the_teacher_sees_why(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, teacher_id, bearer, badge_id = await _posted(
        live_server, session_factory, site, "rev@example.org"
    )
    mine = teacher_token(live_server.settings, teacher_id, district_id)
    before = gql(live_server.url, mine, WALLET)["data"]["wallet"]["totals"]
    assert before == {"badges": 1, "clockHours": "3.00"}

    revoked = gql(
        live_server.url,
        bearer,
        operation("revoke_badge"),
        {"id": badge_id, "reason": "attendance not confirmed"},
    )["data"]["revokeBadge"]
    assert revoked["revoked"] is True
    wallet = gql(live_server.url, mine, WALLET)["data"]["wallet"]
    assert wallet["totals"] == {"badges": 0, "clockHours": "0.00"}
    [edge] = wallet["records"]["edges"]
    assert edge["node"]["status"] == "REVOKED"
    assert "attendance not confirmed" in edge["node"]["statusReason"]
    report = gql(live_server.url, mine, operation("badge_report"), {"id": badge_id})["data"]
    assert report["badge"]["revokedReason"].endswith("attendance not confirmed")


async def test_recheck_marks_a_badge_the_issuer_revoked(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, _, _, _ = await _posted(live_server, session_factory, site, "re@example.org")
    site.hosted(
        "r",
        recipient=site.recipient("re@example.org", hashed=None),
        revoked=True,
        revocationReason="issued in error",
    )
    summary = await _recheck(session_factory, district_id)
    assert (summary.checked, summary.revoked) == (1, 1)
    [record] = await records_of(session_factory, district_id)
    assert record.status == "revoked"
    assert "issued in error" in (record.status_reason or "")


async def test_recheck_marks_a_badge_that_has_expired(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, _, _, _ = await _posted(live_server, session_factory, site, "exp@example.org")
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    site.hosted(
        "r",
        recipient=site.recipient("exp@example.org", hashed=None),
        expires=yesterday.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    for _ in range(2):  # a second run finds it expired already and changes nothing
        summary = await _recheck(session_factory, district_id)
        assert (summary.checked, summary.expired) == (1, 1)
    [record] = await records_of(session_factory, district_id)
    assert record.status == "expired"
    assert "expired" in (record.status_reason or "")


async def test_a_recheck_that_stops_midway_keeps_what_it_found(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, [site.issuer_url])
    bearer = token(live_server.url, made)
    for name in ("first", "second"):
        email = f"{name}-{district_id}@example.org"
        await teacher(session_factory, district_id, email)
        url = site.hosted(name, recipient=site.recipient(email, hashed=None))
        posted = gql(live_server.url, bearer, POST, {"input": {"url": url}})["data"]["postBadge"]
        assert posted["outcome"] == "RECORDED"
        site.hosted(name, recipient=site.recipient(email, hashed=None), revoked=True)

    class Stopped(Exception):
        pass

    def stop_after_first(done: int, total: int) -> None:
        if done == 1:
            raise Stopped  # the operator's Ctrl-C, a crash, a deploy

    try:
        await _recheck(session_factory, district_id, on_progress=stop_after_first)
        raise AssertionError("the recheck went on after it was stopped")
    except Stopped:
        pass
    statuses = sorted(r.status for r in await records_of(session_factory, district_id))
    assert statuses == ["revoked", "verified"]  # the first badge's finding was kept


async def test_recheck_leaves_an_unreachable_badge_alone(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, _, _, _ = await _posted(live_server, session_factory, site, "gone@example.org")
    del site.host.routes["/assertions/r.json"]  # now a 404: an outage, not a revocation
    summary = await _recheck(session_factory, district_id)
    assert (summary.checked, summary.unreachable) == (1, 1)
    [record] = await records_of(session_factory, district_id)
    assert record.status == "verified"


async def test_only_the_teacher_and_district_admins_read_a_badge_report(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, teacher_id, bearer, badge_id = await _posted(
        live_server, session_factory, site, "own@example.org"
    )
    other_id = await teacher(session_factory, district_id, "nosy@example.org")
    report_query = operation("badge_report")
    settings = live_server.settings
    mine = gql(
        live_server.url,
        teacher_token(settings, teacher_id, district_id),
        report_query,
        {"id": badge_id},
    )
    assert mine["data"]["badge"]["report"]["valid"] is True
    assert mine["data"]["badge"]["report"]["checks"]
    admin = gql(live_server.url, admin_token(settings, district_id), report_query, {"id": badge_id})
    assert admin["data"]["badge"]["id"] == badge_id
    for outsider in (
        teacher_token(settings, other_id, district_id),
        admin_token(settings, district_id + 10_000),
        bearer,  # the provider that posted it
    ):
        answer = gql(live_server.url, outsider, report_query, {"id": badge_id})
        assert error_code(answer) == "badge_not_found"
    record_id = mine["data"]["badge"]["recordId"]
    via_record = gql(
        live_server.url,
        teacher_token(settings, teacher_id, district_id),
        operation("record_badge"),
        {"recordId": record_id},
    )
    assert via_record["data"]["recordBadge"]["id"] == badge_id


async def test_teacher_imports_own_badge_but_not_someone_elses(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    district_id, made = await district_with_provider(session_factory, ["https://other.example.org"])
    bearer_of_provider = token(live_server.url, made)
    teacher_id = await teacher(session_factory, district_id, "imp@example.org")
    mine = teacher_token(live_server.settings, teacher_id, district_id)
    own = site.hosted("own", recipient=site.recipient("IMP@example.org", hashed=None))
    answer = gql(
        live_server.url,
        mine,
        operation("import_badge"),
        {"input": {"url": own, "credit": {"clockHours": "4.5"}}},
    )["data"]["importBadge"]
    assert answer["outcome"] == "RECORDED"
    [record] = await records_of(session_factory, district_id)
    assert (record.source, record.status) == ("import", "verified")
    assert record.clock_hours == Decimal("4.50")
    assert (record.review, record.status_reason) == (ReviewState.NEEDED, None)
    assert record.review_note

    as_provider = gql(
        live_server.url, bearer_of_provider, operation("import_badge"), {"input": {"url": own}}
    )
    assert error_code(as_provider) == "forbidden"
    theirs = site.hosted("theirs", recipient=site.recipient("else@example.org"))
    refused = gql(live_server.url, mine, operation("import_badge"), {"input": {"url": theirs}})
    assert error_code(refused) == "recipient_mismatch"
