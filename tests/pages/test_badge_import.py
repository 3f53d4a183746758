"""The badge pages over real HTTP: import a badge one holds (URL, pasted JSON, baked image),
refusals with their codes, CSRF, and accepting or declining pending claims."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.badges.models import Badge, PendingClaim
from ler_plugin.db import utcnow
from ler_plugin.principal import Principal
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import Record
from tests import factories
from tests.badges.ob2_host import BadgeSite, Host, baked_svg, itxt, png
from tests.pages.world import XSS, client, csrf_of

BADGES = "/app/wallet/badges"
IMPORT = "/app/wallet/badges/import"
EMAIL = "teacher@example.org"


@pytest.fixture
def site() -> Iterator[BadgeSite]:
    with Host() as host:
        yield BadgeSite(host)


@dataclass(frozen=True)
class Holder:
    district_id: int
    teacher_id: int
    token: str


async def _holder(factory: async_sessionmaker[AsyncSession], settings, email: str = EMAIL):  # type: ignore[no-untyped-def]
    async with factory() as session, session.begin():
        district = await factories.district(session)
        teacher = await factories.teacher(session, district.id, email=email)
        ids = district.id, teacher.id
    token = issue_token(settings, Principal.for_teacher(ids[1], ids[0]))
    return Holder(ids[0], ids[1], token)


async def _badge_records(
    factory: async_sessionmaker[AsyncSession], district_id: int
) -> list[Record]:
    async with factory() as session:
        return list(
            await session.scalars(
                select(Record).where(Record.district_id == district_id).order_by(Record.id)
            )
        )


async def _badge_count(factory: async_sessionmaker[AsyncSession], district_id: int) -> int:
    async with factory() as session:
        count = await session.scalar(
            select(func.count()).select_from(Badge).where(Badge.district_id == district_id)
        )
        return int(count or 0)


def _import(base_url: str, token: str, data: dict[str, str], files=None):  # type: ignore[no-untyped-def]
    with client(base_url) as http:
        form = http.get(BADGES, params={"session": token})
        assert form.status_code == 200
        return http.post(
            IMPORT,
            params={"session": token},
            data={**data, "csrf": csrf_of(form.text)},
            files=files or {"image": ("", b"", "application/octet-stream")},
        )


async def test_import_by_url_lands_in_the_wallet(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    result = _import(
        live_server.url, holder.token, {"url": site.hosted("mine", recipient=site.recipient(EMAIL))}
    )
    assert result.status_code == 200, result.text
    assert "Math PD: Number Talks is in your wallet" in result.text
    (record,) = await _badge_records(session_factory, holder.district_id)
    assert (record.source, record.status) == ("import", "verified")
    assert f"#record-{record.id}" in result.text
    with client(live_server.url) as http:
        wallet = http.get("/app/wallet", params={"session": holder.token}).text
    assert f'id="record-{record.id}"' in wallet and "Math PD: Number Talks" in wallet


async def test_a_badge_for_someone_else_is_refused_with_its_code(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    theirs = site.hosted("theirs", recipient=site.recipient("someone.else@example.org"))
    result = _import(live_server.url, holder.token, {"url": theirs})
    assert result.status_code == 422
    assert (
        "could not be accepted" in result.text and "<code>recipient_mismatch</code>" in result.text
    )
    assert await _badge_records(session_factory, holder.district_id) == []


async def test_an_invalid_badge_shows_its_verification_errors(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    result = _import(live_server.url, holder.token, {"url": site.host.url("/assertions/none.json")})
    assert result.status_code == 422
    assert "<code>" in result.text and "Nothing was added" in result.text
    assert await _badge_count(session_factory, holder.district_id) == 0


@pytest.mark.parametrize("container", ["png", "svg"])
async def test_a_baked_image_upload_is_imported(
    live_server, session_factory, site: BadgeSite, container: str
) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    site.hosted("baked", recipient=site.recipient(EMAIL))
    assertion = json.dumps(site.assertion("baked", recipient=site.recipient(EMAIL)))
    baked = png(itxt("openbadges", assertion)) if container == "png" else baked_svg(assertion)
    upload = (f"badge.{container}", baked, "image/png" if container == "png" else "image/svg+xml")
    result = _import(live_server.url, holder.token, {}, files={"image": upload})
    assert result.status_code == 200, result.text
    assert "is in your wallet" in result.text
    assert len(await _badge_records(session_factory, holder.district_id)) == 1


async def test_pasted_json_is_imported(live_server, session_factory, site: BadgeSite) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    site.hosted("pasted", recipient=site.recipient(EMAIL))
    pasted = json.dumps(site.assertion("pasted", recipient=site.recipient(EMAIL)))
    result = _import(live_server.url, holder.token, {"json": pasted})
    assert result.status_code == 200, result.text
    assert "is in your wallet" in result.text
    assert len(await _badge_records(session_factory, holder.district_id)) == 1


async def test_the_form_is_checked_field_by_field(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    empty = _import(live_server.url, holder.token, {})
    assert empty.status_code == 400 and 'id="url-error"' in empty.text
    not_png = _import(
        live_server.url, holder.token, {}, files={"image": ("badge.png", b"GIF89a", "image/png")}
    )
    assert not_png.status_code == 400 and "not a PNG image" in not_png.text
    wrong_type = _import(
        live_server.url, holder.token, {}, files={"image": ("badge.exe", b"MZ", "image/png")}
    )
    assert wrong_type.status_code == 400 and 'id="image-error"' in wrong_type.text
    bad_json = _import(live_server.url, holder.token, {"json": '{"type": '})
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.text
    deep = _import(live_server.url, holder.token, {"json": '{"a": ' * 50_000})
    assert deep.status_code == 400 and "nested too deeply" in deep.text
    both = _import(live_server.url, holder.token, {"url": "https://x.example/a", "json": "{}"})
    assert both.status_code == 400 and "only one way" in both.text
    no_badge = _import(
        live_server.url, holder.token, {}, files={"image": ("plain.png", png(), "image/png")}
    )
    assert no_badge.status_code == 400 and 'id="image-error"' in no_badge.text


async def test_import_without_csrf_is_refused(
    live_server, session_factory, site: BadgeSite
) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    with client(live_server.url) as http:
        sent = http.post(
            IMPORT,
            params={"session": holder.token},
            data={"url": site.hosted("forged", recipient=site.recipient(EMAIL))},
            files={"image": ("", b"", "application/octet-stream")},
        )
    assert sent.status_code == 403
    assert site.host.hits("/assertions/forged.json") == 0
    assert await _badge_count(session_factory, holder.district_id) == 0


async def _claims(factory: async_sessionmaker[AsyncSession], holder: Holder) -> list[int]:
    """Two verified badges waiting for the holder's address (as a provider's post leaves them)."""
    ids = []
    async with factory() as session, session.begin():
        for name in (XSS, "Coaching cycles"):
            badge = Badge(
                district_id=holder.district_id,
                fingerprint=factories.unique("fp"),
                format="ob2",
                issuer_name="Riverside PD Center",
                name=name,
                valid=True,
                verified_at=utcnow(),
                issued_at=utcnow(),
                report={},
                credential={},
            )
            session.add(badge)
            await session.flush()
            claim = PendingClaim(
                district_id=holder.district_id, badge_id=badge.id, recipient_email=EMAIL
            )
            session.add(claim)
            await session.flush()
            ids.append(claim.id)
    return ids


async def test_accept_and_decline_pending_claims(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    stranger = await _holder(session_factory, live_server.settings, email="x@example.org")
    xss_claim, plain_claim = await _claims(session_factory, holder)
    with client(live_server.url) as http:
        listed = http.get(BADGES, params={"session": holder.token})
        assert "Coaching cycles" in listed.text and "Riverside PD Center" in listed.text
        assert XSS not in listed.text and "&lt;script&gt;" in listed.text
        csrf = csrf_of(listed.text)
        unsigned = http.post(
            f"{BADGES}/claims/{plain_claim}/accept", params={"session": holder.token}, data={}
        )
        assert unsigned.status_code == 403
        someone = http.get(BADGES, params={"session": stranger.token})
        assert "Coaching cycles" not in someone.text
        accepted = http.post(
            f"{BADGES}/claims/{plain_claim}/accept",
            params={"session": holder.token},
            data={"csrf": csrf},
        )
        assert accepted.status_code == 303
        assert accepted.headers["location"].startswith(f"{BADGES}?notice=accepted")
        assert "added to your wallet" in http.get(accepted.headers["location"]).text
        declined = http.post(
            f"{BADGES}/claims/{xss_claim}/decline",
            params={"session": holder.token},
            data={"csrf": csrf},
        )
        assert declined.status_code == 303
        after = http.get(declined.headers["location"]).text
        assert "was declined" in after and "No badges are waiting for you" in after
        again = http.post(
            f"{BADGES}/claims/{xss_claim}/accept",
            params={"session": holder.token},
            data={"csrf": csrf},
        )
        assert again.status_code == 404
    (record,) = await _badge_records(session_factory, holder.district_id)
    assert record.title == "Coaching cycles" and record.status == "verified"
    async with session_factory() as session:
        claim = await session.get(PendingClaim, xss_claim)
        assert claim is not None and claim.declined_at is not None


async def test_outside_badge_text_is_escaped(live_server, session_factory, site: BadgeSite) -> None:  # type: ignore[no-untyped-def]
    holder = await _holder(session_factory, live_server.settings)
    badge_class = json.loads(site.host.routes["/badges/pd-math.json"].body)  # type: ignore[union-attr]
    site.host.json("/badges/pd-math.json", {**badge_class, "name": XSS, "description": XSS})
    result = _import(
        live_server.url, holder.token, {"url": site.hosted("xss", recipient=site.recipient(EMAIL))}
    )
    assert result.status_code == 200, result.text
    assert XSS not in result.text and "&lt;script&gt;alert(" in result.text
