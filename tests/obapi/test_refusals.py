"""What the Open Badges API refuses, over real HTTP: registrations that break OB 3.0's rules,
authorization requests without PKCE S256 or from unknown clients, a code used twice, tokens
taken to another district, requests without a token, methods the spec does not define."""

from __future__ import annotations

import base64
import hashlib

import httpx

from tests.obapi.helpers import (
    SCOPES,
    assert_imsx,
    assert_valid,
    browser,
    client_app,
    connect,
    consent,
    discover,
    make_teacher,
    oauth_client,
    register,
    registration,
    service_description_schema,
)


async def test_registration_follows_ob3_rules(live_server, session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    sdd = discover(live_server.url, teacher.slug)
    url = sdd["components"]["securitySchemes"]["OAuth2ACG"]["x-imssf-registrationUrl"]
    with client_app() as app:
        made = register(sdd, app)
        # Everything the client sent comes back, with its credentials (RFC 7591 3.2.1).
        for name, value in registration(app).items():
            assert made[name] == value
        assert made["client_secret_expires_at"] == 0 and made["client_id_issued_at"] > 0
        for changes, why in (
            ({"logo_uri": None}, "logo_uri"),
            ({"tos_uri": "https://elsewhere.example/terms"}, "one host"),
            ({"policy_uri": "http://client.example/privacy"}, "https"),
            ({"scope": "https://purl.imsglobal.org/spec/ob/v3p0/scope/everything"}, "scope"),
            ({"grant_types": ["client_credentials"]}, "grant_types"),
            ({"token_endpoint_auth_method": "client_secret_post"}, "token_endpoint_auth_method"),
            ({"redirect_uris": "not a list"}, "redirect_uris"),
        ):
            refused = httpx.post(url, json=registration(app, **changes))
            assert refused.status_code == 400, (changes, refused.text)
            body = refused.json()
            assert body["error"] == "invalid_client_metadata", body
            assert why in body["error_description"], body
        assert (
            httpx.post(
                url, content=b"{oops", headers={"content-type": "application/json"}
            ).status_code
            == 400
        )


async def test_pkce_s256_state_and_known_clients_are_required(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd = discover(live_server.url, teacher.slug)
        client = register(sdd, app)
        authorize = sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"][
            "authorizationUrl"
        ]
        base = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": app.redirect_uri,
            "scope": SCOPES[0],
            "state": "s-1",
        }
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(b"v" * 50).digest()).rstrip(b"=").decode()
        )
        with browser(live_server.url, teacher) as b:
            # No PKCE, or "plain": the client is told so at its own redirect URI.
            for extra in ({}, {"code_challenge": "v" * 50, "code_challenge_method": "plain"}):
                landed = b.get(authorize, params=base | extra)
                back = app.callbacks[-1]
                assert landed.text == "connected" and back["error"] == "invalid_request", back
                assert back["state"] == "s-1"
            # An unknown client or a redirect URI it did not register: a page, never a redirect.
            count = len(app.callbacks)
            for changes in (
                {"client_id": "nobody"},
                {"redirect_uri": f"{app.url}/elsewhere"},
                {"state": ""},
            ):
                page = b.get(
                    authorize,
                    params=base
                    | changes
                    | {"code_challenge": challenge, "code_challenge_method": "S256"},
                )
                assert page.status_code == 400, page.text
                assert len(app.callbacks) == count
            # Not signed in to the wallet: how to sign in, not an error of the client's.
        anonymous = httpx.get(
            authorize, params=base | {"code_challenge": challenge, "code_challenge_method": "S256"}
        )
        assert anonymous.status_code == 401 and "Sign in to connect apps" in anonymous.text


async def test_a_code_works_once_and_its_second_use_revokes_the_token(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd = discover(live_server.url, teacher.slug)
        client = register(sdd, app)
        oauth = oauth_client(sdd, client, app)
        flow = sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]
        verifier = "v" * 64
        url, _ = oauth.create_authorization_url(flow["authorizationUrl"], code_verifier=verifier)
        with browser(live_server.url, teacher) as b:
            consent(b, url)
        code = app.callbacks[-1]["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri}
        auth = (client["client_id"], client["client_secret"])
        wrong = httpx.post(flow["tokenUrl"], data=form | {"code_verifier": "w" * 64}, auth=auth)
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        missing = httpx.post(flow["tokenUrl"], data=form, auth=auth)
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
        unauthenticated = httpx.post(flow["tokenUrl"], data=form | {"code_verifier": verifier})
        assert (
            unauthenticated.status_code == 401
            and unauthenticated.json()["error"] == "invalid_client"
        )
        first = httpx.post(flow["tokenUrl"], data=form | {"code_verifier": verifier}, auth=auth)
        assert first.status_code == 200, first.text
        assert first.headers["cache-control"] == "no-store"
        api = sdd["servers"][0]["url"]
        bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
        assert httpx.get(f"{api}/credentials", headers=bearer).status_code == 200
        second = httpx.post(flow["tokenUrl"], data=form | {"code_verifier": verifier}, auth=auth)
        assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
        assert_imsx(httpx.get(f"{api}/credentials", headers=bearer), 401)


async def test_tokens_and_clients_stay_in_their_district(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    north = await make_teacher(session_factory, settings, name="Nora North")
    south = await make_teacher(session_factory, settings, name="Sam South")
    with client_app() as app:
        _, oauth, token = connect(live_server.url, north, app)
        south_sdd = discover(live_server.url, south.slug)
        south_api = south_sdd["servers"][0]["url"]
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        # North's token means nothing at South's API.
        assert_imsx(httpx.get(f"{south_api}/credentials", headers=bearer), 401)
        assert_imsx(httpx.get(f"{south_api}/profile", headers=bearer), 401)
        # North's client is unknown to South: its token endpoint and its consent page refuse it.
        south_flow = south_sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"][
            "authorizationCode"
        ]
        refused = httpx.post(
            south_flow["tokenUrl"],
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=(oauth.client_id, oauth.client_secret),
        )
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
        url, _ = oauth.create_authorization_url(
            south_flow["authorizationUrl"], code_verifier="v" * 50
        )
        with browser(live_server.url, south) as b:
            assert b.get(url).status_code == 400
        # North's teacher cannot open South's consent page with North's session.
        with browser(live_server.url, north) as b:
            assert b.get(url).status_code == 404


async def test_resource_errors_are_imsx_status_info(live_server, session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd, _, token = connect(live_server.url, teacher, app)
    api = sdd["servers"][0]["url"]
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    missing = httpx.get(f"{api}/credentials")
    assert_imsx(missing, 401)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert_imsx(httpx.get(f"{api}/credentials", headers={"Authorization": "Bearer nonsense"}), 401)
    for params in ({"limit": "0"}, {"offset": "-1"}, {"limit": "many"}, {"since": "yesterday"}):
        body = assert_imsx(httpx.get(f"{api}/credentials", params=params, headers=bearer), 400)
        assert (
            body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"]
            == "invalid_query_parameter"
        )
    assert_imsx(httpx.delete(f"{api}/credentials", headers=bearer), 405)
    assert_imsx(
        httpx.post(
            f"{api}/credentials",
            content=b"{oops",
            headers=bearer | {"content-type": "application/json"},
        ),
        400,
    )
    assert_imsx(
        httpx.post(
            f"{api}/credentials", content=b"x", headers=bearer | {"content-type": "image/png"}
        ),
        400,
    )
    assert_imsx(httpx.get(f"{live_server.url}/d/no-such-district/ims/ob/v3p0/discovery"), 404)


async def test_the_bare_discovery_path_answers_only_for_a_single_district(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    await make_teacher(session_factory, settings)
    await make_teacher(session_factory, settings)
    bare = httpx.get(f"{live_server.url}/ims/ob/v3p0/discovery")
    assert "/d/{district}/ims/ob/v3p0/discovery" in assert_imsx(bare, 404)["imsx_description"]
    teacher = await make_teacher(session_factory, settings)
    assert_valid(service_description_schema(), discover(live_server.url, teacher.slug))


async def test_approving_nothing_is_asked_again_and_grants_nothing(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd = discover(live_server.url, teacher.slug)
        oauth = oauth_client(sdd, register(sdd, app), app)
        flow = sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]
        url, _ = oauth.create_authorization_url(flow["authorizationUrl"], code_verifier="v" * 50)
        with browser(live_server.url, teacher) as b:
            again = consent(b, url, scopes=[])
            assert again.status_code == 400 and "choose at least one" in again.text
            assert app.callbacks == []
            apps = b.get("/app/wallet/apps", params={"session": teacher.session})
    assert "You have not connected an app." in apps.text


async def test_a_narrower_consent_holds_at_once_for_tokens_already_out(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd, oauth, token = connect(live_server.url, teacher, app)
        api = sdd["servers"][0]["url"]
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert httpx.get(f"{api}/profile", headers=bearer).status_code == 200
        flow = sdd["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]
        url, _ = oauth.create_authorization_url(flow["authorizationUrl"], code_verifier="v" * 50)
        with browser(live_server.url, teacher) as b:
            assert consent(b, url, scopes=[SCOPES[0]]).text == "connected"
        assert_imsx(httpx.get(f"{api}/profile", headers=bearer), 403)
        assert httpx.get(f"{api}/credentials", headers=bearer).status_code == 200
