"""The wallet's OB 3.0 export, fetched over HTTP, verified by the Digital Credentials Consortium's
verifier-core (Node.js) as well as by our own `verify_ob3`; a tampered copy fails in both.

Offline: verifier-core resolves the district's did:key and its bundled JSON-LD contexts locally;
its registry of known issuers is a DCC "legacy" registry served by this test on 127.0.0.1.
Its OB 3.0 JSON-schema check needs purl.imsglobal.org, so it is additional information only.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ler_plugin.badges.ob3 import verify_ob3
from tests.pages.world import World, client

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def _no_fetch(url: str) -> Any:
    raise AssertionError(f"a did:key needs no fetch, yet {url} was asked for")


def _ours(credential: dict[str, Any]) -> bool:
    return verify_ob3(credential, fetch_json=_no_fetch).valid


@pytest.fixture(scope="module")
def node_verifier() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail(
                "CI is set but node/npm are missing: the external OB 3.0 verifier cannot run"
            )
        pytest.skip("node and npm are not installed: the external OB 3.0 verifier cannot run")
    if not (NODE_DIR / "node_modules" / "@digitalcredentials" / "verifier-core").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300
        )
    return NODE_DIR / "verify_ob3.mjs"


@pytest.fixture
def registry() -> Iterator[dict[str, Any]]:
    """A DCC legacy issuer registry on 127.0.0.1; the test puts the district's DID in it."""
    listed: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"registry": listed}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/registry.json"
    try:
        yield {
            "listed": listed,
            "entry": {"name": "Test district registry", "type": "dcc-legacy", "url": url},
        }
    finally:
        server.shutdown()
        server.server_close()


def _verifier_core(
    script: Path, tmp_path: Path, credentials: list[Any], registries: list[Any]
) -> list[Any]:
    file = tmp_path / "export.ob3.json"
    file.write_text(json.dumps({"credentials": credentials}))
    done = subprocess.run(
        ["node", str(script), str(file), json.dumps(registries)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results: list[Any] = json.loads(done.stdout)
    return results


def _step(result: dict[str, Any], step: str) -> dict[str, Any]:
    return next(entry for entry in result["log"] or [] if entry["id"] == step)


def test_export_verifies_with_dcc_verifier_core(
    live_server, world: World, node_verifier: Path, registry: dict[str, Any], tmp_path: Path
) -> None:
    with client(live_server.url) as http:
        wallet_page = http.get("/app/wallet", params={"session": world.teacher})
        response = http.get("/app/wallet/export.ob3.json", params={"session": world.teacher})
        again = http.get("/app/wallet/export.ob3.json", params={"session": world.teacher})
    assert "/app/wallet/export.ob3.json?session=" in wallet_page.text
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    exported = response.json()
    credentials = exported["credentials"]
    titles = {c["name"] for c in credentials}
    assert {"Literacy workshop", "Private coaching notes"} <= titles
    assert "Someone else's seminar" not in titles
    did = exported["issuer"]
    assert did.startswith("did:key:z6Mk") and again.json()["issuer"] == did  # one key per district
    assert all(c["issuer"]["id"] == did for c in credentials)

    tampered = copy.deepcopy(credentials[0])
    tampered["credentialSubject"]["achievement"]["name"] = "Forty clock hours of nothing"
    registry["listed"][did] = {"name": "The district", "url": live_server.url, "location": "TX"}
    *results, tampered_result = _verifier_core(
        node_verifier, tmp_path, [*credentials, tampered], [registry["entry"]]
    )

    assert len(results) == len(credentials)
    for credential, result in zip(credentials, results, strict=True):
        assert result["errors"] == [], result
        assert _step(result, "valid_signature")["valid"] is True
        assert _step(result, "expiration")["valid"] is True
        issuer_step = _step(result, "registered_issuer")
        assert issuer_step["valid"] is True and issuer_step["uncheckedRegistries"] == []
        assert _ours(credential) is True
    assert [e["name"] for e in tampered_result["errors"]] == ["invalid_signature"]
    assert _ours(tampered) is False


def test_issuer_not_in_registry_is_reported_but_signature_holds(
    live_server, world: World, node_verifier: Path, registry: dict[str, Any], tmp_path: Path
) -> None:
    with client(live_server.url) as http:
        credentials = http.get(
            "/app/wallet/export.ob3.json", params={"session": world.other}
        ).json()["credentials"]
    assert [c["name"] for c in credentials] == ["Someone else's seminar"]
    (result,) = _verifier_core(node_verifier, tmp_path, credentials, [registry["entry"]])
    assert _step(result, "valid_signature")["valid"] is True
    assert _step(result, "registered_issuer")["valid"] is False
