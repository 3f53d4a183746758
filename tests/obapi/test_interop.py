"""The Open Badges API against parts nobody here wrote: what getCredentials returns verifies with
the Digital Credentials Consortium's verifier-core (Node.js), and a provider's VC-JWT goes in as
`text/plain` the way OB 3.0 6.2.2 sends it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt

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
