"""What the Open Badges API does for a district: registration, the teacher's consent, tokens,
and the four resource operations (getCredentials, upsertCredential, getProfile,
putProfile), each for the teacher whose grant the token carries and within what that grant allows.

Privacy: a client reads only the teacher's counted records whose visibility the teacher allowed
it (public, or district and public); private records never leave. A client sees the teacher's name
and chosen email only when the teacher said so on the consent page. One district's clients,
grants and tokens are walled from every other's (queries name the district; on PostgreSQL the
row-level security wall holds as well).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from authlib.oauth2 import OAuth2Error
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ler_plugin.audit import record_event
from ler_plugin.badges import service as badges
from ler_plugin.badges.models import Badge
from ler_plugin.config import Settings
from ler_plugin.db import aware, utcnow
from ler_plugin.districts.models import District
from ler_plugin.errors import Forbidden
from ler_plugin.issuing import credentials as export
from ler_plugin.issuing.keys import district_issuer
from ler_plugin.obapi import authorization as oauth
from ler_plugin.obapi.errors import ObApiError
from ler_plugin.obapi.models import ObClient, ObGrant, ObProfile, ObToken
from ler_plugin.principal import Principal, Role
from ler_plugin.wallet import service as wallets
from ler_plugin.wallet.models import Record, RecordStatus, Teacher, Visibility, Wallet

OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
PAGE_DEFAULT = 20
PAGE_MAX = 100
# What a grant's `records` allows a client to read (private records never leave).
RECORD_CHOICES = {
    "public": (Visibility.PUBLIC,),
    "district": (Visibility.PUBLIC, Visibility.DISTRICT),
}
NAME_MAX = 255
# The consent form's own mistakes: the page asks again instead of answering the client.
CHOICE_ERRORS = frozenset({"bad_records", "no_scopes"})

T = TypeVar("T")


# --- running Authlib on the request's session ---------------------------------------------------


async def _authlib(
    session: AsyncSession,
    settings: Settings,
    district_id: int,
    work: Callable[[oauth.ObAuthorizationServer], T],
) -> T:
    def run(db: Session) -> T:
        server = oauth.ObAuthorizationServer(
            db, district_id, allow_loopback_http=settings.allow_insecure_loopback
        )
        return work(server)

    return await session.run_sync(run)


async def register(
    *, session: AsyncSession, settings: Settings, district: District, request: oauth.PlainRequest
) -> oauth.Answer:
    """RFC 7591 dynamic client registration: 201 with the client's id and secret (shown once)."""
    registered: list[ObClient] = []

    def work(server: oauth.ObAuthorizationServer) -> oauth.Answer:
        answer: oauth.Answer = server.create_endpoint_response("client_registration", request)
        if server.registered is not None:
            registered.append(server.registered)
        return answer

    answer = await _authlib(session, settings, district.id, work)
    for client in registered:
        record_event(
            session,
            "obapi:client:register",
            actor_kind="ob_client",
            actor_id=client.client_id,
            district_id=district.id,
            subject_type="ob_client",
            subject_id=client.client_id,
            client_name=client.client_metadata.get("client_name"),
            redirect_uris=client.client_metadata.get("redirect_uris"),
        )
    return answer


async def token(
    *, session: AsyncSession, settings: Settings, district: District, request: oauth.PlainRequest
) -> oauth.Answer:
    """The token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    return await _authlib(
        session, settings, district.id, lambda server: server.create_token_response(request)
    )


async def revoke_token(
    *, session: AsyncSession, settings: Settings, district: District, request: oauth.PlainRequest
) -> oauth.Answer:
    """RFC 7009: a client gives back an access or refresh token."""
    return await _authlib(
        session,
        settings,
        district.id,
        lambda server: server.create_endpoint_response("revocation", request),
    )


# --- the teacher's consent ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRequest:
    """A valid authorization request, as the consent page shows it."""

    client_id: str
    metadata: dict[str, Any]
    scopes: list[str]
    previous: ObGrant | None


def _teacher_of(principal: Principal, district: District) -> int:
    if principal.teacher_id is None or Role.TEACHER not in principal.roles:
        raise Forbidden("forbidden", "only a teacher can connect an app to their wallet")
    principal.require_district(district.id)
    return principal.teacher_id


async def consent_request(
    *,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    district: District,
    request: oauth.PlainRequest,
) -> ConsentRequest | oauth.Answer:
    """Check an authorization request before the teacher decides: what to ask them, or the
    answer (an error redirected to the client when its redirect URI is known to be its own).
    A request whose client or redirect URI is unknown raises: the page shows it, no redirect."""
    teacher_id = _teacher_of(principal, district)

    def work(server: oauth.ObAuthorizationServer) -> ConsentRequest | oauth.Answer:
        try:
            grant = server.get_consent_grant(request)
        except OAuth2Error as error:
            if error.redirect_uri:
                answer: oauth.Answer = server.handle_error_response(request, error)
                return answer
            raise ObApiError(
                error.error, error.description or "this is not a valid authorization request"
            ) from None
        client: oauth.Client = grant.client
        previous = server.db.scalar(
            select(ObGrant).where(
                ObGrant.client_pk == client.row.id, ObGrant.teacher_id == teacher_id
            )
        )
        return ConsentRequest(
            client_id=client.row.client_id,
            metadata=client.meta,
            scopes=[s for s in oauth.scope_list(grant.request.scope) if s in oauth.SCOPES],
            previous=previous,
        )

    return await _authlib(session, settings, district.id, work)


@dataclass(frozen=True)
class Decision:
    approve: bool
    scopes: list[str]
    records: str
    show_identity: bool


async def decide(
    *,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    district: District,
    request: oauth.PlainRequest,
    decision: Decision,
) -> oauth.Answer:
    """The teacher approves (a code for the client, the grant remembered) or denies
    (access_denied); either way the answer redirects the browser to the client."""
    teacher_id = _teacher_of(principal, district)
    asked = await consent_request(
        session=session, settings=settings, principal=principal, district=district, request=request
    )
    if isinstance(asked, oauth.Answer):
        return asked
    grant: ObGrant | None = None
    if decision.approve:
        if decision.records not in RECORD_CHOICES:
            raise ObApiError("bad_records", "choose which records the app may read")
        granted = [s for s in asked.scopes if s in decision.scopes]
        if not granted:
            raise ObApiError("no_scopes", "choose at least one thing the app may do, or deny it")
        grant = await _remember(session, principal, district, teacher_id, asked, granted, decision)
    return await _authlib(
        session, settings, district.id, lambda server: server.authorize(request, grant)
    )


async def _remember(
    session: AsyncSession,
    principal: Principal,
    district: District,
    teacher_id: int,
    asked: ConsentRequest,
    granted: list[str],
    decision: Decision,
) -> ObGrant:
    grant = asked.previous
    if grant is None:
        client_pk = await session.scalar(
            select(ObClient.id).where(ObClient.client_id == asked.client_id)
        )
        assert client_pk is not None  # just found by the authorization request
        grant = ObGrant(district_id=district.id, client_pk=client_pk, teacher_id=teacher_id)
        session.add(grant)
    grant.scope = " ".join(granted)
    grant.records = decision.records
    grant.show_identity = decision.show_identity
    grant.updated_at = utcnow()
    grant.revoked_at = None
    await session.flush()
    record_event(
        session,
        "obapi:grant:approve",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=district.id,
        subject_type="ob_client",
        subject_id=asked.client_id,
        scope=grant.scope,
        records=grant.records,
        show_identity=grant.show_identity,
    )
    return grant


@dataclass(frozen=True)
class ConnectedApp:
    grant: ObGrant
    client: ObClient
    last_used: dt.datetime | None


async def connected_apps(*, session: AsyncSession, principal: Principal) -> list[ConnectedApp]:
    """The clients the teacher has authorised and not revoked, newest first."""
    if principal.teacher_id is None:
        raise Forbidden("forbidden", "only a teacher has connected apps")
    last_used = (
        select(ObToken.grant_id, func.max(ObToken.issued_at).label("at"))
        .group_by(ObToken.grant_id)
        .subquery()
    )
    rows = await session.execute(
        select(ObGrant, ObClient, last_used.c.at)
        .join(ObClient, ObClient.id == ObGrant.client_pk)
        .outerjoin(last_used, last_used.c.grant_id == ObGrant.id)
        .where(ObGrant.teacher_id == principal.teacher_id, ObGrant.revoked_at.is_(None))
        .order_by(ObGrant.updated_at.desc(), ObGrant.id.desc())
    )
    return [ConnectedApp(grant, client, at) for grant, client, at in rows]


async def revoke_grant(*, session: AsyncSession, principal: Principal, grant_id: int) -> ObGrant:
    """The teacher takes an app's access back: the grant and every token under it end now."""
    grant = await session.get(ObGrant, grant_id)
    if grant is None or grant.teacher_id != principal.teacher_id:
        raise ObApiError("not_found", "no such connected app", status=404)
    now = utcnow()
    if grant.revoked_at is None:
        grant.revoked_at = now
        await session.execute(
            update(ObToken)
            .where(ObToken.grant_id == grant.id, ObToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        client_id = await session.scalar(
            select(ObClient.client_id).where(ObClient.id == grant.client_pk)
        )
        record_event(
            session,
            "obapi:grant:revoke",
            actor_kind=principal.actor_kind,
            actor_id=principal.subject,
            district_id=grant.district_id,
            subject_type="ob_client",
            subject_id=client_id,
        )
        await session.flush()
    return grant


# --- the district's view: registered apps -------------------------------------------------------


@dataclass(frozen=True)
class RegisteredApp:
    client: ObClient
    teachers: int  # with a live grant


async def registered_apps(
    *, session: AsyncSession, principal: Principal, district_id: int
) -> list[RegisteredApp]:
    """The apps registered with a district's API, and how many teachers each may reach."""
    principal.require(Role.DISTRICT_ADMIN)
    principal.require_district(district_id)
    live = func.count(ObGrant.id).filter(ObGrant.revoked_at.is_(None))
    rows = await session.execute(
        select(ObClient, live)
        .outerjoin(ObGrant, ObGrant.client_pk == ObClient.id)
        .where(ObClient.district_id == district_id)
        .group_by(ObClient.id)
        .order_by(ObClient.created_at, ObClient.id)
    )
    return [RegisteredApp(client, teachers) for client, teachers in rows]


async def remove_app(*, session: AsyncSession, principal: Principal, client_id: str) -> ObClient:
    """The district removes an app's registration: every teacher's grant to it and every token
    end at once (an app that registers again starts with no teacher's consent)."""
    principal.require(Role.DISTRICT_ADMIN)
    client = await session.scalar(select(ObClient).where(ObClient.client_id == client_id))
    if client is None:
        raise ObApiError("client_not_found", f"no app registered as {client_id!r}", status=404)
    principal.require_district(client.district_id)
    record_event(
        session,
        "obapi:client:remove",
        actor_kind=principal.actor_kind,
        actor_id=principal.subject,
        district_id=client.district_id,
        subject_type="ob_client",
        subject_id=client.client_id,
        client_name=client.client_metadata.get("client_name"),
    )
    await session.delete(client)  # its grants, codes and tokens go with it (ON DELETE CASCADE)
    await session.flush()
    return client


# --- the resource endpoints -----------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who a valid access token speaks for: the teacher's grant to this client."""

    grant: ObGrant
    client: ObClient

    @property
    def principal(self) -> Principal:
        return Principal.for_teacher(self.grant.teacher_id, self.grant.district_id)


class Unauthorised(ObApiError):
    """A missing, unknown, expired or revoked token (401) or one without the scope (403), with
    its RFC 6750 challenge."""

    def __init__(self, error: OAuth2Error) -> None:
        status = 403 if error.error == "insufficient_scope" else 401
        description = error.get_error_description() or error.error
        super().__init__(error.error, description, status=status)
        if error.error == "missing_authorization":
            self.challenge = 'Bearer realm="Open Badges API"'
        else:
            self.challenge = (
                f'Bearer realm="Open Badges API", error="{error.error}", '
                f'error_description="{description.replace(chr(34), chr(39))}"'
            )


async def authenticate(
    *,
    session: AsyncSession,
    settings: Settings,
    district: District,
    request: oauth.PlainRequest,
    scope: str,
) -> Access:
    """The grant behind the request's bearer token, if it is live and carries `scope`."""

    def work(server: oauth.ObAuthorizationServer) -> Access:
        try:
            token: oauth.Token = oauth.protector(server).validate_request([scope], request)
        except OAuth2Error as error:
            raise Unauthorised(error) from None
        return Access(token.grant, token.client)

    return await _authlib(session, settings, district.id, work)


def _since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ObApiError("invalid_query_parameter", "since must be an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _whole(value: str | None, name: str, default: int, least: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or int(value) < least:
        raise ObApiError(
            "invalid_query_parameter", f"{name} must be a whole number of at least {least}"
        )
    return int(value)


@dataclass(frozen=True)
class CredentialsPage:
    credentials: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    since: str | None


async def _signed_ob3(
    session: AsyncSession, settings: Settings, teacher: Teacher, records: list[Record]
) -> list[dict[str, Any]]:
    """The records as OB 3.0 credentials signed by the district: the one call into the wallet's
    signed export."""
    district = await session.get(District, teacher.district_id)
    assert district is not None
    issuer = await district_issuer(session=session, settings=settings, district=district)
    email = next(iter(await wallets.verified_emails(session, teacher.id)), None)
    signed = export.export_ob3(
        records, issuer=issuer, base_url=settings.base_url, recipient_email=email
    )
    # 1EdTech's AchievementCredential schema takes `proof` as an array (a proof set of one; the
    # proof is not part of what it signs, so the signature holds either way).
    return [
        {**c, "proof": c["proof"] if isinstance(c["proof"], list) else [c["proof"]]} for c in signed
    ]


async def credentials(
    *,
    session: AsyncSession,
    settings: Settings,
    access: Access,
    limit: str | None,
    offset: str | None,
    since: str | None,
) -> CredentialsPage:
    """getCredentials: the teacher's counted records this client may read, oldest first, paged;
    `since` keeps those changed (issued, approved or corrected) after that moment."""
    size = min(_whole(limit, "limit", PAGE_DEFAULT, 1), PAGE_MAX)
    start = _whole(offset, "offset", 0, 0)
    changed_after = _since(since)
    teacher = await wallets.get_teacher(session=session, teacher_id=access.grant.teacher_id)
    conditions = [
        Wallet.teacher_id == teacher.id,
        Record.status.in_(export.COUNTED),
        Record.visibility.in_(RECORD_CHOICES[access.grant.records]),
    ]
    if changed_after is not None:
        conditions.append(Record.updated_at > changed_after)
    chosen = select(Record).join(Wallet, Wallet.id == Record.wallet_id).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(chosen.subquery())) or 0
    records = list(await session.scalars(chosen.order_by(Record.id).offset(start).limit(size)))
    signed = await _signed_ob3(session, settings, teacher, records) if records else []
    return CredentialsPage(signed, total, size, start, since or None)


async def receive_credential(
    *, session: AsyncSession, access: Access, credential: dict[str, Any] | str
) -> badges.Received:
    """upsertCredential, step 1 (reads only): received exactly as a teacher's own import. The
    edge commits, `badges.check` verifies with no transaction open, then `upsert_credential`."""
    return await badges.receive_import(
        session=session,
        principal=access.principal,
        submission=badges.Submission(credential=credential),
    )


async def upsert_credential(
    *, session: AsyncSession, access: Access, checked: badges.Checked
) -> bool:
    """upsertCredential: verified exactly as a teacher's own import (the `postBadge` pipeline)
    and landed in the teacher's wallet; True when it is new, False when it was there already."""
    teacher_id, district_id = access.grant.teacher_id, access.grant.district_id
    result = await badges.import_badge(session=session, checked=checked)
    if result.outcome == "refused":
        reasons = "; ".join(f"{e.code}: {e.message}" for e in result.report.errors)
        raise ObApiError(
            "invalid_data", f"the credential did not verify ({reasons or 'no reason given'})"
        )
    assert result.badge is not None
    replaced = await _keep_newest(session, access, result.badge)
    record_event(
        session,
        "obapi:credential:upsert",
        actor_kind="ob_client",
        actor_id=access.client.client_id,
        district_id=district_id,
        subject_type="record",
        subject_id=result.record.id if result.record else None,
        teacher_id=teacher_id,
        created=result.created and not replaced,
    )
    return result.created and not replaced


async def _keep_newest(session: AsyncSession, access: Access, badge: Badge) -> bool:
    """OB 3.0 credential equality (section 10): the same issuer and the same credential id are
    one credential, the latest `validFrom` its current version. Of the teacher's live copies
    of this one, every version but the newest stops counting (revoked, with the reason); True
    when another version was already in the wallet (the upsert replaced, not created)."""
    if not badge.assertion_id or not badge.issuer_id:
        return False
    versions = list(
        await session.scalars(
            select(Badge)
            .join(Record, Record.id == Badge.record_id)
            .join(Wallet, Wallet.id == Record.wallet_id)
            .where(
                Wallet.teacher_id == access.grant.teacher_id,
                Badge.district_id == access.grant.district_id,
                Badge.issuer_id == badge.issuer_id,
                Badge.assertion_id == badge.assertion_id,
                Badge.revoked.is_(False),
            )
        )
    )
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    versions.sort(key=lambda b: (aware(b.issued_at) or oldest, b.id))
    for old in versions[:-1]:
        await badges.mark(
            session,
            access.principal,
            old,
            RecordStatus.REVOKED,
            "replaced by a newer version of the same credential (Open Badges API)",
        )
    return any(b.id != badge.id for b in versions)


def profile_id(settings: Settings, teacher: Teacher) -> str:
    """A stable id for the teacher's profile that reveals nothing about them (not their row id)."""
    mac = hmac.new(
        settings.secret_key.encode(), f"ob-profile:{teacher.id}".encode(), hashlib.sha256
    )
    return f"urn:uuid:{uuid.UUID(bytes=mac.digest()[:16], version=4)}"


async def _profile_row(session: AsyncSession, teacher_id: int) -> ObProfile | None:
    return await session.get(ObProfile, teacher_id)


async def profile(*, session: AsyncSession, settings: Settings, access: Access) -> dict[str, Any]:
    """getProfile: an OB 3.0 Profile; the name and email only where the teacher allowed this
    client to see who they are (a shared record can hide the name)."""
    teacher = await wallets.get_teacher(session=session, teacher_id=access.grant.teacher_id)
    found: dict[str, Any] = {
        "@context": [OB3_CONTEXT],
        "id": profile_id(settings, teacher),
        "type": ["Profile"],
    }
    if access.grant.show_identity:
        chosen = await _profile_row(session, teacher.id)
        found["name"] = (chosen.name if chosen and chosen.name else None) or teacher.display_name
        if chosen and chosen.email:
            found["email"] = chosen.email
    return found


async def set_profile(
    *,
    session: AsyncSession,
    principal: Principal,
    name: str | None,
    email: str | None,
) -> ObProfile:
    """The name and email the teacher's Open Badges Profile shows (to the apps allowed to see
    who they are). The email must be one of the teacher's verified addresses."""
    if principal.teacher_id is None:
        raise Forbidden("forbidden", "only a teacher has a profile")
    name = (name or "").strip() or None
    email = (email or "").strip().lower() or None
    if name is not None and len(name) > NAME_MAX:
        raise ObApiError("bad_name", f"the name is longer than {NAME_MAX} characters")
    if email is not None and email not in await wallets.verified_emails(
        session, principal.teacher_id
    ):
        raise ObApiError("bad_email", "the email must be one of your verified addresses")
    row = await _profile_row(session, principal.teacher_id)
    if row is None:
        row = ObProfile(teacher_id=principal.teacher_id)
        session.add(row)
    row.name, row.email, row.updated_at = name, email, utcnow()
    await session.flush()
    return row


async def profile_of(*, session: AsyncSession, principal: Principal) -> ObProfile | None:
    if principal.teacher_id is None:
        return None
    return await _profile_row(session, principal.teacher_id)


async def put_profile(
    *, session: AsyncSession, settings: Settings, access: Access, body: Any
) -> dict[str, Any]:
    """putProfile: the whole Profile. This wallet keeps its name and email and answers as
    getProfile does; other Profile properties (phone, address, ...) are accepted and not kept
    (OB 3.0 6.2.4: "The values may never become part of the published profile")."""
    if not isinstance(body, dict):
        raise ObApiError("invalid_data", "the request body must be a Profile JSON object")
    teacher = await wallets.get_teacher(session=session, teacher_id=access.grant.teacher_id)
    if "id" in body and body["id"] != profile_id(settings, teacher):
        raise ObApiError("invalid_data", "id is not this teacher's profile id")
    types = body.get("type")
    if types != "Profile" and not (isinstance(types, list) and "Profile" in types):
        raise ObApiError("invalid_data", "type must include Profile")
    for field in ("name", "email"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise ObApiError("invalid_data", f"{field} must be a string")
    try:
        await set_profile(
            session=session,
            principal=access.principal,
            name=body.get("name"),
            email=body.get("email"),
        )
    except ObApiError as exc:
        raise ObApiError("invalid_data", exc.message) from None
    record_event(
        session,
        "obapi:profile:update",
        actor_kind="ob_client",
        actor_id=access.client.client_id,
        district_id=access.grant.district_id,
        subject_type="teacher",
        subject_id=teacher.id,
    )
    return await profile(session=session, settings=settings, access=access)
