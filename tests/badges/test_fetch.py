"""The guarded fetcher against real servers on 127.0.0.1.

Addresses that must never be contacted (10/8, the metadata service, ...) are only ever vetted:
the guard refuses them before any socket is opened, which is what these tests prove.
"""

from __future__ import annotations

import gzip
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ler_plugin.fetch import (
    FetchError,
    FetchPolicy,
    check_redirect,
    fetch,
    guarded_async_client,
    guarded_session,
    vet,
)
from tests.badges.ob2_host import Host, Route, tls_files

LOOPBACK = FetchPolicy(allow_insecure_loopback=True, timeout=2.0)
STRICT = FetchPolicy(timeout=2.0)
PUBLIC_IP = "93.184.216.34"


@pytest.fixture
def host() -> Iterator[Host]:
    with Host() as h:
        yield h


def gzip_bomb(size: int = 50 * 1024 * 1024) -> bytes:
    """`size` zero bytes, gzipped (about 50 KB for 50 MB), built without holding `size` bytes."""
    out = io.BytesIO()
    block = bytes(1024 * 1024)
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        for _ in range(size // len(block)):
            gz.write(block)
    return out.getvalue()


def test_loopback_is_fetched_when_allowed(host: Host) -> None:
    url = host.json("/a.json", {"ok": 1})
    assert fetch(url, policy=LOOPBACK).json() == {"ok": 1}
    gs = guarded_session(LOOPBACK)
    assert gs.session.get(url).json() == {"ok": 1}
    assert gs.log[0].status == 200


async def test_loopback_is_fetched_async_when_allowed(host: Host) -> None:
    url = host.json("/a.json", {"ok": 2})
    async with guarded_async_client(LOOPBACK) as client:
        assert (await client.get(url)).json() == {"ok": 2}


def test_loopback_is_refused_without_the_flag(host: Host) -> None:
    url = host.json("/a.json", {"ok": 1})
    with pytest.raises(FetchError) as err:
        fetch(url, policy=STRICT)
    assert err.value.code == "blocked_address"
    assert "127.0.0.1, this server itself (loopback)" in err.value.message
    with pytest.raises(FetchError) as err:
        guarded_session(STRICT).session.get(url)
    assert err.value.code == "blocked_address"
    assert host.seen == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://10.0.0.5/badge.json", "10.0.0.5, a private network"),
        ("http://172.16.3.4/badge.json", "private network"),
        ("http://192.168.1.10/badge.json", "private network"),
        ("http://100.64.1.1/badge.json", "carrier-grade NAT"),
        ("http://0.0.0.0/badge.json", "unspecified"),
        ("http://224.0.0.1/badge.json", "multicast"),
        ("http://240.0.0.1/badge.json", "reserved"),
        ("http://[::1]/badge.json", "loopback"),
        ("http://[::ffff:127.0.0.1]/badge.json", "loopback"),
        ("http://[::ffff:10.1.2.3]/badge.json", "private network"),
        ("http://[fe80::1]/badge.json", "link-local"),
        ("http://[fd12:3456::1]/badge.json", "unique local"),
        ("http://[2002:a00:1::1]/badge.json", "6to4"),
        ("http://[64:ff9b::a00:1]/badge.json", "NAT64"),
        ("http://[::]/badge.json", "unspecified"),
    ],
)
def test_non_public_addresses_are_refused(url: str, why: str) -> None:
    with pytest.raises(FetchError) as err:
        vet(url, STRICT)
    assert err.value.code == "blocked_address"
    assert why in err.value.message
    # The loopback flag opens loopback only.
    if "loopback" not in why:
        with pytest.raises(FetchError):
            vet(url, LOOPBACK)


def test_public_address_on_standard_ports_passes() -> None:
    policy = FetchPolicy(resolver=lambda host: [PUBLIC_IP])
    target = vet("http://badges.example.org/a/1", policy)
    assert target.addresses == (PUBLIC_IP,)
    assert vet("https://badges.example.org:443/a", policy).port == 443


def test_public_address_on_other_port_is_refused() -> None:
    policy = FetchPolicy(resolver=lambda host: [PUBLIC_IP])
    with pytest.raises(FetchError) as err:
        vet("http://badges.example.org:8080/a/1", policy)
    assert err.value.code == "blocked_port"


@pytest.mark.parametrize("loopback_flag", [False, True])
def test_a_name_resolving_to_public_and_loopback_is_refused(loopback_flag: bool) -> None:
    policy = FetchPolicy(
        allow_insecure_loopback=loopback_flag, resolver=lambda host: [PUBLIC_IP, "127.0.0.1"]
    )
    with pytest.raises(FetchError) as err:
        fetch("http://badges.example.org/a/1", policy=policy)
    assert err.value.code == "blocked_address"
    assert "127.0.0.1" in err.value.message


@pytest.mark.parametrize("url", ["ftp://example.org/a", "file:///etc/passwd", "gopher://x/"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(FetchError) as err:
        fetch(url, policy=LOOPBACK)
    assert err.value.code == "blocked_scheme"
    with pytest.raises(FetchError) as err:
        guarded_session(LOOPBACK).session.get(url)
    assert err.value.code == "blocked_scheme"


def test_https_to_http_redirect_is_refused() -> None:
    with pytest.raises(FetchError) as err:
        check_redirect("https://a.example.org/x", "http://a.example.org/x")
    assert err.value.code == "blocked_scheme"
    check_redirect("http://a.example.org/x", "https://a.example.org/x")


def test_connection_goes_to_the_vetted_address_with_the_name_in_host(host: Host) -> None:
    """The name is resolved once per hop; a second answer (DNS rebinding) is never used."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    policy = FetchPolicy(allow_insecure_loopback=True, resolver=lambda name: next(answers))
    host.json("/a.json", {"ok": 1})
    assert fetch(f"http://badge.test:{host.port}/a.json", policy=policy).json() == {"ok": 1}
    assert host.seen[0].headers["Host"] == f"badge.test:{host.port}"


def test_redirect_hops_are_vetted_again(host: Host) -> None:
    """A loopback host that may be fetched redirects to another local port that may not:
    the second server is live, so only the hop check stands between us and it."""
    with Host() as inner:
        inner.json("/secret", {"secret": True})
        policy = FetchPolicy(
            allow_insecure_loopback=True, loopback_ports=frozenset({host.port}), timeout=2.0
        )
        url = host.redirect("/a", f"http://localhost:{inner.port}/secret")
        with pytest.raises(FetchError) as err:
            fetch(url, policy=policy)
        assert err.value.code == "blocked_port"
        with pytest.raises(FetchError) as err:
            guarded_session(policy).session.get(url)
        assert err.value.code == "blocked_port"
        assert inner.seen == []
        # ... and the same hop to an allowed port is followed.
        open_policy = FetchPolicy(allow_insecure_loopback=True)
        assert fetch(url, policy=open_policy).json() == {"secret": True}


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/", "file:///etc/passwd"],
)
def test_redirect_to_forbidden_targets_is_refused(host: Host, location: str) -> None:
    url = host.redirect("/a", location)
    with pytest.raises(FetchError) as err:
        fetch(url, policy=LOOPBACK)
    assert err.value.code in ("blocked_address", "blocked_scheme")
    with pytest.raises(FetchError) as err:
        guarded_session(LOOPBACK).session.get(url)
    assert err.value.code in ("blocked_address", "blocked_scheme")


def test_redirect_loop_stops(host: Host) -> None:
    url = host.redirect("/loop", "/loop")
    with pytest.raises(FetchError) as err:
        fetch(url, policy=LOOPBACK)
    assert err.value.code == "too_many_redirects"


def test_gzip_bomb_is_stopped_by_the_size_cap_without_inflating_it(host: Host) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < 1024 * 1024
    url = host.route(
        "/bomb.json",
        Route(200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, bomb),
    )
    policy = FetchPolicy(allow_insecure_loopback=True, max_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as err:
            fetch(url, policy=policy)
        assert err.value.code == "too_large"
        with pytest.raises(FetchError) as err:
            guarded_session(policy).session.get(url)
        assert err.value.code == "too_large"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 1024 * 1024


def test_gzip_body_within_the_cap_is_decoded(host: Host) -> None:
    url = host.route(
        "/small.json",
        Route(200, {"Content-Encoding": "gzip"}, gzip.compress(b'{"a": 1}')),
    )
    assert fetch(url, policy=LOOPBACK).json() == {"a": 1}
    assert guarded_session(LOOPBACK).session.get(url).json() == {"a": 1}


def test_plain_body_over_the_cap_is_refused(host: Host) -> None:
    url = host.route("/big", Route(200, {}, b"x" * 2048))
    policy = FetchPolicy(allow_insecure_loopback=True, max_bytes=1024)
    with pytest.raises(FetchError) as err:
        fetch(url, policy=policy)
    assert err.value.code == "too_large"


def test_slow_server_times_out(host: Host) -> None:
    url = host.route("/slow", Route(200, {}, b"{}", delay=1.5))
    policy = FetchPolicy(allow_insecure_loopback=True, timeout=0.3)
    with pytest.raises(FetchError) as err:
        fetch(url, policy=policy)
    assert err.value.code == "timeout"
    with pytest.raises(FetchError) as err:
        guarded_session(policy).session.get(url)
    assert err.value.code == "timeout"


def test_dripping_server_is_stopped_by_the_overall_time_limit(host: Host) -> None:
    """Each byte arrives well within the read timeout; the whole body does not."""
    url = host.route("/drip", Route(200, {}, b"x" * 40, drip=0.05))
    policy = FetchPolicy(allow_insecure_loopback=True, timeout=0.5)
    with pytest.raises(FetchError) as err:
        fetch(url, policy=policy)
    assert err.value.code == "timeout"


def test_budget_is_per_verification_and_counts_hops(host: Host) -> None:
    url = host.json("/a.json", {})
    hop = host.redirect("/hop", "/a.json")
    policy = FetchPolicy(allow_insecure_loopback=True, max_requests=3)
    budget = policy.new_budget()
    fetch(url, policy=policy, budget=budget)
    fetch(hop, policy=policy, budget=budget)
    with pytest.raises(FetchError) as err:
        fetch(url, policy=policy, budget=budget)
    assert err.value.code == "budget_exhausted"
    fetch(url, policy=policy)  # a new verification has a new budget
    gs = guarded_session(policy)
    for _ in range(3):
        gs.session.get(url)
    with pytest.raises(FetchError) as err:
        gs.session.get(url)
    assert err.value.code == "budget_exhausted"


def test_http_error_carries_the_upstream_status(host: Host) -> None:
    url = host.route("/gone", Route(410, {}, b"gone"))
    with pytest.raises(FetchError) as err:
        fetch(url, policy=LOOPBACK)
    assert (err.value.code, err.value.upstream_status) == ("http_error", 410)
    gs = guarded_session(LOOPBACK)
    assert gs.session.get(url).status_code == 410
    assert gs.log[0].status == 410


def test_tls_is_checked_against_the_name_while_connecting_to_the_vetted_address(
    tmp_path: Path,
) -> None:
    ca, cert, key = tls_files(tmp_path, "badges.test")
    with Host(tls=(cert, key)) as tls_host:
        tls_host.json("/a.json", {"tls": True})
        policy = FetchPolicy(
            allow_insecure_loopback=True,
            tls_ca_file=ca,
            resolver=lambda name: ["127.0.0.1"],
        )
        url = f"https://badges.test:{tls_host.port}/a.json"
        assert fetch(url, policy=policy).json() == {"tls": True}
        assert guarded_session(policy).session.get(url).json() == {"tls": True}
        assert tls_host.seen[0].headers["Host"] == f"badges.test:{tls_host.port}"
        # Same address, another name: the certificate does not match it.
        other = f"https://other.test:{tls_host.port}/a.json"
        with pytest.raises(FetchError) as err:
            fetch(other, policy=policy)
        assert err.value.code == "connection_failed"
        with pytest.raises(FetchError) as err:
            guarded_session(policy).session.get(other)
        assert err.value.code == "connection_failed"


async def test_async_face_applies_the_same_rules(host: Host) -> None:
    url = host.route(
        "/bomb.json", Route(200, {"Content-Encoding": "gzip"}, gzip_bomb(8 * 1024 * 1024))
    )
    small = FetchPolicy(allow_insecure_loopback=True, max_bytes=65536)
    async with guarded_async_client(small) as client:
        with pytest.raises(FetchError) as err:
            await client.get(url)
        assert err.value.code == "too_large"
    async with guarded_async_client(STRICT) as client:
        with pytest.raises(FetchError) as err:
            await client.get(url)
        assert err.value.code == "blocked_address"
    hop = host.redirect("/hop", "http://169.254.169.254/")
    async with guarded_async_client(LOOPBACK) as client:
        with pytest.raises(FetchError) as err:
            await client.get(hop, follow_redirects=True)  # each hop vetted like the first
        assert err.value.code == "blocked_address"


def test_policy_follows_the_settings_flag() -> None:
    from ler_plugin.config import Settings

    assert FetchPolicy.from_settings(Settings(allow_insecure_loopback=True)).allow_insecure_loopback
    assert not FetchPolicy.from_settings(Settings()).allow_insecure_loopback
