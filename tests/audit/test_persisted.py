"""Persisted operations: the published files run by their SHA-256; in production only the
configured roles may send a free-form query."""

from __future__ import annotations

import asyncio
import hashlib

from ler_plugin.api.persisted import MANIFEST_NAME, OPERATIONS_DIR, load_operations, manifest_text
from ler_plugin.config import load_settings
from tests.audit.helpers import ask, codes, place
from tests.conftest import LiveServer, free_port

VIEWS_FILE = OPERATIONS_DIR / "my_share_views.graphql"
FREE_FORM = {"query": "{ viewer { roles } }"}


def _persisted(path=VIEWS_FILE) -> dict:  # type: ignore[no-untyped-def,type-arg]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}


def test_manifest_is_current() -> None:
    published = (OPERATIONS_DIR / MANIFEST_NAME).read_text()
    assert published == manifest_text(load_operations()), (
        "graphql/operations/manifest.json is stale: run `uv run ler-plugin export-schema`"
    )


def test_arbitrary_roles_default_by_environment() -> None:
    assert load_settings().arbitrary_operation_roles == {"*"}
    production = load_settings(
        environment="production",
        base_url="https://wallet.example.org",
        secret_key="x" * 40,
        allow_insecure_loopback=False,
    )
    assert production.arbitrary_operation_roles == {"operator", "district_admin"}
    assert load_settings(graphql_arbitrary_roles="teacher, provider").arbitrary_operation_roles == {
        "teacher",
        "provider",
    }


async def test_persisted_operation_runs_by_hash(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    where = await place(session_factory, live_server.settings)
    body = ask(live_server.url, where.teacher, _persisted())
    assert "errors" not in body, body
    assert body["data"]["myShareViews"]["edges"] == []

    unknown = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    assert codes(ask(live_server.url, where.teacher, unknown)) == {"persisted_query_not_found"}
    mismatch = {**_persisted(), "query": "{ viewer { roles } }"}
    assert codes(ask(live_server.url, where.teacher, mismatch)) == {"persisted_query_mismatch"}
    # Outside production anyone may still send a free-form query.
    assert ask(live_server.url, where.teacher, FREE_FORM)["data"]["viewer"]["roles"] == ["teacher"]


async def test_production_refuses_free_form_queries_from_other_roles(
    settings, engine, session_factory
) -> None:  # type: ignore[no-untyped-def]
    production = settings.model_copy(
        update={
            "environment": "production",
            "base_url": "https://wallet.example.org",
            "allow_insecure_loopback": False,
        }
    )
    server = LiveServer(production, port=free_port())
    await asyncio.to_thread(server.start)
    try:
        where = await place(session_factory, production)
        teacher_free = ask(server.url, where.teacher, FREE_FORM)
        assert codes(teacher_free) == {"arbitrary_operation_refused"}
        assert teacher_free.get("data") is None
        assert codes(ask(server.url, None, FREE_FORM)) == {"arbitrary_operation_refused"}

        by_hash = ask(server.url, where.teacher, _persisted())
        assert "errors" not in by_hash and by_hash["data"]["myShareViews"]["edges"] == []

        admin_free = ask(server.url, where.admin, FREE_FORM)
        assert "errors" not in admin_free, admin_free
        assert "district_admin" in admin_free["data"]["viewer"]["roles"]
    finally:
        await asyncio.to_thread(server.stop)
