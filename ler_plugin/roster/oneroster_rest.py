"""The OneRoster 1.2 rostering REST API into a `Roster`: `GET /orgs` and `GET /users` (each
user carries its `roles` at orgs), paged with `limit`/`offset` and `X-Total-Count`, behind an
OAuth 2.0 client-credentials token (scope roster-core.readonly)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ler_plugin.roster import oneroster
from ler_plugin.roster.oneroster import Role, User, clean
from ler_plugin.roster.remote import Client, pages
from ler_plugin.roster.rows import Progress, Roster, Where

SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
PAGE = 500


def _ref(value: Any) -> str:
    return clean(value.get("sourcedId")) if isinstance(value, dict) else ""


async def read(
    client: Client,
    base_url: str,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> Roster:
    """Every org and user of the server (a full roster: people it no longer lists go inactive)."""
    today = today or dt.date.today()
    base = base_url.rstrip("/")
    roster = Roster(source=f"OneRoster API {base}", full=True)
    types: dict[str, str] = {}
    seen = 0
    async for _total, items in pages(
        client, f"{base}/orgs", "orgs", limit=PAGE, total_header="X-Total-Count"
    ):
        for org in items:
            seen += 1
            where = Where("GET /orgs", seen)
            if not isinstance(org, dict):
                roster.refuse(where, "the org is not a JSON object")
                continue
            oneroster.read_org(
                roster,
                where,
                sourced_id=clean(org.get("sourcedId")),
                name=clean(org.get("name")),
                kind=clean(org.get("type")),
                identifier=clean(org.get("identifier")),
                status=clean(org.get("status")),
                types=types,
            )
    users: list[User] = []
    ids: dict[str, Where] = {}
    seen = 0
    async for total, items in pages(
        client, f"{base}/users", "users", limit=PAGE, total_header="X-Total-Count"
    ):
        for item in items:
            seen += 1
            user = _user(roster, Where("GET /users", seen), item, today)
            if user is not None and oneroster.read_user(roster, user, ids) is not None:
                users.append(user)
        if progress:
            progress(seen, total, "reading users")
    oneroster.staff(roster, users, types)
    return roster


def _user(roster: Roster, where: Where, item: Any, today: dt.date) -> User | None:
    if not isinstance(item, dict):
        roster.refuse(where, "the user is not a JSON object")
        return None
    user = User(
        sourced_id=clean(item.get("sourcedId")),
        given_name=clean(item.get("preferredFirstName")) or clean(item.get("givenName")),
        family_name=clean(item.get("preferredLastName")) or clean(item.get("familyName")),
        where=where,
        email=clean(item.get("email")) or None,
        identifier=clean(item.get("identifier")) or None,
        status=clean(item.get("status")),
        primary_org=_ref(item.get("primaryOrg")) or None,
    )
    roles = item.get("roles")
    for role in roles if isinstance(roles, list) else []:
        if not isinstance(role, dict):
            continue
        ended = oneroster.role_ended(clean(role.get("endDate")), today)
        if ended:
            continue
        if ended is None:
            roster.refuse(where, f"user {user.sourced_id!r}: a role's endDate is not a date")
            continue
        user.roles.append(
            Role(
                clean(role.get("role")),
                _ref(role.get("org")),
                clean(role.get("roleType")) == "primary",
                where,
            )
        )
    return user
