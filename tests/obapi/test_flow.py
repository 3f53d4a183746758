"""The Open Badges 3.0 API end to end over real HTTP: a client discovers the district's API and
registers itself (RFC 7591), the teacher consents in a browser, the client exchanges the code with
PKCE, pages through getCredentials, upserts a signed credential, reads and updates the profile,
refreshes its token, and stops working the moment the teacher revokes it. Every body is checked
against 1EdTech's JSON Schemas."""

from __future__ import annotations

from typing import Any

import httpx
from openapi_spec_validator import validate as validate_openapi

from ler_plugin.badges.parse import parse_json
from ler_plugin.badges.pipeline import verify_input
from ler_plugin.fetch import FetchPolicy
from tests.intake.helpers import signed_ob3
from tests.obapi.helpers import (
    SCOPES,
    assert_imsx,
    assert_valid,
    browser,
    client_app,
    connect,
    consent,
    discover,
    forms,
    make_teacher,
    oauth_client,
    register,
    schema,
    service_description_schema,
)


def _pages(
    api: str, bearer: str, limit: int, **params: str
) -> tuple[list[dict[str, Any]], list[httpx.Response]]:
    """Follow the Link header's rel="next" from the first page to the last."""
    url: str | None = f"{api}/credentials"
    query: dict[str, Any] | None = {"limit": limit, **params}
    found, responses = [], []
    while url:
        response = httpx.get(
            url, params=query, headers={"Authorization": f"Bearer {bearer}"}, timeout=60
        )
        assert response.status_code == 200, response.text
        assert_valid(schema("getopenbadgecredentialsresponse"), response.json())
        responses.append(response)
        found += response.json()["credential"]
        links = {rel: target for target, rel in _links(response.headers["Link"])}
        assert "first" in links and "last" in links
        url, query = links.get("next"), None
    return found, responses


def _links(header: str) -> list[tuple[str, str]]:
    pairs = []
    for part in header.split(","):
        target, rel = part.split(";")
        pairs.append((target.strip()[1:-1], rel.strip().removeprefix('rel="').removesuffix('"')))
    return pairs


async def test_register_consent_read_upsert_profile_refresh_and_revoke(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd, oauth, token = connect(live_server.url, teacher, app)

        # The discovery document: the spec's ServiceDescriptionDocument, with its required parts.
        assert_valid(service_description_schema(), sdd)
        validate_openapi(sdd)  # and a valid OpenAPI 3.0 document (openapi-spec-validator)
        scheme = sdd["components"]["securitySchemes"]["OAuth2ACG"]
        assert scheme["type"] == "oauth2"
        assert set(scheme["flows"]["authorizationCode"]["scopes"]) == set(SCOPES)
        for name in ("title", "termsOfService", "x-imssf-privacyPolicyUrl"):
            assert sdd["info"][name]
        for url in (sdd["info"]["termsOfService"], sdd["info"]["x-imssf-privacyPolicyUrl"]):
            assert httpx.get(url).status_code == 200
        api = sdd["servers"][0]["url"]
        assert api.endswith(f"/d/{teacher.slug}/ims/ob/v3p0")

        # The token response (OB 3.0 7.1.2).
        assert token["token_type"].lower() == "bearer" and token["expires_in"] == 3600
        assert set(token["scope"].split()) == set(SCOPES)
        assert token["refresh_token"]
        bearer = token["access_token"]

        # getCredentials: two per page; counted records the grant allows, signed by the district.
        credentials, responses = _pages(api, bearer, 2)
        assert [r.headers["X-Total-Count"] for r in responses] == ["4", "4"]
        assert "prev" in dict((rel, t) for t, rel in _links(responses[1].headers["Link"]))
        assert {c["name"] for c in credentials} == teacher.visible["district"]
        for credential in credentials:
            report = verify_input(
                parse_json(credential), policy=FetchPolicy(allow_insecure_loopback=True)
            )
            assert report.valid, report.error_codes
        assert {c["issuer"]["id"] for c in credentials} == {credentials[0]["issuer"]["id"]}
        later, _ = _pages(api, bearer, 10, since="2999-01-01T00:00:00Z")
        assert later == []

        # upsertCredential: a provider's signed OB 3.0 credential for this teacher: 201, then 200.
        _, pushed = signed_ob3(teacher.email)
        headers = {"Authorization": f"Bearer {bearer}"}
        created = httpx.post(f"{api}/credentials", json=pushed, headers=headers, timeout=60)
        assert created.status_code == 201, created.text
        assert created.json() == pushed
        again = httpx.post(f"{api}/credentials", json=pushed, headers=headers, timeout=60)
        assert again.status_code == 200, again.text
        tampered = pushed | {"name": "Something else"}
        refused = httpx.post(f"{api}/credentials", json=tampered, headers=headers, timeout=60)
        assert "did not verify" in assert_imsx(refused, 400)["imsx_description"]
        credentials, _ = _pages(api, bearer, 100)
        assert "ELL strategies" in {c["name"] for c in credentials}

        # getProfile / putProfile.
        profile = httpx.get(f"{api}/profile", headers=headers)
        assert profile.status_code == 200, profile.text
        assert_valid(schema("profile"), profile.json())
        assert profile.json()["name"] == "Ada Lovelace"
        wanted = profile.json() | {"name": "A. Lovelace", "email": teacher.email}
        put = httpx.put(f"{api}/profile", json=wanted, headers=headers)
        assert put.status_code == 200, put.text
        assert_valid(schema("profile"), put.json())
        assert (put.json()["name"], put.json()["email"]) == ("A. Lovelace", teacher.email)
        # The spec's own example carries a phone: accepted, not kept (OB 3.0 6.2.4).
        phone = httpx.put(
            f"{api}/profile", json=wanted | {"phone": "111-222-3333"}, headers=headers
        )
        assert phone.status_code == 200 and "phone" not in phone.json()
        for bad, why in (
            ({"email": "someone@else.example"}, "verified"),
            ({"type": ["Organization"]}, "Profile"),
            ({"id": "urn:uuid:00000000-0000-4000-8000-000000000000"}, "id"),
            ({"name": 42}, "name"),
        ):
            refused = httpx.put(f"{api}/profile", json=wanted | bad, headers=headers)
            assert why in assert_imsx(refused, 400)["imsx_description"], bad
        assert httpx.get(f"{api}/profile", headers=headers).json()["name"] == "A. Lovelace"

        # Refresh: a new access token; the old refresh token works once.
        refreshed = oauth.refresh_token(
            scheme["flows"]["authorizationCode"]["refreshUrl"], refresh_token=token["refresh_token"]
        )
        assert refreshed["access_token"] != bearer
        reused = httpx.post(
            scheme["flows"]["authorizationCode"]["tokenUrl"],
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=(oauth.client_id, oauth.client_secret),
        )
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

        # The teacher revokes the app on the Connected apps page: its tokens stop at once.
        with browser(live_server.url, teacher) as b:
            page = b.get("/app/wallet/apps", params={"session": teacher.session})
            assert "Example Client Application" in page.text
            [revoke] = [f for f in forms(page.text) if "/revoke" in f["action"]]
            done = b.post(revoke["action"].replace("&amp;", "&"), data=dict(revoke["fields"]))
            assert (
                done.status_code == 200
                and "Example Client Application"
                not in done.text.split("Apps you allowed")[1].split("What apps")[0]
            )
        for access in (bearer, refreshed["access_token"]):
            gone = httpx.get(f"{api}/credentials", headers={"Authorization": f"Bearer {access}"})
            body = assert_imsx(gone, 401)
            assert "invalid_token" in gone.headers["WWW-Authenticate"], body
        dead = httpx.post(
            scheme["flows"]["authorizationCode"]["tokenUrl"],
            data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
            auth=(oauth.client_id, oauth.client_secret),
        )
        assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


async def test_a_grant_for_public_records_without_the_name(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd, _, token = connect(
            live_server.url,
            teacher,
            app,
            scopes=[SCOPES[0], SCOPES[2]],
            records="public",
            show_identity=False,
        )
    api = sdd["servers"][0]["url"]
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert set(token["scope"].split()) == {SCOPES[0], SCOPES[2]}
    credentials, _ = _pages(api, token["access_token"], 10)
    assert {c["name"] for c in credentials} == teacher.visible["public"]
    profile = httpx.get(f"{api}/profile", headers=headers).json()
    assert_valid(schema("profile"), profile)
    assert "name" not in profile and "email" not in profile
    # Scopes the teacher did not grant: 403, the spec's status body.
    _, pushed = signed_ob3(teacher.email)
    refused = httpx.post(f"{api}/credentials", json=pushed, headers=headers)
    assert_imsx(refused, 403)
    assert "insufficient_scope" in refused.headers["WWW-Authenticate"]


async def test_denied_consent_redirects_access_denied(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd = discover(live_server.url, teacher.slug)
        oauth = oauth_client(sdd, register(sdd, app), app)
        flow = sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]
        url, state = oauth.create_authorization_url(
            flow["authorizationUrl"], code_verifier="v" * 50
        )
        with browser(live_server.url, teacher) as b:
            landed = consent(b, url, decision="deny")
        assert landed.text == "connected"
        back = app.callbacks[-1]
        assert (back["error"], back["state"]) == ("access_denied", state)
        assert "code" not in back
    with browser(live_server.url, teacher) as b:
        page = b.get("/app/wallet/apps", params={"session": teacher.session})
    assert "You have not connected an app." in page.text
