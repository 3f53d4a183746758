"""`verify_path_or_url`: what the CLI runs on a file or URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ler_plugin.badges.verify import verify_path_or_url
from ler_plugin.fetch import FetchPolicy
from tests.badges.ob2_host import BadgeSite, Host, baked_svg, itxt, png, svg

POLICY = FetchPolicy(allow_insecure_loopback=True, timeout=5.0)


@pytest.fixture
def site() -> Iterator[BadgeSite]:
    with Host() as host:
        yield BadgeSite(host)


def test_url_and_files(site: BadgeSite, tmp_path: Path) -> None:
    url = site.hosted()
    assertion = json.dumps(site.assertion())
    site.add_key("k")
    files = {
        "badge.json": assertion.encode(),
        "badge.jws": site.signed("k").encode(),
        "badge.png": png(itxt("openbadges", assertion)),
        "badge.svg": baked_svg(assertion, verify=url),
    }
    assert verify_path_or_url(url, policy=POLICY).valid
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        report = verify_path_or_url(str(path), policy=POLICY)
        assert report.valid, (name, report.errors)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (svg("<script>fetch('/x')</script>"), "unsafe_svg"),
        (png(itxt("Software", "paint")), "no_badge_in_image"),
        (b"\x00\x01binary", "invalid_input"),
    ],
)
def test_unreadable_files_give_a_failed_report(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    report = verify_path_or_url(str(path), policy=POLICY)
    assert not report.valid
    assert report.error_codes == [code]


def test_missing_file(tmp_path: Path) -> None:
    report = verify_path_or_url(str(tmp_path / "nope.png"), policy=POLICY)
    assert report.error_codes == ["invalid_input"]


def test_ob3_credential_goes_to_the_ob3_verifier_or_says_it_cannot(tmp_path: Path) -> None:
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
    }
    path = tmp_path / "cred.json"
    path.write_text(json.dumps(credential))
    report = verify_path_or_url(str(path), policy=POLICY)
    assert report.format == "ob3"
    assert not report.valid  # unsigned: invalid either way
