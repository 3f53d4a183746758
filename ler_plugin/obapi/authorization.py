"""The OAuth 2.0 authorization server of the Open Badges API, built on Authlib.

Authlib does the protocol: dynamic client registration (RFC 7591) and its metadata checks, the
authorization code grant (RFC 6749 4.1) with PKCE (RFC 7636), refresh tokens (RFC 6749 6), token
revocation (RFC 7009), client authentication (HTTP Basic) and bearer-token checks (RFC 6750),
with their error responses. This module gives it what OB 3.0 section 7 adds and where things are
kept: S256 is the only PKCE method and PKCE is required of every client; redirect_uri and state are
required; the registration must carry the spec's required fields, https URLs on one host; the
authorization response names the granted scope; codes, tokens and secrets are stored as SHA-256
digests in our tables (`models.py`).

Authlib calls its hooks synchronously, so a server is made per request around a synchronous
SQLAlchemy session: the request's own `AsyncSession`, entered through `run_sync`, so the same
transaction (and, on PostgreSQL, the same district wall) holds throughout. Nothing here knows
Starlette: the web layer hands in a `PlainRequest` and gets back (status, body, headers).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.resource_protector import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from joserfc.errors import InvalidClaimError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ler_plugin.db import aware, utcnow
from ler_plugin.obapi.models import ObAuthorizationCode, ObClient, ObGrant, ObToken

SCOPE_BASE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
CREDENTIAL_READ = SCOPE_BASE + "credential.readonly"
CREDENTIAL_UPSERT = SCOPE_BASE + "credential.upsert"
PROFILE_READ = SCOPE_BASE + "profile.readonly"
PROFILE_UPDATE = SCOPE_BASE + "profile.update"
# What each scope lets a client do, as the discovery document and the consent page say it.
SCOPES = {
    CREDENTIAL_READ: "Permission to read AchievementCredentials for the authenticated entity.",
    CREDENTIAL_UPSERT: "Permission to create or update AchievementCredentials for the "
    "authenticated entity.",
    PROFILE_READ: "Permission to read the profile for the authenticated entity.",
    PROFILE_UPDATE: "Permission to update the profile for the authenticated entity.",
}
# The spec's own registration example asks for it; it grants nothing (refresh tokens follow
# the client's registered grant types).
OFFLINE_ACCESS = "offline_access"

ACCESS_TTL = dt.timedelta(hours=1)  # 1EdTech recommends 3600 s
REFRESH_TTL = dt.timedelta(days=90)
CODE_TTL = dt.timedelta(minutes=10)  # the spec recommends 600 s


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_list(scope: str | None) -> list[str]:
    return [s for s in (scope or "").split() if s]


# --- requests in and out, whatever the web framework ------------------------------------------


class _Payload(OAuth2Payload, JsonPayload):
    def __init__(self, values: Mapping[str, list[str]], json: Any = None) -> None:
        self._datalist = {k: list(v) for k, v in values.items()}
        self._json = json

    @property
    def data(self) -> Any:
        if self._json is not None:
            return self._json
        return {k: v[0] for k, v in self._datalist.items() if v}

    @property
    def datalist(self) -> Any:
        return self._datalist


class PlainRequest(OAuth2Request):
    """An HTTP request as Authlib wants it: the query and form fields (each a list of values), or
    a JSON body for the registration endpoint. `uri` is the public URL (https in production)."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: Mapping[str, list[str]],
        form: Mapping[str, list[str]] | None = None,
        json: Any = None,
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._query = {k: v[0] for k, v in query.items() if v}
        self._form = {k: v[0] for k, v in (form or {}).items() if v}
        self.payload = _Payload({**query, **(form or {})}, json)

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _JsonRequest(JsonRequest):
    def __init__(self, request: PlainRequest) -> None:
        super().__init__(request.method, request.uri, request.headers)
        self.payload = request.payload


@dataclass(frozen=True)
class Answer:
    """What an endpoint answers: HTTP status, body (a dict for JSON, or text) and headers."""

    status: int
    body: Any
    headers: list[tuple[str, str]]


# --- our rows as Authlib sees them --------------------------------------------------------------


@dataclass(frozen=True)
class Client(ClientMixin):
    row: ObClient

    @property
    def meta(self) -> dict[str, Any]:
        return self.row.client_metadata

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # OB 3.0 requires redirect_uri in every authorization request

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = scope_list(self.meta.get("scope"))
        return " ".join(s for s in scope_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.meta.get("redirect_uris", [])

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.row.secret_hash, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.meta.get("grant_types", ["authorization_code"])


@dataclass(frozen=True)
class GrantUser:
    """The resource owner as the grants carry it: the teacher's consent to this client."""

    grant: ObGrant


@dataclass(frozen=True)
class Token(TokenMixin):
    row: ObToken
    grant: ObGrant
    client: ObClient

    def check_client(self, client: Client) -> bool:
        return bool(client.row.id == self.client.id)

    def get_scope(self) -> str:
        """What the token was issued for, narrowed to what the teacher allows now (a new consent
        with fewer scopes holds at once for tokens already out)."""
        allowed = set(scope_list(self.grant.scope))
        return " ".join(s for s in scope_list(self.row.scope) if s in allowed)

    def get_expires_in(self) -> int:
        return int((aware(self.row.expires_at) - aware(self.row.issued_at)).total_seconds())

    def is_expired(self) -> bool:
        return aware(self.row.expires_at) <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or self.grant.revoked_at is not None


@dataclass(frozen=True)
class Code:
    row: ObAuthorizationCode
    grant: ObGrant

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


# --- the grants ----------------------------------------------------------------------------------


class S256Required(CodeChallenge):
    """PKCE for every client, S256 only (OB 3.0 7.1.2: "PKCE MUST be used")."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE is required")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]
    server: ObAuthorizationServer

    def validate_authorization_request(self) -> str:
        data = self.request.payload.data
        for name in ("redirect_uri", "state"):
            if not data.get(name):
                # Not redirected: without a registered redirect_uri there is nowhere safe to go.
                raise InvalidRequestError(f"Missing '{name}' in request.")
        return str(super().validate_authorization_request())

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> Any:
        """As Authlib's, plus the granted ``scope`` (OB 3.0 7.1.2 requires it)."""
        if not grant_user:
            raise AccessDeniedError(redirect_uri=redirect_uri)
        self.request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, self.request)
        params = [("code", code), ("scope", grant_user.grant.scope)]
        params.append(("state", self.request.payload.state))
        return 302, "", [("Location", add_params_to_uri(redirect_uri, params))]

    def save_authorization_code(self, code: str, request: Any) -> None:
        self.server.db.add(
            ObAuthorizationCode(
                grant_id=request.user.grant.id,
                code_hash=digest(code),
                redirect_uri=request.payload.redirect_uri,
                scope=request.user.grant.scope,
                code_challenge=request.payload.data["code_challenge"],
                code_challenge_method=request.payload.data["code_challenge_method"],
                expires_at=utcnow() + CODE_TTL,
            )
        )
        self.server.db.flush()

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        db = self.server.db
        found = db.execute(
            select(ObAuthorizationCode, ObGrant)
            .join(ObGrant, ObGrant.id == ObAuthorizationCode.grant_id)
            .where(ObAuthorizationCode.code_hash == digest(code))
            .with_for_update()
        ).one_or_none()
        if found is None:
            return None
        row, grant = found
        if row.used_at is not None:
            # A code used twice: refuse, and take back what it gave the first time (RFC 6749 4.1.2).
            db.execute(
                update(ObToken)
                .where(ObToken.code_id == row.id, ObToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return None
        if grant.client_pk != client.row.id or grant.revoked_at is not None:
            return None
        if aware(row.expires_at) <= utcnow():
            return None
        return Code(row, grant)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        authorization_code.row.used_at = utcnow()  # kept, so a second use is recognised

    def authenticate_user(self, authorization_code: Code) -> GrantUser:
        return GrantUser(authorization_code.grant)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate: each refresh token works once
    server: ObAuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        token = self.server.token_by(ObToken.refresh_hash == digest(refresh_token))
        if token is None or token.is_revoked():
            return None
        expires = token.row.refresh_expires_at
        if expires is None or aware(expires) <= utcnow():
            return None
        return token

    def authenticate_user(self, refresh_token: Token) -> GrantUser:
        return GrantUser(refresh_token.grant)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.row.revoked_at = utcnow()


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic"]
    server: ObAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        hashed = digest(token_string)
        columns = {"access_token": ObToken.access_hash, "refresh_token": ObToken.refresh_hash}
        # The hint is only a hint (RFC 7009 2.1): the other kind is looked up too.
        first = columns.pop(token_type_hint or "access_token", ObToken.access_hash)
        found = self.server.token_by(first == hashed)
        for column in columns.values():
            found = found or self.server.token_by(column == hashed)
        return found

    def revoke_token(self, token: Token, request: Any) -> None:
        token.row.revoked_at = token.row.revoked_at or utcnow()


# --- registration --------------------------------------------------------------------------------

# OB 3.0 7.1.1: what a registration request must carry.
REQUIRED_METADATA = (
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
    "redirect_uris",
    "scope",
)
URL_METADATA = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
TEXT_LIMIT = 255


class ObClientMetadata(ClientMetadataClaims):
    """RFC 7591 metadata with OB 3.0's rules: the required fields, every URL https (plain http
    only for loopback when the operator allows it), all URLs on the client's one host."""

    allow_loopback_http = False

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        for name in REQUIRED_METADATA:
            if not self.get(name):
                raise InvalidClaimError(f"{name} (required by Open Badges 3.0)")
        for name in ("client_name", "software_id", "software_version"):
            if not isinstance(self.get(name), str) or len(self[name]) > TEXT_LIMIT:
                raise InvalidClaimError(name)
        uris = self.get("redirect_uris")
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise InvalidClaimError("redirect_uris")
        super().validate(now, leeway)
        hosts = set()
        for name, url in [
            *((n, self[n]) for n in URL_METADATA),
            *(("redirect_uris", u) for u in uris),
        ]:
            parts = urlsplit(url)
            loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
            if parts.scheme != "https" and not (
                parts.scheme == "http" and loopback and self.allow_loopback_http
            ):
                raise InvalidClaimError(f"{name} (must be an https URL)")
            hosts.add(parts.hostname)
        if len(hosts) > 1:
            raise InvalidClaimError("redirect_uris (every URL must be on the client's one host)")


class Registration(ClientRegistrationEndpoint):
    server: ObAuthorizationServer

    def authenticate_token(self, request: Any) -> bool:
        return True  # OB 3.0: "MUST NOT require an Initial Access Token"

    def get_server_metadata(self) -> dict[str, Any]:
        return {
            "scopes_supported": [*SCOPES, OFFLINE_ACCESS],
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def generate_client_id(self, request: Any) -> str:
        return secrets.token_urlsafe(24)

    def generate_client_secret(self, request: Any) -> str:
        return secrets.token_urlsafe(32)

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> ObClient:
        metadata = {
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            **client_metadata,
        }
        row = ObClient(
            district_id=self.server.district_id,
            client_id=client_info["client_id"],
            secret_hash=digest(client_info["client_secret"]),
            client_metadata=metadata,
        )
        self.server.db.add(row)
        self.server.db.flush()
        self.server.registered = row
        return row


# --- the server ---------------------------------------------------------------------------------


class ObAuthorizationServer(AuthorizationServer):
    """One district's authorization server for one request, on that request's session."""

    def __init__(self, db: Session, district_id: int, *, allow_loopback_http: bool) -> None:
        super().__init__(scopes_supported=[*SCOPES, OFFLINE_ACCESS])
        self.db = db
        self.district_id = district_id
        self.registered: ObClient | None = None
        self.register_token_generator("default", self._new_token)
        self.register_grant(AuthorizationCodeGrant, [S256Required(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(Revocation)
        claims = type("Claims", (ObClientMetadata,), {"allow_loopback_http": allow_loopback_http})
        self.register_endpoint(Registration(claims_classes=[claims]))

    # Authlib's hooks

    def query_client(self, client_id: str) -> Client | None:
        row = self.db.scalar(
            select(ObClient).where(
                ObClient.client_id == client_id, ObClient.district_id == self.district_id
            )
        )
        return Client(row) if row is not None else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        grant: ObGrant = request.user.grant
        now = utcnow()
        previous = request.refresh_token.row if request.refresh_token else None
        code = request.authorization_code.row if request.authorization_code else None
        refresh = token.get("refresh_token")
        self.db.add(
            ObToken(
                grant_id=grant.id,
                code_id=code.id if code else previous.code_id if previous else None,
                access_hash=digest(token["access_token"]),
                refresh_hash=digest(refresh) if refresh else None,
                scope=token.get("scope") or grant.scope,
                issued_at=now,
                expires_at=now + dt.timedelta(seconds=int(token["expires_in"])),
                refresh_expires_at=now + REFRESH_TTL if refresh else None,
            )
        )
        self.db.flush()

    def create_oauth2_request(self, request: PlainRequest) -> PlainRequest:
        return request

    def create_json_request(self, request: PlainRequest) -> JsonRequest:
        return _JsonRequest(request)

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass  # audit events are written by the service, which knows who acted

    # ours

    def _new_token(
        self,
        grant_type: str,
        client: Client,
        user: GrantUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token = {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": int(ACCESS_TTL.total_seconds()),
            "scope": scope or (user.grant.scope if user else ""),
        }
        if include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def token_by(self, condition: Any) -> Token | None:
        found = self.db.execute(
            select(ObToken, ObGrant, ObClient)
            .join(ObGrant, ObGrant.id == ObToken.grant_id)
            .join(ObClient, ObClient.id == ObGrant.client_pk)
            .where(condition, ObClient.district_id == self.district_id)
        ).one_or_none()
        return Token(*found) if found is not None else None

    def authorize(self, request: PlainRequest, grant: ObGrant | None) -> Answer:
        """The teacher's decision: a code for `grant`, or (None) access_denied, redirected."""
        auth_grant = self.get_authorization_grant(request)
        answer: Answer = self.create_authorization_response(
            request, GrantUser(grant) if grant is not None else None, auth_grant
        )
        return answer


class Bearer(BearerTokenValidator):
    def __init__(self, server: ObAuthorizationServer) -> None:
        super().__init__()
        self.server = server

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.server.token_by(ObToken.access_hash == digest(token_string))


def protector(server: ObAuthorizationServer) -> ResourceProtector:
    guard = ResourceProtector()
    guard.register_token_validator(Bearer(server))
    return guard
