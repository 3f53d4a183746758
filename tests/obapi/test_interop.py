"""The Open Badges API against parts nobody here wrote: what getCredentials returns verifies with
the Digital Credentials Consortium's verifier-core (Node.js), and a provider's VC-JWT goes in as
`text/plain` the way OB 3.0 6.2.2 sends it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt

from ler_plugin.badges.ob3 import sign_ld_proof
from tests.badges.test_ob3_jwt import ed25519_issuer, vc20
from tests.obapi.helpers import (
    assert_valid,
    client_app,
    connect,
    make_teacher,
    schema,
)
from tests.pages.test_ob3_external_verifier import _step, _verifier_core


async def test_get_credentials_verify_with_dcc_verifier_core(  # type: ignore[no-untyped-def]
    live_server,
    session_factory,
    settings,
    node_verifier: Path,
    registry: dict[str, Any],
    tmp_path: Path,
) -> None:
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd, _, token = connect(live_server.url, teacher, app)
    api = sdd["servers"][0]["url"]
    answer = httpx.get(
        f"{api}/credentials",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=60,
    )
    credentials = answer.json()["credential"]
    assert {c["name"] for c in credentials} == teacher.visible["district"]
    did = credentials[0]["issuer"]["id"]
    registry["listed"][did] = {"name": "The district", "url": live_server.url, "location": "TX"}
    results = _verifier_core(node_verifier, tmp_path, credentials, [registry["entry"]])
    for result in results:
        assert result["errors"] == [], result
        assert _step(result, "valid_signature")["valid"] is True


async def test_a_vc_jwt_is_upserted_as_text_plain(live_server, session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd, _, token = connect(live_server.url, teacher, app)
    api = sdd["servers"][0]["url"]
    key, did, kid = ed25519_issuer()
    credential = vc20(did)
    credential["credentialSubject"]["identifier"] = [
        {
            "type": "IdentityObject",
            "identityHash": teacher.email,
            "identityType": "emailAddress",
            "hashed": False,
        }
    ]
    compact = jwt.encode(
        credential | {"iss": did, "nbf": int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())},
        key,
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    headers = {"Authorization": f"Bearer {token['access_token']}", "content-type": "text/plain"}
    created = httpx.post(f"{api}/credentials", content=compact, headers=headers, timeout=60)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("text/plain")
    assert created.text == compact
    again = httpx.post(f"{api}/credentials", content=compact, headers=headers, timeout=60)
    assert again.status_code == 200, again.text
    page = httpx.get(
        f"{api}/credentials",
        params={"limit": 100},
        headers={"Authorization": headers["Authorization"]},
        timeout=60,
    )
    assert_valid(schema("getopenbadgecredentialsresponse"), page.json())
    assert "Social-emotional learning" in {c["name"] for c in page.json()["credential"]}


async def test_a_newer_version_of_a_credential_replaces_the_older(
    live_server, session_factory, settings
) -> None:  # type: ignore[no-untyped-def]
    """OB 3.0 section 10: the same issuer and credential id are one credential, the latest
    validFrom its current version; upserting it again answers 200 and only the newest counts."""
    teacher = await make_teacher(session_factory, settings)
    with client_app() as app:
        sdd, _, token = connect(live_server.url, teacher, app)
    api = sdd["servers"][0]["url"]
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    key, did, method = ed25519_issuer()

    def version(name: str, valid_from: str) -> dict[str, Any]:
        credential = vc20(did) | {"name": name, "validFrom": valid_from}
        credential["credentialSubject"]["achievement"]["name"] = name
        credential["credentialSubject"]["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": teacher.email,
                "identityType": "emailAddress",
                "hashed": False,
            }
        ]
        return sign_ld_proof(credential, key, method, created=datetime(2026, 4, 2, tzinfo=UTC))

    first = httpx.post(
        f"{api}/credentials",
        json=version("SEL, part one", "2026-03-01T00:00:00Z"),
        headers=headers,
        timeout=60,
    )
    assert first.status_code == 201, first.text
    newer = httpx.post(
        f"{api}/credentials",
        json=version("SEL, parts one and two", "2026-04-01T00:00:00Z"),
        headers=headers,
        timeout=60,
    )
    assert newer.status_code == 200, newer.text
    older = httpx.post(
        f"{api}/credentials",
        json=version("SEL, draft", "2026-02-01T00:00:00Z"),
        headers=headers,
        timeout=60,
    )
    assert older.status_code == 200, older.text
    names = {
        c["name"]
        for c in httpx.get(
            f"{api}/credentials", params={"limit": 100}, headers=headers, timeout=60
        ).json()["credential"]
    }
    assert "SEL, parts one and two" in names
    assert not names & {"SEL, part one", "SEL, draft"}
