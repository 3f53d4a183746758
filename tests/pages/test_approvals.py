"""The district's approval queue: admins of the district decide, the teacher reads the reason."""

from __future__ import annotations

import re

from sqlalchemy import select

from ler_plugin.audit import AuditEvent
from ler_plugin.principal import Principal, Role
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import Record, RecordSource, RecordStatus
from ler_plugin.web.security import csrf_token
from tests import factories
from tests.pages.world import World, client, csrf_of


async def _submitted(factory, teacher_id: int, title: str) -> int:  # type: ignore[no-untyped-def]
    from ler_plugin.wallet.models import Teacher

    async with factory() as session, session.begin():
        teacher = await session.get(Teacher, teacher_id)
        record = await factories.record(
            session,
            teacher,
            title=title,
            status=RecordStatus.SUBMITTED,
            source=RecordSource.SELF_REPORT,
        )
        return record.id


async def test_admin_rejects_with_a_reason_the_teacher_reads(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    rejected = await _submitted(session_factory, world.teacher_id, "Weekend conference")
    approved = await _submitted(session_factory, world.teacher_id, "Online course")
    with client(live_server.url) as http:
        queue = http.get("/app/dashboard/approvals", params={"session": world.admin})
        assert queue.status_code == 200
        assert "Weekend conference" in queue.text and "Ada Lovelace" in queue.text
        assert "Literacy workshop" not in queue.text  # already approved: not in the queue
        token = csrf_of(queue.text)
        no_reason = http.post(
            f"/app/dashboard/approvals/{rejected}",
            params={"session": world.admin},
            data={"decision": "reject", "reason": " ", "csrf": token},
        )
        assert no_reason.status_code == 400
        assert "say why it is rejected" in no_reason.text
        assert f'id="reason-{rejected}-error"' in no_reason.text
        done = http.post(
            f"/app/dashboard/approvals/{rejected}",
            params={"session": world.admin},
            data={"decision": "reject", "reason": "No certificate <b>attached</b>", "csrf": token},
        )
        assert done.status_code == 303 and "notice=rejected" in done.headers["location"]
        ok = http.post(
            f"/app/dashboard/approvals/{approved}",
            params={"session": world.admin},
            data={"decision": "approve", "reason": "", "csrf": token},
        )
        assert ok.status_code == 303
        again = http.post(
            f"/app/dashboard/approvals/{approved}",
            params={"session": world.admin},
            data={"decision": "reject", "reason": "changed my mind", "csrf": token},
        )
        assert again.status_code == 400 and "not waiting for a decision" in again.text
        wallet = http.get("/app/wallet", params={"session": world.teacher}).text
        dashboard = http.get("/app/dashboard", params={"session": world.admin}).text
    assert "Does not count: rejected (No certificate &lt;b&gt;attached&lt;/b&gt;)." in wallet
    assert "Approvals" in dashboard
    async with session_factory() as session:
        assert (await session.get(Record, rejected)).status == RecordStatus.REJECTED  # type: ignore[union-attr]
        assert (await session.get(Record, approved)).status == RecordStatus.APPROVED  # type: ignore[union-attr]
        tags = {
            (e.tag, e.subject_id, e.actor_id)
            for e in await session.scalars(
                select(AuditEvent).where(AuditEvent.tag.like("record:self_report:%"))
            )
        }
    actor = f"teacher:{world.admin_teacher_id}"
    assert ("record:self_report:reject", str(rejected), actor) in tags
    assert ("record:self_report:approve", str(approved), actor) in tags


async def test_only_admins_of_the_district_decide(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    waiting = await _submitted(session_factory, world.teacher_id, "Book study")
    own = await _submitted(session_factory, world.admin_teacher_id, "My own course")
    async with session_factory() as session, session.begin():
        elsewhere = await factories.district(session)
        stranger = await factories.teacher(session, elsewhere.id, name="Other Admin")
        elsewhere_id, stranger_id = elsewhere.id, stranger.id
    outsider = issue_token(
        live_server.settings, Principal.for_teacher(stranger_id, elsewhere_id, Role.DISTRICT_ADMIN)
    )
    with client(live_server.url) as http:
        teacher_page = http.get("/app/dashboard/approvals", params={"session": world.teacher})
        assert teacher_page.status_code == 403
        outsider_page = http.get("/app/dashboard/approvals", params={"session": outsider})
        assert outsider_page.status_code == 200 and "Book study" not in outsider_page.text
        crossed = http.post(
            f"/app/dashboard/approvals/{waiting}",
            params={"session": outsider},
            data={"decision": "approve", "csrf": csrf_token(live_server.settings, outsider)},
        )
        assert crossed.status_code == 404
        admin_page = http.get("/app/dashboard/approvals", params={"session": world.admin})
        self_approval = http.post(
            f"/app/dashboard/approvals/{own}",
            params={"session": world.admin},
            data={"decision": "approve", "csrf": csrf_of(admin_page.text)},
        )
        assert self_approval.status_code == 403
        assert "another district admin must decide" in self_approval.text
    async with session_factory() as session:
        assert (await session.get(Record, waiting)).status == RecordStatus.SUBMITTED  # type: ignore[union-attr]
        assert (await session.get(Record, own)).status == RecordStatus.SUBMITTED  # type: ignore[union-attr]


async def test_admins_of_the_district_open_submitted_evidence(
    live_server, session_factory, world: World
) -> None:  # type: ignore[no-untyped-def]
    from tests.pages.test_forms import PDF, _form

    async with session_factory() as session, session.begin():
        elsewhere = await factories.district(session)
        stranger = await factories.teacher(session, elsewhere.id, name="Far Admin")
        outsider = issue_token(
            live_server.settings,
            Principal.for_teacher(stranger.id, elsewhere.id, Role.DISTRICT_ADMIN),
        )
    with client(live_server.url) as http:
        token = csrf_of(http.get("/app/wallet/add", params={"session": world.teacher}).text)
        sent = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={**_form(title="With agenda"), "csrf": token},
            files={"evidence_file": ("agenda.pdf", PDF, "application/pdf")},
        )
        assert sent.status_code == 303
        queue = http.get("/app/dashboard/approvals", params={"session": world.admin}).text
        href = re.search(r'href="(/app/wallet/evidence/\d+)\?session=[^"]+">agenda.pdf<', queue)
        assert href, "the queue links the evidence"
        admin = http.get(href.group(1), params={"session": world.admin})
        far = http.get(href.group(1), params={"session": outsider})
    assert admin.status_code == 200 and admin.content == PDF
    assert admin.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert far.status_code == 404


def test_bodies_over_the_cap_are_refused_unread(live_server, world: World) -> None:
    # Over the pages' 11 MB cap, under the 12 MB the request middleware on main refuses itself.
    with client(live_server.url) as http:
        token = csrf_of(http.get("/app/wallet/add", params={"session": world.teacher}).text)
        response = http.post(
            "/app/wallet/add",
            params={"session": world.teacher},
            data={"csrf": token},
            files={
                "evidence_file": (
                    "big.pdf",
                    b"%PDF-" + b"0" * (11 * 1024 * 1024 + 512 * 1024),
                    "application/pdf",
                )
            },
        )
    assert response.status_code == 413 and "at most 10 MB" in response.text
