"""Adding one's own learning and changing visibility: validation, uploads, CSRF, audit."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

from sqlalchemy import select

from ler_plugin.audit import AuditEvent
from ler_plugin.wallet.models import Evidence, Record, RecordSource, RecordStatus, Visibility
from tests.pages.world import World, client, csrf_of

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _form(**values: str) -> dict[str, str]:
    base = {
        "title": "Reading science summer institute",
        "provider": "State Literacy Center",
        "started_on": "2026-06-01",
        "completed_on": "2026-06-05",
        "clock_hours": "12.5",
        "ceus": "",
        "category": "literacy",
        "skills": "phonics, fluency",
        "reflection": "Changed how I run small groups.",
        "evidence_url": "",
        "visibility": "district",
    }
    base.update(values)
    return base


async def _records(factory, teacher_id: int) -> list[Record]:  # type: ignore[no-untyped-def]
    from ler_plugin.wallet.models import Wallet

    async with factory() as session:
        return list(
            await session.scalars(
                select(Record)
                .join(Wallet, Wallet.id == Record.wallet_id)
                .where(Wallet.teacher_id == teacher_id)
                .order_by(Record.id)
            )
        )


async def test_add_learning_with_a_file_goes_to_approval(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        form = http.get("/app/wallet/add", params={"session": world.teacher})
        assert form.status_code == 200
        sent = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={**_form(), "csrf": csrf_of(form.text)},
            files={"evidence_file": ("certificate.pdf", PDF, "application/pdf")},
        )
        assert sent.status_code == 303
        assert sent.headers["location"].startswith("/app/wallet?notice=added&session=")
        wallet = http.get(sent.headers["location"]).text
    assert "Your learning was added" in wallet
    assert "Waiting for approval" in wallet and "Not yet: waiting for your district" in wallet
    added = (await _records(session_factory, world.teacher_id))[-1]
    assert added.title == "Reading science summer institute"
    assert (added.source, added.status) == (RecordSource.SELF_REPORT, RecordStatus.SUBMITTED)
    assert str(added.clock_hours) == "12.50" and added.skills == ["phonics", "fluency"]
    assert added.category == "literacy" and "Literacy and reading" in wallet
    async with session_factory() as session:
        evidence = (
            await session.scalars(select(Evidence).where(Evidence.record_id == added.id))
        ).one()
    digest = hashlib.sha256(PDF).hexdigest()
    assert (evidence.sha256, evidence.content_type, evidence.size) == (
        digest,
        "application/pdf",
        len(PDF),
    )
    stored = live_server.settings.data_dir / "evidence" / digest
    assert stored.read_bytes() == PDF
    async with session_factory() as session:
        attached = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tag == "record:evidence:attach",
                    AuditEvent.subject_id == str(added.id),
                )
            )
        ).one()
    assert attached.actor_id == f"teacher:{world.teacher_id}" and attached.data["sha256"] == digest
    with client(live_server.url) as http:
        mine = http.get(f"/app/wallet/evidence/{evidence.id}", params={"session": world.teacher})
        theirs = http.get(f"/app/wallet/evidence/{evidence.id}", params={"session": world.other})
    assert mine.status_code == 200 and mine.content == PDF
    assert "attachment" in mine.headers["content-disposition"]
    assert theirs.status_code == 404


async def test_errors_are_shown_next_to_each_field(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    before = len(await _records(session_factory, world.teacher_id))
    with client(live_server.url) as http:
        token = csrf_of(http.get("/app/wallet/add", params={"session": world.teacher}).text)
        sent = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={
                **_form(
                    title="  ",
                    completed_on="2026-05-01",
                    clock_hours="1.234",
                    ceus="-1",
                    category="Workshop",
                ),
                "evidence_url": "javascript:alert(1)",
                "csrf": token,
            },
            files={"evidence_file": ("virus.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
        )
    assert sent.status_code == 400
    html = sent.text
    for field, message in (
        ("title", "Give the activity a title"),
        ("clock_hours", "Clock hours has at most two decimals"),
        ("ceus", "Ceus must be between 0 and 1000"),
        ("category", "Choose one of the listed topics"),
        ("evidence_file", "must be a PDF, PNG, JPEG or Word (.docx) file"),
        ("evidence_url", "must be a web address starting with https://"),
    ):
        error = html.index(f'id="{field}-error"')
        assert message in html[error : error + 300]
        assert (
            f'aria-describedby="{field}-error"' in html
            or f'aria-describedby="{field}-hint {field}-error"' in html
        )
    # What was typed comes back, escaped.
    assert 'value="Reading science' not in html  # the title was blank
    assert 'value="State Literacy Center"' in html
    assert len(await _records(session_factory, world.teacher_id)) == before


async def test_dates_and_missing_credit_are_refused(live_server, world: World) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        token = csrf_of(http.get("/app/wallet/add", params={"session": world.teacher}).text)
        backwards = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={
                **_form(title="", started_on="2026-06-09", completed_on="2026-06-01"),
                "csrf": token,
            },
        )
        no_credit = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={**_form(clock_hours="", ceus=""), "csrf": token},
        )
        future = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={**_form(started_on="", completed_on="2999-01-01"), "csrf": token},
        )
    assert backwards.status_code == 400
    # Both problems at once, each next to its own field.
    assert re.search(r'id="title-error">.*Give the activity a title', backwards.text)
    assert re.search(
        r'id="started_on-error">.*The start date is after the completion', backwards.text
    )
    assert no_credit.status_code == 400 and "Give the clock hours or the CEUs" in no_credit.text
    assert future.status_code == 400 and "The completion date is in the future" in future.text


async def test_docx_accepted_and_oversized_file_refused(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        token = csrf_of(http.get("/app/wallet/add", params={"session": world.teacher}).text)
        docx = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={**_form(title="Docx evidence", ceus="0.5", clock_hours=""), "csrf": token},
            files={"evidence_file": ("notes.docx", _docx(), "application/octet-stream")},
        )
        large = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={**_form(title="Huge"), "csrf": token},
            files={
                "evidence_file": ("big.pdf", PDF + b"0" * (10 * 1024 * 1024), "application/pdf")
            },
        )
    assert docx.status_code == 303
    added = (await _records(session_factory, world.teacher_id))[-1]
    assert added.title == "Docx evidence" and added.kind.value == "ceu"
    assert large.status_code == 400 and "larger than 10 MB" in large.text


async def test_forms_without_the_csrf_token_are_refused(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    before = len(await _records(session_factory, world.teacher_id))
    other_token = None
    with client(live_server.url) as http:
        other_token = csrf_of(http.get("/app/wallet/add", params={"session": world.other}).text)
        missing = http.post("/app/wallet/add", params={"session": world.teacher}, data=_form())
        foreign = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={**_form(), "csrf": other_token},
        )
        # A cookie alone (what a cross-site form would ride on) does not help either.
        http.cookies.set("ler_session", world.teacher)
        cookie_only = http.post(
            f"/app/wallet/records/{world.workshop_id}/visibility", data={"visibility": "private"}
        )
    assert missing.status_code == foreign.status_code == cookie_only.status_code == 403
    assert "did not come from the wallet" in missing.text
    assert len(await _records(session_factory, world.teacher_id)) == before
    records = {r.id: r for r in await _records(session_factory, world.teacher_id)}
    assert records[world.workshop_id].visibility == Visibility.DISTRICT


async def test_visibility_is_changed_by_the_owner_only_and_audited(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    with client(live_server.url) as http:
        token = csrf_of(http.get("/app/wallet", params={"session": world.teacher}).text)
        changed = http.post(
            f"/app/wallet/records/{world.workshop_id}/visibility",
            params={"session": world.teacher},
            data={"visibility": "public", "csrf": token},
        )
        other_csrf = csrf_of(http.get("/app/wallet", params={"session": world.other}).text)
        someone_elses = http.post(
            f"/app/wallet/records/{world.workshop_id}/visibility",
            params={"session": world.other},
            data={"visibility": "private", "csrf": other_csrf},
        )
        nonsense = http.post(
            f"/app/wallet/records/{world.workshop_id}/visibility",
            params={"session": world.teacher},
            data={"visibility": "everyone", "csrf": token},
        )
    assert changed.status_code == 303
    assert someone_elses.status_code == 404
    assert nonsense.status_code == 400 and "choose private, district or public" in nonsense.text
    async with session_factory() as session:
        record = await session.get(Record, world.workshop_id)
        events = list(
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tag == "record:visibility:update",
                    AuditEvent.subject_id == str(world.workshop_id),
                )
            )
        )
    assert record is not None and record.visibility == Visibility.PUBLIC
    assert [(e.actor_id, e.data) for e in events] == [
        (f"teacher:{world.teacher_id}", {"before": "district", "after": "public"})
    ]
