"""The committed LMS configuration under lti/ is what the code serves, and the CLI prints it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from ler_plugin.cli import app
from ler_plugin.config import Settings
from ler_plugin.lti.artifacts import (
    ARTIFACT_FILES,
    EXAMPLE_BASE_URL,
    LMS_CHOICES,
    registration_key,
    registration_request,
    render,
    settings_list,
    tool_urls,
)
from ler_plugin.lti.errors import LtiServiceError
from ler_plugin.lti.services import TOOL_SCOPES
from tests import factories
from tests.lti.advantage.lms import configure_django

COMMITTED = Path(__file__).resolve().parents[3] / "lti"


@pytest.mark.parametrize("lms", LMS_CHOICES)
def test_committed_artifacts_match_the_code(lms: str) -> None:
    committed = (COMMITTED / ARTIFACT_FILES[lms]).read_text(encoding="utf-8")
    assert committed == render(lms, EXAMPLE_BASE_URL), (
        f"lti/{ARTIFACT_FILES[lms]} is stale: run `uv run ler-plugin lti write-artifacts lti`"
    )


def test_the_readme_covers_every_lms() -> None:
    readme = (COMMITTED / "README.md").read_text(encoding="utf-8")
    for name in ARTIFACT_FILES.values():
        assert name in readme


def test_canvas_key_uses_the_urls_the_tool_serves() -> None:
    key = json.loads(render("canvas", "https://pd.district.example/"))
    assert key["oidc_initiation_url"] == "https://pd.district.example/lti/login"
    assert key["target_link_uri"] == "https://pd.district.example/lti/launch"
    assert key["public_jwk_url"] == "https://pd.district.example/lti/jwks"
    assert key["scopes"] == list(TOOL_SCOPES)
    placements = key["extensions"][0]["settings"]["placements"]
    deep = [p for p in placements if p["message_type"] == "LtiDeepLinkingRequest"]
    assert {p["placement"] for p in deep} == {"assignment_selection", "link_selection"}
    assert key["extensions"][0]["domain"] == "pd.district.example"
    # The same URLs go into a dynamic registration.
    body = registration_request(tool_urls("https://pd.district.example"))
    assert body["initiate_login_uri"] == key["oidc_initiation_url"]
    assert body["jwks_uri"] == key["public_jwk_url"]


async def test_every_url_an_admin_pastes_is_served_by_the_tool(live_server) -> None:  # type: ignore[no-untyped-def]
    pasted = tool_urls(live_server.url).pasted()
    assert set(pasted.values()) == {
        f"{live_server.url}/lti/login",
        f"{live_server.url}/lti/launch",
        f"{live_server.url}/lti/jwks",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        for label, url in pasted.items():
            if url.endswith("/jwks"):
                response = await http.get(url)
                assert response.status_code == 200 and response.json()["keys"], label
            else:  # an empty login or launch is refused by name, not missing
                response = await http.post(url, data={})
                assert response.status_code == 400 and "<code>bad_" in response.text, label


def test_open_edx_labels_are_the_xblocks_own_fields() -> None:
    configure_django()
    from lti_consumer.lti_xblock import LtiConsumerXBlock

    labels = {str(f.display_name) for f in LtiConsumerXBlock.fields.values()}
    values = {
        str(f.display_name): {str(v["display_name"]) for v in (f.values or [])}
        for f in LtiConsumerXBlock.fields.values()
        if isinstance(f.values, list)
    }
    _, pairs = settings_list("openedx", tool_urls(EXAMPLE_BASE_URL))
    for label, value in pairs:
        assert label in labels, label
        if label in values:
            assert value in values[label], (label, value)


def test_bad_base_url_and_unknown_lms() -> None:
    with pytest.raises(LtiServiceError) as bad:
        render("moodle", "wallet.example.org")
    assert bad.value.code == "lti_bad_base_url"
    with pytest.raises(LtiServiceError) as unknown:
        render("blackboard", EXAMPLE_BASE_URL)
    assert unknown.value.code == "lti_unknown_lms"


def cli_env(settings: Settings) -> dict[str, str]:
    env = {
        "LER_DATABASE_URL": settings.database_url,
        "LER_SECRET_KEY": settings.secret_key,
        "LER_BASE_URL": "https://wallet.district.example",
    }
    if settings.database_schema:
        env["LER_DATABASE_SCHEMA"] = settings.database_schema
    return env


def test_cli_prints_each_lms(settings: Settings) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["lti", "config", "moodle"], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "Initiate login URL" in result.output
    assert "https://wallet.district.example/lti/login" in result.output

    result = runner.invoke(app, ["lti", "config", "blackboard"], env=cli_env(settings))
    assert result.exit_code == 2


async def test_cli_prints_a_districts_registration_url(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        district = await factories.district(session)
    runner = CliRunner()
    env = cli_env(settings)

    import asyncio

    result = await asyncio.to_thread(
        runner.invoke, app, ["lti", "config", "dynamic", "--district", district.slug], env=env
    )
    assert result.exit_code == 0, result.output
    key = registration_key(settings.secret_key, district.slug)
    assert result.output.strip() == (
        f"https://wallet.district.example/lti/register/{district.slug}/{key}"
    )
    missing = await asyncio.to_thread(
        runner.invoke, app, ["lti", "config", "dynamic", "--district", "nope-nope"], env=env
    )
    assert missing.exit_code == 1
    assert "district_not_found" in missing.output
