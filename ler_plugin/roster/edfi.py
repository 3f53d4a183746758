"""An Ed-Fi ODS/API 7 into a `Roster`: schools, staff and staff-school associations.

The API's root document names its OAuth token URL and its data URL; resources are read page by
page (`limit`/`offset`, `totalCount=true` → `Total-Count`). A school's `schoolId` is its
sourcedId; a staff member's `staffUniqueId` is both their sourcedId and their staff id, their
first electronic mail their email. Staff with a school association are imported, with those
schools; staff with none are counted as not (school) staff. An Ed-Fi roster is full.
"""

from __future__ import annotations

from typing import Any

from ler_plugin.roster import oneroster
from ler_plugin.roster.errors import RosterError
from ler_plugin.roster.oneroster import User, clean
from ler_plugin.roster.remote import Client, pages
from ler_plugin.roster.rows import Progress, Roster, Where

PAGE = 500
ROLE = "teacher"


def urls(root: Any, base: str) -> tuple[str, str]:
    """(token URL, data URL) from the API's root document."""
    named = root.get("urls") if isinstance(root, dict) else None
    token = named.get("oauth") if isinstance(named, dict) else None
    data = named.get("dataManagementApi") if isinstance(named, dict) else None
    if not isinstance(token, str) or not isinstance(data, str):
        raise RosterError(
            "not_edfi",
            f"{base} did not answer an Ed-Fi root document (urls.oauth, urls.dataManagementApi)",
        )
    return token, data.rstrip("/")


async def _all(client: Client, url: str, progress: Progress | None, what: str) -> list[Any]:
    found: list[Any] = []
    async for total, items in pages(
        client, url, "", limit=PAGE, total_header="Total-Count", extra={"totalCount": "true"}
    ):
        found += items
        if progress:
            progress(len(found), total, what)
    return found


def _text(item: dict[str, Any], *path: str) -> str:
    value: Any = item
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return clean(value) if isinstance(value, str) else str(value) if isinstance(value, int) else ""


async def read(client: Client, data_url: str, progress: Progress | None = None) -> Roster:
    roster = Roster(source=f"Ed-Fi API {data_url}", full=True)
    types: dict[str, str] = {}
    for n, school in enumerate(
        await _all(client, f"{data_url}/ed-fi/schools", progress, "reading schools"), 1
    ):
        where = Where("GET /ed-fi/schools", n)
        if not isinstance(school, dict):
            roster.refuse(where, "the school is not a JSON object")
            continue
        oneroster.read_org(
            roster,
            where,
            sourced_id=_text(school, "schoolId"),
            name=_text(school, "nameOfInstitution"),
            kind="school",
            identifier=_text(school, "schoolId"),
            status="active",
            types=types,
        )
    schools: dict[str, list[str]] = {}
    for n, link in enumerate(
        await _all(
            client, f"{data_url}/ed-fi/staffSchoolAssociations", progress, "reading assignments"
        ),
        1,
    ):
        staff_id = _text(link, "staffReference", "staffUniqueId") if isinstance(link, dict) else ""
        school_id = _text(link, "schoolReference", "schoolId") if isinstance(link, dict) else ""
        if not staff_id or not school_id:
            roster.refuse(
                Where("GET /ed-fi/staffSchoolAssociations", n),
                "the association names no staff or no school",
            )
            continue
        schools.setdefault(staff_id, []).append(school_id)
    seen: dict[str, Where] = {}
    users = []
    for n, staff in enumerate(
        await _all(client, f"{data_url}/ed-fi/staffs", progress, "reading staff"), 1
    ):
        where = Where("GET /ed-fi/staffs", n)
        if not isinstance(staff, dict):
            roster.refuse(where, "the staff member is not a JSON object")
            continue
        unique = _text(staff, "staffUniqueId")
        if unique and unique not in schools:
            roster.not_staff += 1
            continue
        mails = staff.get("electronicMails")
        email = next(
            (_text(m, "electronicMailAddress") for m in mails if isinstance(m, dict))
            if isinstance(mails, list)
            else iter(()),
            None,
        )
        user = User(
            sourced_id=unique,
            given_name=_text(staff, "firstName"),
            family_name=_text(staff, "lastSurname"),
            where=where,
            email=email or None,
            identifier=unique or None,
            roles=[
                oneroster.Role(ROLE, s, i == 0, where)
                for i, s in enumerate(schools.get(unique, []))
            ],
        )
        if oneroster.read_user(roster, user, seen) is not None:
            users.append(user)
    oneroster.staff(roster, users, types)
    return roster
