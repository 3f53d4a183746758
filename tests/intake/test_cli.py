"""The provider and badges commands, run in-process against the test database."""

from __future__ import annotations

import json
import re

import httpx
from typer.testing import CliRunner

from ler_plugin.cli import app
from ler_plugin.config import Settings
from tests import factories
from tests.badges.ob2_host import BadgeSite
from tests.intake.helpers import gql, operation, signed_ob3


def _invoke(settings: Settings, *args: str):  # type: ignore[no-untyped-def]
    env = {
        "LER_DATABASE_URL": settings.database_url,
        "LER_DATABASE_SCHEMA": settings.database_schema or "",
        "LER_ALLOW_INSECURE_LOOPBACK": "true",
        "LER_SECRET_KEY": settings.secret_key,
        "COLUMNS": "200",
    }
    if not settings.database_schema:
        env.pop("LER_DATABASE_SCHEMA")
    return CliRunner().invoke(app, list(args), env=env)


def _token(url: str, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )


def test_provider_lifecycle_and_recheck_from_the_command_line(live_server, site: BadgeSite) -> None:  # type: ignore[no-untyped-def]
    settings = live_server.settings
    slug = factories.unique("cli")
    assert (
        _invoke(
            settings, "district", "add", "--slug", slug, "--name", "CLI", "--state", "NY"
        ).exit_code
        == 0
    )
    added = _invoke(
        settings,
        "provider", "add", "--district", slug, "--name", "Math Circle",
        "--issuer", site.issuer_url, "--issuer", "did:web:math.example.org", "--credit-unit", "ceu",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    client_id = re.search(r"client_id: (\S+)", added.stdout).group(1)  # type: ignore[union-attr]
    secret = re.search(r"client_secret: (\S+)", added.stdout).group(1)  # type: ignore[union-attr]
    provider_id = re.search(r"\(id (\d+)\)", added.output).group(1)  # type: ignore[union-attr]
    response = _token(live_server.url, client_id, secret)
    assert response.status_code == 200
    bearer = response.json()["access_token"]

    url = site.hosted("cli", recipient=site.recipient("nobody-yet@example.org", hashed=None))
    posted = gql(live_server.url, bearer, operation("post_badge"), {"input": {"url": url}})
    assert posted["data"]["postBadge"]["outcome"] == "PENDING_CLAIM"
    site.hosted(
        "cli", recipient=site.recipient("nobody-yet@example.org", hashed=None), revoked=True
    )
    rechecked = _invoke(settings, "badges", "recheck", "--district", slug)
    assert rechecked.exit_code == 0, rechecked.output
    assert "1 revoked" in rechecked.output

    listed = _invoke(settings, "provider", "list", "--district", slug)
    assert "Math Circle" in listed.stdout and client_id in listed.stdout
    assert "did:web:math.example.org" in listed.stdout
    assert _invoke(settings, "provider", "revoke", provider_id).exit_code == 0
    assert _token(live_server.url, client_id, secret).status_code == 401
    bad = _invoke(
        settings, "provider", "add", "--district", slug, "--name", "X", "--issuer", "ftp://x"
    )
    assert bad.exit_code == 1 and "bad_issuer" in bad.output


def test_badges_verify_prints_the_report_and_exits_by_verdict(
    live_server, site: BadgeSite, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    settings = live_server.settings
    good = _invoke(settings, "badges", "verify", site.hosted("v"))
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout)["valid"] is True
    missing = _invoke(settings, "badges", "verify", site.host.url("/assertions/none.json"))
    assert missing.exit_code == 1
    report = json.loads(missing.stdout)
    assert report["valid"] is False and report["errors"][0]["code"] == "not_found"
    _, credential = signed_ob3("cli@example.org")
    ob3_file = tmp_path / "ob3.json"
    ob3_file.write_text(json.dumps(credential))
    ob3 = _invoke(settings, "badges", "verify", str(ob3_file))
    assert ob3.exit_code == 0, ob3.output
    assert json.loads(ob3.stdout)["format"] == "ob3"
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    assert _invoke(settings, "badges", "verify", str(junk)).exit_code == 1
    assert _invoke(settings, "badges", "verify", str(tmp_path / "absent.png")).exit_code == 2
