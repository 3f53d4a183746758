"""A OneRoster 1.2 rostering server written from the specification, for the REST source's tests.

`POST /token`: OAuth 2.0 client credentials (HTTP Basic), scope roster-core.readonly.
`GET /ims/oneroster/rostering/v1p2/orgs|users`: bearer token; `limit` (the server caps it at
`MAX_LIMIT`, as real servers do) and `offset`; `X-Total-Count`. Every collection it answers is
checked against 1EdTech's own JSON schemas (tests/roster/data), so the fake cannot drift from the
spec. Its data starts from a OneRoster CSV bundle, so CSV and REST can be compared.
"""

from __future__ import annotations

import base64
import csv
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BASE = "/ims/oneroster/rostering/v1p2"
SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
MAX_LIMIT = 4
SCHEMAS = json.loads(
    (Path(__file__).parent / "data" / "oneroster_v1p2_rostering_schemas.json").read_text()
)


def _validator(name: str) -> jsonschema.Validator:
    schema = {"$ref": f"#/components/schemas/{name}", **SCHEMAS}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


VALIDATORS = {"orgs": _validator("OrgSetDType"), "users": _validator("UserSetDType")}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _ref(base: str, kind: str, sourced_id: str) -> dict[str, str]:
    return {"href": f"{base}/{kind}s/{sourced_id}", "sourcedId": sourced_id, "type": kind}


def from_bundle(folder: Path, base: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The orgs and users of a 1.2 CSV bundle as the REST binding shapes them."""
    orgs = []
    for row in _rows(folder / "orgs.csv"):
        org: dict[str, Any] = {
            "sourcedId": row["sourcedId"],
            "status": row["status"] or "active",
            "dateLastModified": row["dateLastModified"],
            "name": row["name"],
            "type": row["type"],
            "identifier": row["identifier"],
        }
        if row["parentSourcedId"]:
            org["parent"] = _ref(base, "org", row["parentSourcedId"])
        orgs.append(org)
    roles: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(folder / "roles.csv"):
        role: dict[str, Any] = {
            "roleType": row["roleType"],
            "role": row["role"],
            "org": _ref(base, "org", row["orgSourcedId"]),
        }
        for name in ("beginDate", "endDate"):
            if row[name]:
                role[name] = row[name]
        roles.setdefault(row["userSourcedId"], []).append(role)
    users = []
    for row in _rows(folder / "users.csv"):
        user: dict[str, Any] = {
            "sourcedId": row["sourcedId"],
            "status": row["status"] or "active",
            "dateLastModified": row["dateLastModified"],
            "enabledUser": row["enabledUser"],
            "username": row["username"],
            "givenName": row["givenName"],
            "familyName": row["familyName"],
            "roles": roles[row["sourcedId"]],
        }
        for name in ("identifier", "email", "userMasterIdentifier"):
            if row[name]:
                user[name] = row[name]
        if row["primaryOrgSourcedId"]:
            user["primaryOrg"] = _ref(base, "org", row["primaryOrgSourcedId"])
        users.append(user)
    return orgs, users


@dataclass
class OneRosterServer:
    client_id: str
    client_secret: str
    orgs: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/token", self.token, methods=["POST"]),
                Route(f"{BASE}/orgs", self.collection("orgs"), methods=["GET"]),
                Route(f"{BASE}/users", self.collection("users"), methods=["GET"]),
            ]
        )

    async def token(self, request: Request) -> Response:
        self.requests.append("POST /token")
        form = await request.form()
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client = secret = ""
        if scheme.lower() != "basic" or (client, secret) != (self.client_id, self.client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if SCOPE not in str(form.get("scope", "")).split():
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": SCOPE}
        )

    def collection(self, name: str):  # type: ignore[no-untyped-def]
        async def endpoint(request: Request) -> Response:
            self.requests.append(f"GET {request.url.path.removeprefix(BASE)}?{request.url.query}")
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token not in self.tokens:
                return JSONResponse(
                    {
                        "imsx_codeMajor": "failure",
                        "imsx_severity": "error",
                        "imsx_description": "unauthorised request",
                        "imsx_CodeMinor": {
                            "imsx_codeMinorField": [
                                {
                                    "imsx_codeMinorFieldName": "TargetEndSystem",
                                    "imsx_codeMinorFieldValue": "unauthorisedrequest",
                                }
                            ]
                        },
                    },
                    status_code=401,
                )
            limit = min(int(request.query_params.get("limit", "100")), MAX_LIMIT)
            offset = int(request.query_params.get("offset", "0"))
            items: list[dict[str, Any]] = getattr(self, name)
            body = {name: items[offset : offset + limit]}
            VALIDATORS[name].validate(body)  # the fake answers only what the spec allows
            return JSONResponse(body, headers={"X-Total-Count": str(len(items))})

        return endpoint
