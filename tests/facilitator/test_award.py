"""The facilitator's award, end to end over HTTP: launch, roster (NRPS), records, scores (AGS)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.audit import AuditEvent
from ler_plugin.lti.models import Platform
from ler_plugin.sessions import issue_token, read_token
from ler_plugin.wallet.models import (
    Record,
    RecordKind,
    RecordSource,
    RecordStatus,
    Teacher,
    TeacherEmail,
    TeacherIdentity,
)
from tests import factories
from tests.facilitator.conftest import LEARNER, csrf, launch, page
from tests.facilitator.lms import CourseLms
from tests.lti.platform import Browser


def award_form(token: str, members: list[str], **fields: str) -> dict[str, object]:
    return {
        "csrf": token,
        "member": members,
        "title": "Structured literacy, session 3",
        "clock_hours": "3.5",
        "completed_on": "2026-03-01",
        "category": "literacy",
        **fields,
    }


async def awarded(factory: async_sessionmaker[AsyncSession], course: CourseLms) -> list[Record]:
    async with factory() as session:
        rows = await session.scalars(
            select(Record)
            .where(Record.source_key.like(f"lti:%:{course.context_id}:%"))
            .order_by(Record.id)
        )
        return list(rows)


async def test_roster_is_shown_with_learners_preselected(
    course: CourseLms, browser: Browser
) -> None:
    session = await launch(browser, course)
    response = await page(browser.client, f"{browser.tool}/app/facilitator", session)
    assert response.status_code == 200, response.text
    html = response.text
    for m in course.members:
        assert m["name"] in html and m["email"] in html
    assert course.roster_pages == 3  # six members, two a page, every page followed
    learners = [m["user_id"] for m in course.members[1:5]]
    for user_id in learners:
        assert f'value="{user_id}" checked' in html
    assert 'value="facilitator-1" checked' not in html  # the instructor
    assert f'value="{course.members[5]["user_id"]}" checked' not in html  # inactive


async def test_award_creates_exactly_the_selected_records_and_sends_scores(
    course: CourseLms, browser: Browser, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    session = await launch(browser, course)
    first = await page(browser.client, f"{browser.tool}/app/facilitator", session)
    chosen = [course.members[1]["user_id"], course.members[2]["user_id"]]
    response = await browser.client.post(
        f"{browser.tool}/app/facilitator",
        params={"session": session},
        data=award_form(csrf(first.text), chosen),
    )
    assert response.status_code == 200, response.text
    assert "2 new records" in response.text
    assert response.text.count("Record created") == 2
    assert response.text.count("Score sent") == 2

    records = await awarded(session_factory, course)
    assert len(records) == 2
    async with session_factory() as db:
        for record, user_id in zip(records, chosen, strict=True):
            assert record.source == RecordSource.LMS_AWARD
            assert record.status == RecordStatus.APPROVED
            assert record.kind == RecordKind.PD_HOURS
            assert record.clock_hours == Decimal("3.5")
            assert record.category == "literacy"
            assert record.source_key is not None and record.source_key.endswith(":" + user_id)
            assert record.district_id == course.district_id  # type: ignore[attr-defined]
            identity = await db.scalar(
                select(TeacherIdentity).where(TeacherIdentity.subject == user_id)
            )
            assert identity is not None
            teacher = await db.get(Teacher, identity.teacher_id)
            assert teacher is not None and teacher.district_id == course.district_id  # type: ignore[attr-defined]
            email = await db.scalar(
                select(TeacherEmail).where(TeacherEmail.teacher_id == teacher.id)
            )
            assert email is not None and email.verified
        event = await db.scalar(
            select(AuditEvent)
            .where(AuditEvent.tag == "record:lms_award:create")
            .where(AuditEvent.district_id == course.district_id)  # type: ignore[attr-defined]
        )
        assert event is not None and event.data["created"] == 2

    assert len(course.line_items) == 1
    item = course.line_items[1]
    assert item["scoreMaximum"] == 3.5 and item["resourceId"].startswith("ler-pd:")
    assert sorted(s["userId"] for s in course.scores) == sorted(chosen)
    for score in course.scores:
        assert score["scoreGiven"] == 3.5 and score["scoreMaximum"] == 3.5
        assert score["activityProgress"] == "Completed"
        assert score["gradingProgress"] == "FullyGraded"


async def test_award_again_is_idempotent(
    course: CourseLms, browser: Browser, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    session = await launch(browser, course)
    token = csrf((await page(browser.client, f"{browser.tool}/app/facilitator", session)).text)
    chosen = [m["user_id"] for m in course.members[1:4]]
    url = f"{browser.tool}/app/facilitator"
    await browser.client.post(url, params={"session": session}, data=award_form(token, chosen[:2]))
    again = await browser.client.post(
        url, params={"session": session}, data=award_form(token, chosen)
    )
    assert again.status_code == 200, again.text
    assert again.text.count("Already awarded") == 2
    assert again.text.count("Record created") == 1
    assert len(await awarded(session_factory, course)) == 3
    assert len(course.line_items) == 1  # the same column found again


async def test_refused_score_is_listed_as_failed(
    course: CourseLms, browser: Browser, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    gone = course.members[3]["user_id"]
    course.refuse_scores_for.add(gone)
    session = await launch(browser, course)
    token = csrf((await page(browser.client, f"{browser.tool}/app/facilitator", session)).text)
    chosen = [course.members[1]["user_id"], gone]
    response = await browser.client.post(
        f"{browser.tool}/app/facilitator",
        params={"session": session},
        data=award_form(token, chosen),
    )
    assert response.status_code == 200, response.text
    assert response.text.count("Score sent") == 1
    assert "Score refused" in response.text and "no longer enrolled" in response.text
    assert [s["userId"] for s in course.scores] == [course.members[1]["user_id"]]
    assert len(await awarded(session_factory, course)) == 2  # the wallets still got credit


async def test_a_failure_mid_batch_leaves_no_record(
    course: CourseLms, browser: Browser, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # The third member's identity on this LMS points at a teacher of another district.
    async with session_factory() as db, db.begin():
        other = await factories.district(db)
        stranger = await factories.teacher(db, other.id)
        platform_id = await db.scalar(
            select(Platform.id).where(Platform.client_id == course.client_id)
        )
        db.add(
            TeacherIdentity(
                teacher_id=stranger.id,
                platform_id=platform_id,
                issuer=course.issuer,
                subject=course.members[3]["user_id"],
            )
        )
    session = await launch(browser, course)
    token = csrf((await page(browser.client, f"{browser.tool}/app/facilitator", session)).text)
    chosen = [m["user_id"] for m in course.members[1:5]]
    response = await browser.client.post(
        f"{browser.tool}/app/facilitator",
        params={"session": session},
        data=award_form(token, chosen),
    )
    # The wallet finds teachers within the facilitator's district only (on PostgreSQL the
    # district wall hides the other one anyway): the unique identity key refuses a second
    # teacher for that LMS account (409). Nothing of the batch is stored.
    assert response.status_code == 409, response.text
    assert "linked to a teacher" in response.text
    assert await awarded(session_factory, course) == []
    async with session_factory() as db:
        made = await db.scalar(
            select(func.count())
            .select_from(TeacherIdentity)
            .where(TeacherIdentity.subject.in_(chosen[:2]))
        )
        assert made == 0  # the teachers made for earlier members rolled back too
    assert course.scores == []


async def test_a_learner_is_refused(course: CourseLms, browser: Browser) -> None:
    session = await launch(browser, course, sub=course.members[1]["user_id"], roles=[LEARNER])
    response = await page(browser.client, f"{browser.tool}/app/facilitator", session)
    assert response.status_code == 403
    assert "facilitator" in response.text
    assert course.roster_pages == 0


async def test_bad_award_input_names_the_field(course: CourseLms, browser: Browser) -> None:
    session = await launch(browser, course)
    token = csrf((await page(browser.client, f"{browser.tool}/app/facilitator", session)).text)
    response = await browser.client.post(
        f"{browser.tool}/app/facilitator",
        params={"session": session},
        data=award_form(token, [], clock_hours="lots", title=""),
    )
    assert response.status_code == 400
    assert "clock hours must be a number" in response.text.lower()
    assert 'href="#title"' in response.text


async def test_a_roster_the_lms_will_not_give_is_explained(
    course: CourseLms, browser: Browser
) -> None:
    course.refuse_tokens = True
    session = await launch(browser, course)
    response = await page(browser.client, f"{browser.tool}/app/facilitator", session)
    assert response.status_code == 200
    assert "The roster could not be read from the LMS" in response.text
    assert "refused our client assertion" in response.text


async def test_a_gradebook_outage_fails_every_score_but_keeps_the_records(
    course: CourseLms, browser: Browser, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    course.gradebook_down = True
    session = await launch(browser, course)
    token = csrf((await page(browser.client, f"{browser.tool}/app/facilitator", session)).text)
    chosen = [m["user_id"] for m in course.members[1:3]]
    response = await browser.client.post(
        f"{browser.tool}/app/facilitator",
        params={"session": session},
        data=award_form(token, chosen),
    )
    assert response.status_code == 200, response.text
    assert response.text.count("Score refused") == 2
    assert "failed on the platform" in response.text
    assert len(await awarded(session_factory, course)) == 2
    # Once the gradebook is back, sending the same award again delivers the scores only.
    course.gradebook_down = False
    again = await browser.client.post(
        f"{browser.tool}/app/facilitator",
        params={"session": session},
        data=award_form(token, chosen),
    )
    assert again.text.count("Already awarded") == 2 and again.text.count("Score sent") == 2
    assert len(await awarded(session_factory, course)) == 2


async def test_a_deep_linked_activity_fills_the_form(
    course: CourseLms, browser: Browser, live_server
) -> None:  # type: ignore[no-untyped-def]
    launched = read_token(live_server.settings, await launch(browser, course))
    context = {
        **launched.context,
        "custom_pd_title": "Phonics lab",
        "custom_pd_hours": "2.50",
        "custom_pd_category": "literacy",
    }
    session = issue_token(live_server.settings, replace(launched, context=context))
    response = await page(browser.client, f"{browser.tool}/app/facilitator", session)
    assert 'name="title" type="text" maxlength="500" required value="Phonics lab"' in response.text
    assert 'value="2.50"' in response.text
    assert '<option value="literacy" selected>' in response.text
