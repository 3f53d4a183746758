"""Rollups, compliance and CSV downloads over real HTTP, as district staff and teachers use them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.principal import Principal, Role
from ler_plugin.seed import seed
from ler_plugin.sessions import issue_token
from tests import factories

OPERATIONS = Path(__file__).parents[2] / "graphql" / "operations"
ON = dt.date(2026, 11, 15)


def admin(district_id: int, subject: str = "admin") -> Principal:
    return Principal(
        roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district_id, subject=subject
    )


def _graphql(
    url: str, token: str, document: str, operation: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": document, "operationName": operation, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


async def _district(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as session, session.begin():
        report = await seed(
            session=session, slug=factories.unique("http"), teachers=30, years=2, today=ON
        )
        return report.district_id


async def test_rollup_pages_and_csv_download_agree(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    district_id = await _district(session_factory)
    token = issue_token(live_server.settings, admin(district_id))
    document = (OPERATIONS / "rollup.graphql").read_text()
    variables: dict[str, Any] = {
        "by": ["school", "category"],
        "from": "2025-07-01",
        "to": "2026-06-30",
        "first": 7,
    }
    groups = []
    while True:
        answer = _graphql(live_server.url, token, document, "DistrictRollup", variables)
        assert "errors" not in answer, answer
        rollup = answer["data"]["district"]["rollup"]
        groups += [edge["node"] for edge in rollup["edges"]]
        if not rollup["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = rollup["pageInfo"]["endCursor"]
    assert len(groups) > 7
    assert sum(g["records"] for g in groups) == rollup["totals"]["records"]

    response = httpx.get(rollup["csvUrl"], headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert [
        (
            int(line["school_id"]),
            line["category"],
            int(line["records"]),
            int(line["teachers"]),
            line["clock_hours"],
            line["ceus"],
            line["hours_equivalent"],
        )
        for line in lines
    ] == [
        (
            int(g["keys"][0]["value"]),
            g["keys"][1]["label"],
            g["records"],
            g["teachers"],
            g["clockHours"],
            g["ceus"],
            g["hoursEquivalent"],
        )
        for g in groups
    ]

    # Small-cell suppression: groups of fewer than k teachers are masked in the export.
    k = sorted(g["teachers"] for g in groups)[len(groups) // 2]
    masked_answer = _graphql(
        live_server.url, token, document, "DistrictRollup", {**variables, "minTeachers": k}
    )
    masked_url = masked_answer["data"]["district"]["rollup"]["csvUrl"]
    masked = httpx.get(masked_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    masked_lines = list(csv.DictReader(io.StringIO(masked.text)))
    assert len(masked_lines) == len(groups)
    for line, group in zip(masked_lines, groups, strict=True):
        hidden = group["teachers"] < k
        assert (line["suppressed"] == "true") == hidden
        assert (line["records"] == "") == hidden

    # The link is for this admin only: another person's session cannot use it.
    stranger = issue_token(live_server.settings, admin(district_id, subject="someone-else"))
    refused = httpx.get(
        rollup["csvUrl"], headers={"Authorization": f"Bearer {stranger}"}, timeout=30
    )
    assert refused.status_code == 403
    assert httpx.get(rollup["csvUrl"], timeout=30).status_code == 401
    tampered = rollup["csvUrl"][:-3] + "abc"
    bad = httpx.get(tampered, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert (bad.status_code, bad.json()["error"]) == (400, "export_link_invalid")


async def test_other_district_and_bad_group_by_over_graphql(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    district_id = await _district(session_factory)
    document = (OPERATIONS / "rollup.graphql").read_text()
    token = issue_token(live_server.settings, admin(district_id))
    bad = _graphql(
        live_server.url, token, document, "DistrictRollup", {"by": ["school", "colour"], "first": 5}
    )
    assert bad["errors"][0]["extensions"]["code"] == "bad_group_by"
    async with session_factory() as session, session.begin():
        other = await factories.district(session)
    other_token = issue_token(live_server.settings, admin(other.id))
    answer = _graphql(
        live_server.url, other_token, document, "DistrictRollup", {"by": ["school"], "first": 100}
    )
    assert answer["data"]["district"]["rollup"]["edges"] == []
    assert answer["data"]["district"]["rollup"]["totals"]["records"] == 0
    async with session_factory() as session, session.begin():
        teacher = await factories.teacher(session, district_id)
    as_teacher = issue_token(live_server.settings, Principal.for_teacher(teacher.id, district_id))
    refused = _graphql(
        live_server.url, as_teacher, document, "DistrictRollup", {"by": ["school"], "first": 5}
    )
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"


async def test_compliance_list_counts_csv_and_my_compliance(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    district_id = await _district(session_factory)
    token = issue_token(live_server.settings, admin(district_id))
    document = (OPERATIONS / "compliance.graphql").read_text()
    answer = _graphql(live_server.url, token, document, "DistrictCompliance", {"first": 100})
    assert "errors" not in answer, answer
    listed = answer["data"]["district"]["compliance"]
    assert len(listed["edges"]) == 30
    counts = answer["data"]["district"]["complianceCounts"]
    assert sum(c["teachers"] for school in counts for c in school["counts"]) == 30
    response = httpx.get(listed["csvUrl"], headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["teacher_id"], r["status"], r["earned"]) for r in rows] == [
        (e["node"]["teacherId"], e["node"]["status"], e["node"]["earned"] or "")
        for e in listed["edges"]
    ]
    teacher_id = int(listed["edges"][0]["node"]["teacherId"])
    mine = issue_token(live_server.settings, Principal.for_teacher(teacher_id, district_id))
    own = _graphql(live_server.url, mine, document, "MyCompliance", {"on": ON.isoformat()})
    assert "errors" not in own, own
    assert own["data"]["myCompliance"]["status"] == listed["edges"][0]["node"]["status"]
    assert {r["reason"] for r in own["data"]["myCompliance"]["records"]} >= {"counted"}
