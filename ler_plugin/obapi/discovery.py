"""The district's Service Description Document (OB 3.0 6.3, 7.1.1) and where its API lives."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.config import Settings
from ler_plugin.districts.models import District
from ler_plugin.obapi import authorization as oauth
from ler_plugin.obapi.errors import ObApiError

PATH = "/ims/ob/v3p0"


def api_base(settings: Settings, district: District) -> str:
    """A district's Open Badges API base URL (OB 3.0 6.3: ``{baseUrl}/ims/ob/v3p0/...``)."""
    return f"{settings.base_url}/d/{district.slug}{PATH}"


async def sole_district(*, session: AsyncSession) -> District:
    """The installation's one district, for the bare discovery path; several districts each have
    their own API base URL, which the teacher's Connected apps page shows."""
    found = list(await session.scalars(select(District).limit(2)))
    if len(found) != 1:
        raise ObApiError(
            "not_found",
            "each district has its own Open Badges API: ask for "
            "{base}/d/{district}/ims/ob/v3p0/discovery (the address is on the wallet's "
            "Connected apps page)",
            status=404,
        )
    return found[0]


def discovery(settings: Settings, district: District) -> dict[str, Any]:
    """The Service Description Document (OB 3.0 6.3, 7.1.1): the spec's OpenAPI file profiled
    for this district: its endpoints, the OAuth 2.0 flow and the scopes."""
    base = api_base(settings, district)
    json = "application/json"

    def op(op_id: str, scope: str | None, codes: dict[str, str], **more: Any) -> dict[str, Any]:
        status = {"$ref": "#/components/schemas/Imsx_StatusInfo"}
        responses: dict[str, Any] = {
            code: {"description": text, "content": {json: {"schema": status}}}
            for code, text in codes.items()
        }
        found: dict[str, Any] = {"operationId": op_id, "tags": ["OpenBadgeCredentials"], **more}
        found["responses"] = responses
        if scope:
            found["security"] = [{"OAuth2ACG": [scope]}]
        return found

    errors = {
        "400": "Bad request",
        "401": "Missing or invalid access token",
        "403": "The token lacks the scope, or the teacher did not allow it",
        "405": "Method not allowed",
        "500": "Internal error",
        "default": "The request was invalid or cannot be served",
    }
    credential = {"$ref": "#/components/schemas/AchievementCredential"}
    profile = {"$ref": "#/components/schemas/Profile"}
    credentials_get = op("getCredentials", oauth.CREDENTIAL_READ, errors)
    credentials_get["parameters"] = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    ]
    credentials_get["responses"]["200"] = {
        "description": "The teacher's credentials this client may read, signed by the district",
        "headers": {
            "X-Total-Count": {"schema": {"type": "integer"}},
            "Link": {"schema": {"type": "string"}},
        },
        "content": {
            json: {"schema": {"$ref": "#/components/schemas/GetOpenBadgeCredentialsResponse"}}
        },
    }
    upsert = op("upsertCredential", oauth.CREDENTIAL_UPSERT, {**errors, "404": "Not found"})
    upsert["requestBody"] = {
        "content": {json: {"schema": credential}, "text/plain": {"schema": {"type": "string"}}},
        "required": True,
    }
    for code, text in (("200", "Replaced"), ("201", "Created")):
        upsert["responses"][code] = {
            "description": text,
            "content": {json: {"schema": credential}, "text/plain": {"schema": {"type": "string"}}},
        }
    profile_get = op("getProfile", oauth.PROFILE_READ, {**errors, "404": "Not found"})
    profile_get["responses"]["200"] = {
        "description": "The profile",
        "content": {json: {"schema": profile}},
    }
    profile_put = op("putProfile", oauth.PROFILE_UPDATE, {**errors, "404": "Not found"})
    profile_put["requestBody"] = {"content": {json: {"schema": profile}}, "required": True}
    profile_put["responses"]["200"] = {
        "description": "The profile",
        "content": {json: {"schema": profile}},
    }
    discover = op("getServiceDescription", None, {"default": "The request cannot be served"})
    discover["tags"] = ["Discovery"]
    discover["responses"]["200"] = {
        "description": "This document",
        "content": {json: {"schema": {"$ref": "#/components/schemas/ServiceDescriptionDocument"}}},
    }
    return {
        "openapi": "3.0.1",
        "info": {
            "title": f"{district.name} Teacher Wallet",
            "description": "The Open Badges 3.0 API of the district's Teacher Wallet.",
            "version": "3.0",
            "termsOfService": f"{settings.base_url}/d/{district.slug}/terms",
            "x-imssf-privacyPolicyUrl": f"{settings.base_url}/d/{district.slug}/privacy",
        },
        "servers": [{"url": base, "description": f"{district.name}"}],
        "tags": [{"name": "OpenBadgeCredentials"}, {"name": "Discovery"}],
        "paths": {
            "/credentials": {"get": credentials_get, "post": upsert},
            "/profile": {"get": profile_get, "put": profile_put},
            "/discovery": {"get": discover},
        },
        "components": {
            "securitySchemes": {
                "OAuth2ACG": {
                    "type": "oauth2",
                    "description": "OAuth 2.0 Authorization Code Grant authorization",
                    "x-imssf-name": f"{district.name} Teacher Wallet",
                    "x-imssf-privacyPolicyUrl": f"{settings.base_url}/d/{district.slug}/privacy",
                    "x-imssf-registrationUrl": f"{base}/register",
                    "x-imssf-termsOfServiceUrl": f"{settings.base_url}/d/{district.slug}/terms",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": f"{base}/authorize",
                            "tokenUrl": f"{base}/token",
                            "refreshUrl": f"{base}/token",
                            "scopes": dict(oauth.SCOPES),
                        }
                    },
                }
            },
            "schemas": {
                name: {"type": "object", "description": f"See the Open Badges 3.0 {name} schema."}
                for name in (
                    "AchievementCredential",
                    "GetOpenBadgeCredentialsResponse",
                    "Profile",
                    "Imsx_StatusInfo",
                    "ServiceDescriptionDocument",
                )
            },
        },
    }
