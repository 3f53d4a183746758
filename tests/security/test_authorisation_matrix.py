"""Every root field of the schema, asked by every kind of principal (and by nobody): allowed or
refused as the rules below say. A field without a rule fails this test, so nothing new ships
unguarded. Refusals must be errors with a refusal code and no data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.api.schema import schema
from ler_plugin.badges.models import Badge, PendingClaim
from ler_plugin.db import utcnow
from ler_plugin.principal import Principal, Role
from ler_plugin.providers import service as providers
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import RecordKind, RecordSource, RecordStatus
from tests import factories
from tests.intake.helpers import token as provider_token

# Codes that mean "you may not": anything else (a bad input, a failed fetch) means the request
# got past authorisation.
REFUSED = {
    "not_signed_in",
    "session_invalid",
    "forbidden",
    "badge_not_found",
    "claim_not_found",
    "provider_not_found",
    "teacher_not_found",
    "wallet_not_found",
}
PRINCIPALS = (
    "nobody",
    "teacher",
    "other_teacher",
    "facilitator",
    "admin",
    "other_admin",
    "provider",
    "operator",
)
TEACHERS = {"teacher", "other_teacher", "facilitator", "admin", "other_admin"}


@dataclass(frozen=True)
class Rule:
    operation: str
    allowed: frozenset[str]
    variables: tuple[tuple[str, str], ...] = ()  # name -> key into the world's ids


def rule(operation: str, allowed: set[str], **variables: str) -> Rule:
    return Rule(operation, frozenset(allowed), tuple(variables.items()))


RULES: dict[str, Rule] = {
    "Query.viewer": rule("{ viewer { roles } }", set(PRINCIPALS) - {"nobody"}),
    "Query.wallet": rule("{ wallet { id } }", TEACHERS),
    "Query.badge": rule(
        "query($id: ID!) { badge(id: $id) { id } }", {"teacher", "admin", "operator"}, id="badge"
    ),
    "Query.recordBadge": rule(
        "query($id: ID!) { recordBadge(recordId: $id) { id } }",
        {"teacher", "admin", "operator"},
        id="badge_record",
    ),
    "Query.pendingClaims": rule("{ pendingClaims { id } }", TEACHERS),
    "Query.provider": rule("{ provider { name } }", {"provider"}),
    "Query.providers": rule("{ providers { name } }", {"admin", "other_admin", "operator"}),
    "Query.district": rule("{ district { name } }", {"admin", "other_admin"}),
    "Query.myCompliance": rule("{ myCompliance { status } }", TEACHERS),
    "Query.auditEvents": rule(
        "{ auditEvents(first: 5) { edges { node { tag } } } }", {"admin", "other_admin", "operator"}
    ),
    "Query.myShareViews": rule("{ myShareViews(first: 5) { edges { node { ip } } } }", TEACHERS),
    "Mutation.postBadge": rule(
        'mutation { postBadge(input: {url: "http://127.0.0.1:9/missing"}) { outcome } }',
        {"provider"},
    ),
    "Mutation.importBadge": rule(
        'mutation { importBadge(input: {url: "http://127.0.0.1:9/missing"}) { outcome } }', TEACHERS
    ),
    "Mutation.revokeBadge": rule(
        'mutation($id: ID!) { revokeBadge(id: $id, reason: "matrix") { id } }',
        {"provider", "admin", "operator"},
        id="badge",
    ),
    "Mutation.acceptClaim": rule(
        "mutation($id: ID!) { acceptClaim(id: $id) { id } }", {"teacher"}, id="claim"
    ),
    "Mutation.declineClaim": rule(
        "mutation($id: ID!) { declineClaim(id: $id) }", {"teacher"}, id="claim"
    ),
}


def root_fields() -> set[str]:
    found = set()
    for type_name in ("Query", "Mutation"):
        graphql_type = schema._schema.type_map.get(type_name)
        if graphql_type is not None:
            found |= {f"{type_name}.{name}" for name in graphql_type.fields}  # type: ignore[attr-defined]
    return found


def test_every_root_field_has_a_rule() -> None:
    missing = root_fields() - set(RULES)
    assert not missing, f"fields without an authorisation rule: {sorted(missing)}"
    assert not set(RULES) - root_fields(), "rules for fields that no longer exist"


async def _world(
    factory: async_sessionmaker[AsyncSession], base_url: str, settings: Any
) -> dict[str, Any]:
    async with factory() as session, session.begin():
        district = await factories.district(session)
        other = await factories.district(session)
        email = f"{secrets.token_hex(4)}@matrix.example"
        teacher = await factories.teacher(session, district.id, email=email)
        facilitator = await factories.teacher(session, district.id)
        admin = await factories.teacher(session, district.id)
        other_teacher = await factories.teacher(session, other.id)
        other_admin = await factories.teacher(session, other.id)
        made = await providers.create(
            session=session,
            principal=Principal.operator(),
            district_id=district.id,
            name=factories.unique("Provider"),
            issuers=["https://issuer.matrix.example"],
        )
        record = await factories.record(
            session,
            teacher,
            kind=RecordKind.BADGE,
            status=RecordStatus.VERIFIED,
            source=RecordSource.PROVIDER,
        )
        badge = Badge(
            district_id=district.id,
            record_id=record.id,
            provider_id=made.provider_id,
            fingerprint=secrets.token_hex(32),
            format="ob2",
            name="Matrix badge",
            valid=True,
            verified_at=utcnow(),
            report={"valid": True, "format": "ob2"},
            credential={},
        )
        session.add(badge)
        await session.flush()

        ids = {"badge": str(badge.id), "badge_record": str(record.id)}

    def session_for(principal: Principal) -> str:
        return issue_token(settings, principal)

    tokens = {
        "nobody": None,
        "teacher": session_for(Principal.for_teacher(teacher.id, district.id)),
        "other_teacher": session_for(Principal.for_teacher(other_teacher.id, other.id)),
        "facilitator": session_for(
            Principal.for_teacher(facilitator.id, district.id, Role.FACILITATOR)
        ),
        "admin": session_for(Principal.for_teacher(admin.id, district.id, Role.DISTRICT_ADMIN)),
        "other_admin": session_for(
            Principal.for_teacher(other_admin.id, other.id, Role.DISTRICT_ADMIN)
        ),
        "provider": provider_token(base_url, made),
        "operator": session_for(Principal.operator()),
    }
    return {
        "ids": ids,
        "tokens": tokens,
        "factory": factory,
        "district": district.id,
        "email": email,
    }


async def _claim_id(world: dict[str, Any]) -> str:
    factory = world["factory"]
    async with factory() as session, session.begin():
        badge = Badge(
            district_id=world["district"],
            fingerprint=secrets.token_hex(32),
            format="ob2",
            name="Pending badge",
            valid=True,
            verified_at=utcnow(),
            report={"valid": True, "format": "ob2"},
            credential={},
        )
        session.add(badge)
        await session.flush()
        claim = PendingClaim(
            district_id=world["district"], badge_id=badge.id, recipient_email=world["email"]
        )
        session.add(claim)
        await session.flush()
        return str(claim.id)


@pytest.mark.parametrize("field", sorted(RULES))
async def test_field_is_allowed_or_refused_per_principal(
    field: str, live_server, session_factory
) -> None:  # type: ignore[no-untyped-def]
    world = await _world(session_factory, live_server.url, live_server.settings)
    rule_ = RULES[field]
    wrong: list[str] = []
    for who in PRINCIPALS:
        variables = {}
        for name, key in rule_.variables:
            variables[name] = await _claim_id(world) if key == "claim" else world["ids"][key]
        bearer = world["tokens"][who]
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        body = httpx.post(
            f"{live_server.url}/graphql",
            json={"query": rule_.operation, "variables": variables},
            headers=headers,
            timeout=30,
        ).json()
        codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
        refused = bool(codes & REFUSED)
        if who in rule_.allowed and refused:
            wrong.append(f"{who}: refused {codes}")
        if who not in rule_.allowed and (not refused or body.get("data")):
            wrong.append(f"{who}: not refused ({codes}, data={body.get('data')})")
    assert not wrong, f"{field}: " + "; ".join(wrong)
