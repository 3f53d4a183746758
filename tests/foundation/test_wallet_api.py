"""A teacher reads their own wallet over real HTTP; nobody else can."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.principal import Principal
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import RecordStatus
from tests import factories

WALLET = """
query Wallet($first: Int!, $after: String, $search: String) {
  wallet {
    owner { displayName }
    totals { records clockHours ceus badges }
    records(first: $first, after: $after, search: $search) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { title clockHours completedOn status } }
    }
  }
}
"""


async def _teacher_with_records(factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with factory() as session, session.begin():
        district = await factories.district(session)
        teacher = await factories.teacher(session, district.id, name="Rosa Parks")
        for day in range(1, 6):
            await factories.record(
                session,
                teacher,
                title=f"Workshop {day}",
                completed_on=dt.date(2026, 1, day),
                clock_hours="1.5",
            )
        await factories.record(session, teacher, title="Rejected one", status=RecordStatus.REJECTED)
        other = await factories.teacher(session, district.id, name="Someone Else")
        await factories.record(session, other, title="Not yours")
        return teacher.id, district.id


def _post(url: str, token: str | None, variables: dict[str, object]) -> dict:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{url}/graphql", json={"query": WALLET, "variables": variables}, headers=headers
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def test_teacher_pages_through_own_wallet(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    teacher_id, district_id = await _teacher_with_records(session_factory)
    token = issue_token(live_server.settings, Principal.for_teacher(teacher_id, district_id))

    first = _post(live_server.url, token, {"first": 2})["data"]["wallet"]
    assert first["owner"]["displayName"] == "Rosa Parks"
    assert first["totals"] == {"records": 5, "clockHours": "7.50", "ceus": "0.00", "badges": 0}
    page = first["records"]
    assert page["totalCount"] == 6
    assert [e["node"]["title"] for e in page["edges"]] == ["Rejected one", "Workshop 5"]
    assert page["pageInfo"]["hasNextPage"] is True

    titles = [e["node"]["title"] for e in page["edges"]]
    after = page["pageInfo"]["endCursor"]
    while after:
        nxt = _post(live_server.url, token, {"first": 2, "after": after})["data"]["wallet"][
            "records"
        ]
        titles += [e["node"]["title"] for e in nxt["edges"]]
        after = nxt["pageInfo"]["endCursor"] if nxt["pageInfo"]["hasNextPage"] else None
    assert titles == [
        "Rejected one",
        "Workshop 5",
        "Workshop 4",
        "Workshop 3",
        "Workshop 2",
        "Workshop 1",
    ]
    assert "Not yours" not in titles

    found = _post(live_server.url, token, {"first": 10, "search": "shop 3"})["data"]["wallet"][
        "records"
    ]
    assert [e["node"]["title"] for e in found["edges"]] == ["Workshop 3"]


async def test_bad_input_gets_a_named_error(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    teacher_id, district_id = await _teacher_with_records(session_factory)
    token = issue_token(live_server.settings, Principal.for_teacher(teacher_id, district_id))
    for variables, code in (
        ({"first": 0}, "bad_page_size"),
        ({"first": 101}, "bad_page_size"),
        ({"first": 5, "after": "not-a-cursor"}, "bad_cursor"),
        ({"first": 5, "search": "%'; DROP TABLE record; --"}, None),
    ):
        body = _post(live_server.url, token, variables)
        if code is None:
            assert body["data"]["wallet"]["records"]["totalCount"] == 0
        else:
            assert body["errors"][0]["extensions"]["code"] == code, body


async def test_no_token_or_a_forged_one_is_refused(live_server) -> None:  # type: ignore[no-untyped-def]
    assert (
        _post(live_server.url, None, {"first": 1})["errors"][0]["extensions"]["code"]
        == "not_signed_in"
    )
    forged = issue_token(
        live_server.settings.model_copy(update={"secret_key": "x" * 40}),
        Principal.for_teacher(1, 1),
    )
    assert (
        _post(live_server.url, forged, {"first": 1})["errors"][0]["extensions"]["code"]
        == "session_invalid"
    )
    expired = issue_token(
        live_server.settings, Principal.for_teacher(1, 1), ttl=dt.timedelta(seconds=-5)
    )
    assert (
        _post(live_server.url, expired, {"first": 1})["errors"][0]["extensions"]["code"]
        == "session_expired"
    )


async def test_healthz_checks_the_database(live_server) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{live_server.url}/healthz")
    assert response.json() == {"status": "ok", "database": "ok"}
