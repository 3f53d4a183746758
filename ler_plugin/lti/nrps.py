"""Names and Role Provisioning Service: the roster of an LMS course, for a facilitator's award.

The platform gives the roster URL in the launch (``context_memberships_url``); it is used exactly
as given (Moodle's and Canvas's paths are case-sensitive and carry their own query strings), and
pages are followed through ``Link: <...>; rel="next"`` until there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ler_plugin.lti.errors import LtiServiceError
from ler_plugin.lti.services import SCOPE_NRPS, ServiceAccess, json_answer

MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
# A course of ten thousand at the smallest page size platforms use (10) still fits; a platform
# that keeps sending "next" past this is looping.
MAX_PAGES = 1000


@dataclass(frozen=True)
class Member:
    user_id: str
    name: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    roles: tuple[str, ...]
    status: str
    lis_person_sourcedid: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status == "Active"


@dataclass(frozen=True)
class Roster:
    context_id: str | None
    context_title: str | None
    members: tuple[Member, ...]


async def fetch_roster(access: ServiceAccess, context_memberships_url: str) -> Roster:
    """Every member of the context, all pages followed."""
    members: list[Member] = []
    context: dict[str, Any] = {}
    async for response in access.pages(
        context_memberships_url,
        scopes=[SCOPE_NRPS],
        accept=MEMBERSHIP_CONTAINER,
        what="the roster service",
        max_pages=MAX_PAGES,
        loop_code="lti_nrps_paging_loop",
    ):
        body = json_answer(response, "the roster service", dict)
        if not context and isinstance(body.get("context"), dict):
            context = body["context"]
        page = body.get("members")
        if not isinstance(page, list):
            raise LtiServiceError(
                "lti_service_bad_response",
                f"the roster at {response.request.url} has no members list",
            )
        members.extend(_member(item, str(response.request.url)) for item in page)
    return Roster(
        context_id=_text(context.get("id")),
        context_title=_text(context.get("title")),
        members=tuple(members),
    )


def _member(item: Any, url: str) -> Member:
    if not isinstance(item, dict) or not item.get("user_id"):
        raise LtiServiceError(
            "lti_service_bad_response", f"the roster at {url} lists a member without a user_id"
        )
    roles = item.get("roles")
    return Member(
        user_id=str(item["user_id"]),
        name=_text(item.get("name")),
        given_name=_text(item.get("given_name")),
        family_name=_text(item.get("family_name")),
        email=_text(item.get("email")),
        roles=tuple(str(role) for role in roles) if isinstance(roles, list) else (),
        # The spec: a member without a status is Active.
        status=_text(item.get("status")) or "Active",
        lis_person_sourcedid=_text(item.get("lis_person_sourcedid")),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
