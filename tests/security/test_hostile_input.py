"""Hostile input gets a clear, coded error: never an unexplained exception, never a 500."""

from __future__ import annotations

import json
import struct
import zlib

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ler_plugin.badges.parse import parse_badge
from ler_plugin.badges.verify import verify_badge
from ler_plugin.errors import LerError
from ler_plugin.fetch import FetchPolicy

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in chunks:
        out += (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )
    return out


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400), json_values.map(json.dumps)))
def test_badge_parser_answers_or_names_the_problem(raw: bytes | str) -> None:
    try:
        parse_badge(raw, max_bytes=1 << 20)
    except LerError as exc:
        assert exc.code and exc.message


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([b"iTXt", b"tEXt", b"zTXt", b"IHDR"]))
def test_png_chunks_with_garbage_are_refused_cleanly(body: bytes, kind: bytes) -> None:
    try:
        parse_badge(_png([(kind, body)]), max_bytes=1 << 20)
    except LerError as exc:
        assert exc.code


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(
            ["@context", "type", "id", "issuer", "badge", "recipient", "credentialSubject", "proof"]
        ),
        json_values,
        max_size=6,
    )
)
def test_verifier_reports_on_any_json_without_raising(document: dict[str, object]) -> None:
    try:
        badge = parse_badge(json.dumps(document), max_bytes=1 << 20)
    except LerError:
        return
    report = verify_badge(badge, policy=FetchPolicy(allow_insecure_loopback=False))
    assert report.valid is False or not report.errors


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.one_of(
        st.text(max_size=200),
        st.builds(lambda n: "{" * n + "}" * n, st.integers(1, 3000)),
        st.builds(
            lambda s: (
                "{ wallet { records(first: 5, search: " + json.dumps(s) + ") { totalCount } } }"
            ),
            st.text(max_size=100),
        ),
    ),
    variables=st.one_of(st.none(), json_values),
)
def test_graphql_never_answers_500(live_server, query: str, variables: object) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{live_server.url}/graphql", json={"query": query, "variables": variables}
    )
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert "errors" in body or "data" in body
    assert "Traceback" not in response.text


def test_malformed_http_bodies_get_400_not_500(live_server) -> None:  # type: ignore[no-untyped-def]
    for content, ctype in (
        (b"{not json", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b'{"query": 12}', "application/json"),
        (b"[" * 10000 + b"]" * 10000, "application/json"),
        (b"query=%7B", "application/x-www-form-urlencoded"),
    ):
        response = httpx.post(
            f"{live_server.url}/graphql", content=content, headers={"content-type": ctype}
        )
        assert 400 <= response.status_code < 500, (
            content[:20],
            response.status_code,
            response.text[:200],
        )
