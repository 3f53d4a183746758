"""The Ed-Fi source: `ler-plugin roster import --edfi-url` in a real process against an Ed-Fi
ODS/API 7 written from its documentation (root document, OAuth client credentials, paged
resources with Total-Count), served on 127.0.0.1."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.lti.advantage.lms import serve
from tests.roster.cli import Install
from tests.roster.test_oneroster_csv import assert_counts, staff

pytestmark = pytest.mark.asyncio(loop_scope="session")
SECRET = "edfi-secret"
DATA = "/data/v3"


@dataclass
class EdFiApi:
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.root),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route(DATA + "/ed-fi/{resource}", self.resource),
            ]
        )

    async def root(self, request: Request) -> Response:
        return JSONResponse(
            {
                "version": "7.1",
                "applicationName": "Ed-Fi ODS / API",
                "urls": {
                    "dependencies": f"{self.url}/metadata/data/v3/dependencies",
                    "openApiMetadata": f"{self.url}/metadata/",
                    "oauth": f"{self.url}/oauth/token",
                    "dataManagementApi": f"{self.url}{DATA}/",
                },
            }
        )

    async def token(self, request: Request) -> Response:
        form = await request.form()
        _, _, encoded = request.headers.get("authorization", "").partition(" ")
        if (
            base64.b64decode(encoded or "").decode() != f"wallet:{SECRET}"
            or form.get("grant_type") != "client_credentials"
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 1800, "token_type": "bearer"})

    async def resource(self, request: Request) -> Response:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            return JSONResponse({"message": "Authorization denied."}, status_code=401)
        items = self.resources.get(request.path_params["resource"], [])
        limit = min(int(request.query_params.get("limit", "25")), 2)  # a small page size, to page
        offset = int(request.query_params.get("offset", "0"))
        headers = (
            {"Total-Count": str(len(items))}
            if request.query_params.get("totalCount") == "true"
            else {}
        )
        return JSONResponse(items[offset : offset + limit], headers=headers)


def staff_member(unique: str, first: str, last: str, email: str | None = None) -> dict[str, Any]:
    member: dict[str, Any] = {
        "id": secrets.token_hex(16),
        "staffUniqueId": unique,
        "firstName": first,
        "lastSurname": last,
    }
    if email:
        member["electronicMails"] = [
            {
                "electronicMailAddress": email,
                "electronicMailTypeDescriptor": "uri://ed-fi.org/ElectronicMailTypeDescriptor#Work",
            }
        ]
    return member


def association(unique: str, school: int) -> dict[str, Any]:
    return {
        "id": secrets.token_hex(16),
        "staffReference": {"staffUniqueId": unique},
        "schoolReference": {"schoolId": school},
        "programAssignmentDescriptor": "uri://ed-fi.org/ProgramAssignmentDescriptor#Regular Education",
    }


@pytest.fixture
def api() -> Iterator[EdFiApi]:
    made = EdFiApi()
    made.resources = {
        "schools": [
            {"id": "a", "schoolId": 255901001, "nameOfInstitution": "Grand Bend High School"},
            {"id": "b", "schoolId": 255901044, "nameOfInstitution": "Grand Bend Middle School"},
            {"id": "c", "schoolId": 255901107, "nameOfInstitution": "Grand Bend Elementary School"},
        ],
        "staffs": [
            staff_member("207219", "Rhonda", "Lee", "rhonda.lee@gbisd.edu"),
            staff_member("207220", "Marcus", "Cole", "marcus.cole@gbisd.edu"),
            staff_member("207221", "Bus", "Driver"),
            staff_member("207222", "", "Nameless"),
        ],
        "staffSchoolAssociations": [
            association("207219", 255901001),
            association("207220", 255901044),
            association("207220", 255901107),
            association("207222", 255901001),
        ],
    }
    with serve(made.app()) as url:
        made.url = url
        yield made


def edfi_import(install: Install, api: EdFiApi):  # type: ignore[no-untyped-def]
    return install.run(
        "roster",
        "import",
        "--district",
        install.district,
        "--edfi-url",
        api.url + "/",
        "--client-id",
        "wallet",
        "--client-secret-env",
        "EDFI_SECRET",
        EDFI_SECRET=SECRET,
    )


async def test_staff_schools_and_assignments_come_from_edfi(
    district: Install, api: EdFiApi
) -> None:
    first = edfi_import(district, api)
    assert_counts(
        first.stdout,
        {
            "schools created": 3,
            "staff created": 2,
            "school assignments added": 3,
            "refused rows": 1,
            "skipped people": 1,
        },
    )
    assert (
        "refused GET /ed-fi/staffs:4: user '207222' needs a givenName and a familyName"
        in first.stdout
    )
    people = await staff(district)
    assert people["207219"] == ("Rhonda Lee", True, ["Grand Bend High School"])
    assert people["207220"] == (
        "Marcus Cole",
        True,
        ["Grand Bend Middle School", "Grand Bend Elementary School"],
    )
    again = edfi_import(district, api)
    assert_counts(
        again.stdout,
        {"staff created": 0, "staff updated": 0, "staff unchanged": 2, "schools unchanged": 3},
    )
    api.resources["staffs"] = [s for s in api.resources["staffs"] if s["staffUniqueId"] != "207220"]
    gone = edfi_import(district, api)
    assert_counts(gone.stdout, {"staff deactivated": 1, "staff unchanged": 1})
    assert (await staff(district))["207220"][1] is False
