"""District admins read their own district's audit log over GraphQL: newest first, keyset pages,
filters; events written during a request carry its client address and request id."""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx

from ler_plugin.api.persisted import OPERATIONS_DIR
from ler_plugin.audit import record_event
from ler_plugin.principal import Principal
from ler_plugin.sessions import issue_token
from tests.audit.helpers import ask, codes, place
from tests.pages.world import csrf_of

EVENTS = """query($first: Int!, $after: String, $tag: String, $subjectType: String,
  $from: DateTime, $to: DateTime) {
  auditEvents(first: $first, after: $after, tag: $tag, subjectType: $subjectType,
    from: $from, to: $to) {
    edges { cursor node { id occurredAt tag actorKind actorId districtId subjectType subjectId
      ip requestId data } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def _events(url: str, token: str, **variables: object) -> list[dict]:  # type: ignore[type-arg]
    body = ask(url, token, {"query": EVENTS, "variables": {"first": 100, **variables}})
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["auditEvents"]["edges"]]


async def test_admin_sees_own_district_with_request_origin(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    mine = await place(session_factory, live_server.settings)
    theirs = await place(session_factory, live_server.settings)
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        form = http.get("/app/wallet/shares", params={"session": mine.teacher}).text
        record = form.split('name="record" value="', 1)[1].split('"', 1)[0]
        made = http.post(
            "/app/wallet/shares",
            params={"session": mine.teacher},
            headers={"X-Request-ID": "audit-origin-0001"},
            data={"record": record, "expires_in_days": "7", "csrf": csrf_of(form)},
        )
    assert made.status_code == 303, made.text

    events = _events(live_server.url, mine.admin)
    assert events, "the admin sees their district's events"
    assert {e["districtId"] for e in events} == {str(mine.district_id)}
    newest = events[0]
    assert newest["tag"] == "share:link:create"
    assert newest["requestId"] == "audit-origin-0001" and newest["ip"] == "127.0.0.1"
    assert newest["actorKind"] == "teacher" and newest["subjectType"] == "share_link"
    assert newest["data"]["hide_identity"] is False
    times = [e["occurredAt"] for e in events]
    assert times == sorted(times, reverse=True)
    # Written outside any request (the helper's session): no origin is made up.
    made_directly = [e for e in events if e["requestId"] != "audit-origin-0001"]
    assert made_directly and all(e["ip"] is None for e in made_directly)

    # The published operation, sent by its hash as a client would.
    published = (OPERATIONS_DIR / "audit_events.graphql").read_bytes()
    by_hash = ask(
        live_server.url,
        mine.admin,
        {
            "variables": {"first": 1, "tag": "share:"},
            "extensions": {
                "persistedQuery": {
                    "version": 1,
                    "sha256Hash": hashlib.sha256(published).hexdigest(),
                }
            },
        },
    )
    assert by_hash["data"]["auditEvents"]["edges"][0]["node"]["requestId"] == "audit-origin-0001"

    operator = issue_token(live_server.settings, Principal.operator())
    everyone = {e["districtId"] for e in _events(live_server.url, operator)}
    assert {str(mine.district_id), str(theirs.district_id)} <= everyone


async def test_filters_and_pages(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    where = await place(session_factory, live_server.settings)
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    async with session_factory() as session, session.begin():
        for n in range(5):
            event = record_event(
                session,
                "record:pd:approve",
                actor_kind="district_admin",
                actor_id="teacher:0",
                district_id=where.district_id,
                subject_type="record",
                subject_id=n,
            )
            event.occurred_at = long_ago + dt.timedelta(minutes=n)

    url, admin = live_server.url, where.admin
    approvals = _events(url, admin, tag="record:pd:approve")
    assert [e["subjectId"] for e in approvals] == ["4", "3", "2", "1", "0"]
    assert {e["tag"] for e in _events(url, admin, tag="share:")} == {"share:link:create"}
    assert {e["subjectType"] for e in _events(url, admin, subjectType="record")} == {"record"}
    window = _events(
        url,
        admin,
        **{"from": "2020-01-01T00:01:00+00:00", "to": "2020-01-01T00:03:00+00:00"},
    )
    assert [e["subjectId"] for e in window] == ["2", "1"]

    seen: list[str] = []
    after = None
    while True:
        body = ask(
            url,
            admin,
            {
                "query": EVENTS,
                "variables": {"first": 2, "after": after, "tag": "record:pd:approve"},
            },
        )["data"]["auditEvents"]
        seen += [e["node"]["subjectId"] for e in body["edges"]]
        if not body["pageInfo"]["hasNextPage"]:
            break
        after = body["pageInfo"]["endCursor"]
    assert seen == ["4", "3", "2", "1", "0"]

    assert codes(ask(url, admin, {"query": EVENTS, "variables": {"first": 0}})) == {"bad_page_size"}
    assert codes(ask(url, admin, {"query": EVENTS, "variables": {"first": 5, "after": "x"}})) == {
        "bad_cursor"
    }
    assert codes(ask(url, where.teacher, {"query": EVENTS, "variables": {"first": 5}})) == {
        "forbidden"
    }
