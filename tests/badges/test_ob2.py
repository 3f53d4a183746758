"""OB 2.0 verification end to end: badges served from 127.0.0.1, real RSA signatures."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ler_plugin.badges.ob2 import recipient_matches, run_badgecheck, verify_ob2
from ler_plugin.badges.parse import BadgeInput, parse_badge
from ler_plugin.badges.report import VerificationReport
from ler_plugin.fetch import FetchPolicy
from tests.badges.ob2_host import (
    TEACHER,
    BadgeSite,
    Host,
    Route,
    baked_svg,
    hashed_identity,
    itxt,
    png,
)
from tests.badges.test_fetch import gzip_bomb

POLICY = FetchPolicy(allow_insecure_loopback=True, timeout=5.0)


@pytest.fixture
def host() -> Iterator[Host]:
    with Host() as h:
        yield h


@pytest.fixture
def site(host: Host) -> BadgeSite:
    return BadgeSite(host, revocation_list=True)


def verify(
    submitted: str | bytes | dict, identities: list[str] | None = None
) -> VerificationReport:
    return verify_ob2(parse_badge(submitted), policy=POLICY, recipient_identities=identities)


def badgecheck_valid(submitted: str | bytes) -> bool:
    result, _ = run_badgecheck(parse_badge(submitted), POLICY)
    return bool(result["report"]["valid"])


def test_hosted_badge_is_valid_and_summarised(site: BadgeSite) -> None:
    url = site.hosted()
    report = verify(url, [TEACHER])
    assert report.valid, report.errors
    assert report.assertion_id == url
    assert report.issuer.name == "Example PD Provider"
    assert report.badge_class.name == "Math PD: Number Talks"
    assert report.badge_class.criteria == "Attend all sessions."
    assert report.badge_class.tags == ["math", "pd"]
    assert report.badge_class.alignments[0]["targetName"] == "CCSS.MATH.PRACTICE.MP3"
    assert report.recipient.hashed and report.recipient.salt == "s4lt"
    assert report.issued_on == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert report.raw is not None and report.raw["verification"] == {"type": "hosted"}
    assert "recipient" in report.checks
    assert VerificationReport.from_json(report.to_json()) == report


def test_no_verification_contacts_anything_but_the_badge_host(host: Host) -> None:
    """Every URL in these badges is an IP literal: any host name reaching the resolver
    (w3id.org for a context, openbadgespec.org for a schema) would be a fetch we forbid."""
    looked_up: list[str] = []

    def resolver(name: str) -> list[str]:
        looked_up.append(name)
        raise OSError("no network")

    policy = FetchPolicy(allow_insecure_loopback=True, resolver=resolver)
    site = BadgeSite(host, revocation_list=True)
    site.add_key("k1")
    ext = {
        "@context": "https://w3id.org/openbadges/extensions/exampleExtension/context.json",
        "type": ["Extension", "extensions:ExampleExtension"],
        "exampleProperty": "hello",
    }
    for submitted in (
        site.hosted("x", **{"extensions:exampleExtension": ext}),
        site.signed("k1"),
    ):
        report = verify_ob2(parse_badge(submitted), policy=policy)
        assert report.valid, report.errors
    assert looked_up == []
    assert {s.path.split("/")[1] for s in host.seen} <= {
        "assertions",
        "badges",
        "issuer.json",
        "keys",
        "revocations.json",
    }


def test_signed_badge_with_rotated_keys(site: BadgeSite) -> None:
    site.add_key("2024")
    old = site.signed("2024")
    site.add_key("2025")  # rotation: the issuer now lists both keys
    new = site.signed("2025")
    for token in (old, new):
        report = verify(token, [TEACHER])
        assert report.valid, report.errors
        assert "signature" in report.checks


def test_signature_by_a_key_the_issuer_does_not_list(site: BadgeSite) -> None:
    site.add_key("listed")
    site.add_key("dropped")
    token = site.signed("dropped")
    site.keys.pop("dropped")
    site.publish()  # the issuer no longer lists that key
    report = verify(token)
    assert not report.valid
    assert "key_not_authorized" in report.error_codes


def test_tampered_signed_badge(site: BadgeSite) -> None:
    site.add_key("k")
    header, payload, signature = site.signed("k").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["issuedOn"] = "2020-01-01T00:00:00Z"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    report = verify(f"{header}.{forged}.{signature}")
    assert not report.valid
    assert "bad_signature" in report.error_codes


def test_signed_badge_with_another_algorithm_is_refused(site: BadgeSite) -> None:
    site.add_key("k")
    _, payload, signature = site.signed("k").split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"HS256"}').rstrip(b"=").decode()
    assert verify(f"{header}.{payload}.{signature}").error_codes == ["bad_signature"]


def test_baked_png_and_svg(site: BadgeSite) -> None:
    url = site.hosted()
    assertion = json.dumps(site.assertion())
    site.add_key("k")
    token = site.signed("k")
    for image in (
        png(itxt("openbadges", assertion)),
        png(itxt("openbadges", token)),
        baked_svg(assertion, verify=url),
        baked_svg(token, verify=token),
    ):
        report = verify(image, [TEACHER])
        assert report.valid, report.errors


def test_revoked_flag_on_hosted_assertion(site: BadgeSite) -> None:
    url = site.hosted("r", revoked=True, revocationReason="issued in error")
    assert badgecheck_valid(url)  # badgecheck ignores the flag
    report = verify(url)
    assert not report.valid and report.revoked
    assert report.errors[0].code == "revoked"
    assert "issued in error" in report.errors[0].message


@pytest.mark.parametrize("shape", ["string", "object", "uid"])
def test_revocation_list_with_one_entry(site: BadgeSite, shape: str) -> None:
    site.add_key("k")
    uid = "pd-2025-0042"
    token = site.signed("k", uid=uid)
    assertion_id = parse_badge(token).data["id"]  # type: ignore[index]
    entry = {
        "string": assertion_id,
        "object": {"id": assertion_id, "revocationReason": "duplicate"},
        "uid": {"uid": uid},
    }[shape]
    site.revoke(entry)
    if shape != "uid":
        # badgecheck iterates a lone entry character by character and finds nothing
        assert badgecheck_valid(token)
    report = verify(token)
    assert report.revoked and not report.valid
    assert "revoked" in report.error_codes


def test_revocation_list_with_many_entries(site: BadgeSite) -> None:
    site.add_key("k")
    token = site.signed("k")
    others = [f"urn:uuid:00000000-0000-4000-8000-00000000000{i}" for i in range(5)]
    site.revoke(*others)
    assert verify(token).valid
    site.revoke(*others, {"id": parse_badge(token).data["id"], "revocationReason": "x"})  # type: ignore[index]
    report = verify(token)
    assert report.revoked and report.error_codes == ["revoked"]


def test_http_410_means_revoked(host: Host, site: BadgeSite) -> None:
    url = host.route("/assertions/gone.json", Route(410, {"Content-Type": "text/html"}, b"Gone"))
    report = verify(url)
    assert report.revoked
    assert report.error_codes == ["gone"]


@pytest.mark.parametrize("body", [b"<h1>Not found</h1>", b'{"error": "not found"}'])
def test_http_404_is_not_found(host: Host, site: BadgeSite, body: bytes) -> None:
    url = host.route("/assertions/none.json", Route(404, {"Content-Type": "text/html"}, body))
    report = verify(url)
    assert report.error_codes == ["not_found"]
    assert not report.revoked


def test_expired(site: BadgeSite) -> None:
    report = verify(site.hosted("e", expires="2025-06-01T00:00:00Z"))
    assert report.expired and report.error_codes == ["expired"]
    assert report.expires_at == datetime(2025, 6, 1, tzinfo=UTC)
    later = verify(site.hosted("f", expires="2099-01-01T00:00:00Z"))
    assert later.valid and not later.expired


def test_wrong_recipient(site: BadgeSite) -> None:
    report = verify(site.hosted(), ["someone.else@example.org"])
    assert report.error_codes == ["recipient_mismatch"]


@pytest.mark.parametrize("alg", ["sha256", "md5"])
@pytest.mark.parametrize("typed", ["teacher@example.org", "TEACHER@EXAMPLE.ORG", TEACHER])
def test_hashed_recipient_with_salt(site: BadgeSite, alg: str, typed: str) -> None:
    """Issuers hash the lower-cased address (any case typed here matches) or the address as
    they had it (that form matches); the digest itself may be in either case."""
    for hashed_as in (TEACHER.lower(), typed):
        digest = hashed_identity(hashed_as, "NaCl", alg)
        for identity in (digest, f"{alg}${digest.split('$')[1].upper()}"):
            recipient = {"type": "email", "hashed": True, "salt": "NaCl", "identity": identity}
            assert recipient_matches(recipient, [typed])
            assert not recipient_matches(recipient, ["other@example.org"])
    lowered = site.recipient(TEACHER.lower(), hashed=alg, salt="NaCl")
    assert verify(site.hosted("h", recipient=lowered), [typed]).valid
    unsalted = site.recipient(TEACHER.lower(), hashed=alg, salt="")
    del unsalted["salt"]
    assert verify(site.hosted("u", recipient=unsalted), [typed]).valid


def test_plain_recipient(site: BadgeSite) -> None:
    url = site.hosted("p", recipient=site.recipient(hashed=None))
    assert verify(url, ["teacher@example.org"]).valid
    assert verify(url, ["x@example.org"]).error_codes == ["recipient_mismatch"]


def test_extension_is_validated_against_the_shipped_schema(site: BadgeSite) -> None:
    ext = {
        "@context": "https://w3id.org/openbadges/extensions/exampleExtension/context.json",
        "type": ["Extension", "extensions:ExampleExtension"],
        "exampleProperty": "hello",
    }
    assert verify(site.hosted("x", **{"extensions:exampleExtension": ext})).valid
    del ext["exampleProperty"]
    report = verify(site.hosted("y", **{"extensions:exampleExtension": ext}))
    assert report.error_codes == ["extension_invalid"]


def test_upgraded_1_0_and_1_1_and_0_5_badges(host: Host, site: BadgeSite) -> None:
    v1 = "https://w3id.org/openbadges/v1"
    host.json(
        "/v1/badge.json",
        {
            "name": "Old",
            "description": "d",
            "image": site.image_url,
            "criteria": host.url("/c"),
            "issuer": host.url("/v1/issuer.json"),
        },
    )
    host.json("/v1/issuer.json", {"name": "Old issuer", "url": host.url("/")})
    url_10 = host.json(
        "/v1/a.json",
        {
            "uid": "a1",
            "recipient": site.recipient(),
            "badge": host.url("/v1/badge.json"),
            "verify": {"type": "hosted", "url": host.url("/v1/a.json")},
            "issuedOn": "2024-01-01",
        },
    )
    host.json(
        "/v11/badge.json",
        {
            "@context": v1,
            "type": "BadgeClass",
            "id": host.url("/v11/badge.json"),
            "name": "B11",
            "description": "d",
            "image": site.image_url,
            "criteria": host.url("/c"),
            "issuer": host.url("/v11/issuer.json"),
        },
    )
    host.json(
        "/v11/issuer.json",
        {
            "@context": v1,
            "type": "Issuer",
            "id": host.url("/v11/issuer.json"),
            "name": "I11",
            "url": host.url("/"),
        },
    )
    url_11 = host.json(
        "/v11/a.json",
        {
            "@context": v1,
            "type": "Assertion",
            "id": host.url("/v11/a.json"),
            "uid": "a2",
            "recipient": site.recipient(),
            "badge": host.url("/v11/badge.json"),
            "verify": {"type": "hosted", "url": host.url("/v11/a.json")},
            "issuedOn": "2024-01-01T00:00:00Z",
        },
    )
    url_05 = host.json(
        "/v05/a.json",
        {
            "recipient": hashed_identity(TEACHER, "x"),
            "salt": "x",
            "issued_on": "2012-01-01",
            "badge": {
                "version": "0.5.0",
                "name": "B05",
                "image": site.image_url,
                "description": "d",
                "criteria": host.url("/c"),
                "issuer": {"origin": host.base, "name": "I05"},
            },
        },
    )
    for url, name in ((url_10, "Old"), (url_11, "B11"), (url_05, "B05")):
        report = verify(url, [TEACHER])
        assert report.valid, (url, report.errors)
        assert report.badge_class.name == name


LONG_SVG = (
    b'<?xml version="1.0"?>\n<!-- ' + b"x" * 2000 + b" -->\n"
    b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>\n<!-- end -->\n'
)


@pytest.mark.parametrize(
    "image",
    [
        Route(200, {"Content-Type": "image/svg+xml"}, LONG_SVG),  # "unsupported" to badgecheck
        Route(200, {}, png()),  # no Content-Type: "could not fetch" to badgecheck
    ],
)
def test_good_images_badgecheck_rejects_are_accepted(
    host: Host, site: BadgeSite, image: Route
) -> None:
    host.route("/badges/pd-math.png", image)
    url = site.hosted()
    assert not badgecheck_valid(url)
    assert verify(url).valid


@pytest.mark.parametrize("body", [b"<html><body>hi</body></html>", b"plain text", b""])
def test_image_that_is_not_an_image(host: Host, site: BadgeSite, body: bytes) -> None:
    host.route("/badges/pd-math.png", Route(200, {"Content-Type": "text/html"}, body))
    report = verify(site.hosted())
    assert report.error_codes == ["invalid_image"]
    assert "is not a PNG or SVG image" in report.errors[0].message


def test_decompression_bomb_assertion(host: Host, site: BadgeSite) -> None:
    url = host.route(
        "/assertions/bomb.json",
        Route(200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, gzip_bomb()),
    )
    policy = FetchPolicy(allow_insecure_loopback=True, max_bytes=1024 * 1024)
    report = verify_ob2(parse_badge(url), policy=policy)
    assert report.error_codes == ["too_large"]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.5/assertions/1.json",
        "http://[::ffff:127.0.0.1]/assertions/1.json",
    ],
)
def test_ssrf_targets_give_a_clear_error(url: str) -> None:
    report = verify_ob2(parse_badge(url), policy=FetchPolicy())
    assert report.error_codes == ["fetch_blocked"]
    assert "may not fetch" in report.errors[0].message


def test_badge_class_on_a_private_address_is_blocked(site: BadgeSite) -> None:
    report = verify(site.hosted("p", badge="http://10.1.2.3/badge.json"))
    assert "fetch_blocked" in report.error_codes
    assert not report.valid


def test_public_url_redirecting_to_localhost(host: Host) -> None:
    """The badge host may be fetched (its port is the one allowed); it redirects to another
    local service, which is live, and must not be reached."""
    with Host() as internal:
        internal.json("/admin", {"@context": "https://w3id.org/openbadges/v2"})
        url = host.redirect("/assertions/1.json", f"http://localhost:{internal.port}/admin")
        policy = FetchPolicy(allow_insecure_loopback=True, loopback_ports=frozenset({host.port}))
        report = verify_ob2(parse_badge(url), policy=policy)
        assert report.error_codes == ["fetch_blocked"]
        assert internal.seen == []


def test_name_resolving_to_public_and_loopback(host: Host) -> None:
    policy = FetchPolicy(resolver=lambda name: ["93.184.216.34", "127.0.0.1"])
    report = verify_ob2(parse_badge("http://badges.example.org/a/1.json"), policy=policy)
    assert report.error_codes == ["fetch_blocked"]
    assert "127.0.0.1" in report.errors[0].message


def test_budget_exhausted_is_reported(site: BadgeSite) -> None:
    policy = FetchPolicy(allow_insecure_loopback=True, max_requests=2)
    report = verify_ob2(parse_badge(site.hosted()), policy=policy)
    assert "budget_exhausted" in report.error_codes


def test_credential_of_another_format_is_not_taken(site: BadgeSite) -> None:
    badge = BadgeInput(kind="json", format="ob3", data={})
    assert verify_ob2(badge, policy=POLICY).error_codes == ["unsupported_format"]


def test_unknown_json_ld_context_is_named_not_fetched(host: Host, site: BadgeSite) -> None:
    context_url = host.json("/ctx.json", {"@context": {"x": "http://example.org/x"}})
    report = verify(site.hosted("c", **{"@context": context_url}))
    assert report.error_codes == ["unsupported_context"]
    assert context_url in report.errors[0].message
    assert host.hits("/ctx.json") == 0


def test_badgecheck_crashes_are_reported_plainly(host: Host) -> None:
    # JSON that is no badge at all makes a badgecheck task raise TypeError.
    url = host.json("/assertions/odd.json", {"error": "nothing here"})
    report = verify(url)
    assert not report.valid
    assert any("could not be checked" in e.message for e in report.errors), report.errors
    assert all("<class" not in e.message for e in report.errors)
