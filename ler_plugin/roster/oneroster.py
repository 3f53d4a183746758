"""OneRoster 1.2 (and 1.1) rostering data into a `Roster`: what the CSV bundle and the REST API
share once their rows are read: orgs to schools, users with their roles at orgs to staff.

A person is staff when they hold one of `STAFF_ROLES` at some org; their schools are the orgs of
type school where they hold such a role (1.2: `roles.csv` / `user.roles`; 1.1: `users.csv`'s
`role` and `orgSourcedIds`), and the schools of the classes they teach (`enrollments.csv`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ler_plugin.roster.rows import STAFF_ROLES, Roster, SchoolRow, StaffRow, Where

EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
# 1.1 said "inactive" before it said "tobedeleted"; both mean the record is gone at the source.
GONE = frozenset({"tobedeleted", "inactive"})
STATUSES = frozenset({"", "active"}) | GONE
SCHOOL = "school"
NAME_MAX = 255


@dataclass(frozen=True)
class Role:
    role: str
    org: str
    primary: bool
    where: Where


@dataclass
class User:
    sourced_id: str
    given_name: str
    family_name: str
    where: Where
    email: str | None = None
    identifier: str | None = None
    status: str = "active"
    primary_org: str | None = None
    roles: list[Role] = field(default_factory=list)
    # Schools of the classes the person teaches or administers (enrollments).
    class_schools: list[str] = field(default_factory=list)


def clean(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def check_status(roster: Roster, where: Where, status: str) -> bool:
    if status not in STATUSES:
        roster.refuse(where, f"status {status!r} is not active or tobedeleted")
        return False
    return True


def read_org(
    roster: Roster,
    where: Where,
    *,
    sourced_id: str,
    name: str,
    kind: str,
    identifier: str,
    status: str,
    types: dict[str, str],
) -> None:
    """One org: remembered by type (roles point at orgs), and a school row when it is a school."""
    if not sourced_id:
        roster.refuse(where, "the org has no sourcedId")
        return
    if sourced_id in types:
        roster.refuse(where, f"org sourcedId {sourced_id!r} is listed twice")
        return
    if not kind:
        roster.refuse(where, f"org {sourced_id!r} has no type")
        return
    if not check_status(roster, where, status):
        return
    types[sourced_id] = kind
    if kind != SCHOOL or status in GONE:
        return
    if not name:
        roster.refuse(where, f"school {sourced_id!r} has no name")
        del types[sourced_id]
        return
    if len(name) > NAME_MAX:
        roster.refuse(where, f"school {sourced_id!r}: the name is longer than {NAME_MAX}")
        del types[sourced_id]
        return
    roster.schools.append(SchoolRow(sourced_id, name, identifier[:64] or None, where))


def read_user(roster: Roster, user: User, seen: dict[str, Where]) -> User | None:
    """Check a user's own fields; None (and a refusal) when the row cannot be taken."""
    where = user.where
    if not user.sourced_id:
        roster.refuse(where, "the user has no sourcedId")
        return None
    if user.sourced_id in seen:
        roster.refuse(
            where, f"user sourcedId {user.sourced_id!r} is already on {seen[user.sourced_id]}"
        )
        return None
    if not check_status(roster, where, user.status):
        return None
    seen[user.sourced_id] = where
    return user


def role_ended(end: str, today: dt.date) -> bool | None:
    """Whether a role's end date (exclusive) has passed; None when it is not a date."""
    if not end:
        return False
    try:
        return dt.date.fromisoformat(end[:10]) <= today
    except ValueError:
        return None


def staff(roster: Roster, users: list[User], types: dict[str, str]) -> None:
    """Turn users into staff rows: those holding a staff role somewhere, with their schools."""
    emails: dict[str, Where] = {}
    identifiers: dict[str, Where] = {}
    for user in users:
        held = [r for r in user.roles if r.role in STAFF_ROLES]
        if not held:
            roster.not_staff += 1
            continue
        where = user.where
        roster.listed.add(user.sourced_id)
        if not user.given_name or not user.family_name:
            roster.refuse(where, f"user {user.sourced_id!r} needs a givenName and a familyName")
            continue
        if len(user.given_name) > NAME_MAX or len(user.family_name) > NAME_MAX:
            roster.refuse(where, f"user {user.sourced_id!r}: a name is longer than {NAME_MAX}")
            continue
        email = user.email.lower() if user.email else None
        if email and (not EMAIL.match(email) or len(email) > 320):
            roster.refuse(
                where, f"user {user.sourced_id!r}: {user.email!r} is not an email address"
            )
            continue
        if email and email in emails:
            roster.refuse(where, f"email {email} is already given to the user on {emails[email]}")
            continue
        identifier = user.identifier or None
        if identifier and len(identifier) > 64:
            roster.refuse(where, f"user {user.sourced_id!r}: identifier longer than 64")
            continue
        if identifier and identifier in identifiers:
            roster.refuse(
                where,
                f"identifier {identifier!r} is already the user's on {identifiers[identifier]}",
            )
            continue
        if email:
            emails[email] = where
        if identifier:
            identifiers[identifier] = where
        primary_role = next((r for r in held if r.primary), held[0])
        ordered = [user.primary_org] if user.primary_org else []
        ordered += [r.org for r in held if r.primary] + [r.org for r in held]
        ordered += user.class_schools
        schools = tuple(dict.fromkeys(o for o in ordered if o and types.get(o, SCHOOL) == SCHOOL))
        roster.staff.append(
            StaffRow(
                sourced_id=user.sourced_id,
                given_name=user.given_name,
                family_name=user.family_name,
                role=primary_role.role,
                where=where,
                email=email,
                staff_id=identifier,
                schools=schools,
                active=user.status not in GONE,
            )
        )
