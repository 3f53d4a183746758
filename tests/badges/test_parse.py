from __future__ import annotations

import base64
import json

import pytest

from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.parse import parse_badge, parse_png, parse_svg
from tests.badges.ob2_host import baked_svg, itxt, png, svg, text_chunk

ASSERTION = {
    "@context": "https://w3id.org/openbadges/v2",
    "type": "Assertion",
    "id": "https://badges.example.org/a/1",
}
CREDENTIAL = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
}
CLR = {**CREDENTIAL, "type": ["VerifiableCredential", "ClrCredential"]}


def b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def compact(header: dict, payload: dict) -> str:
    return f"{b64(header)}.{b64(payload)}.c2ln"


def test_url() -> None:
    got = parse_badge("  https://badges.example.org/a/1 ")
    assert (got.kind, got.format, got.url) == ("url", "ob2", "https://badges.example.org/a/1")


def test_assertion_json_text_and_object() -> None:
    for submitted in (json.dumps(ASSERTION), ASSERTION):
        got = parse_badge(submitted)
        assert (got.kind, got.format, got.data) == ("json", "ob2", ASSERTION)


def test_ob1_json_without_context_is_ob2_family() -> None:
    got = parse_badge({"recipient": "sha256$abc", "badge": {"name": "x"}})
    assert got.format == "ob2"


def test_ob3_and_clr_credentials() -> None:
    assert parse_badge(CREDENTIAL).format == "ob3"
    assert parse_badge(CLR).format == "clr2"


def test_signed_assertion_jws() -> None:
    token = compact({"alg": "RS256"}, ASSERTION)
    got = parse_badge(token)
    assert (got.kind, got.format, got.jws, got.data) == ("jws", "ob2", token, ASSERTION)


def test_vc_jwt() -> None:
    token = compact({"alg": "ES256", "typ": "JWT"}, {"vc": CREDENTIAL, "iss": "did:web:x"})
    got = parse_badge(token)
    assert (got.kind, got.format) == ("jwt", "ob3")
    token2 = compact({"alg": "ES256", "typ": "vc+jwt"}, CLR)
    assert parse_badge(token2).format == "clr2"


def test_bad_json_and_garbage() -> None:
    with pytest.raises(BadgeError) as err:
        parse_badge("{not json")
    assert err.value.code == "invalid_json"
    with pytest.raises(BadgeError) as err:
        parse_badge("hello there")
    assert err.value.code == "invalid_input"
    with pytest.raises(BadgeError) as err:
        parse_badge("a.b.c")
    assert err.value.code == "invalid_input"


def test_baked_png_ob2_itxt_hosted_and_signed() -> None:
    got = parse_badge(png(itxt("openbadges", json.dumps(ASSERTION))))
    assert (got.kind, got.baked_in, got.data) == ("json", "png", ASSERTION)
    token = compact({"alg": "RS256"}, ASSERTION)
    got = parse_png(png(itxt("openbadges", token, compressed=True)))
    assert (got.kind, got.jws) == ("jws", token)
    got = parse_png(png(text_chunk("openbadges", "https://badges.example.org/a/1")))
    assert (got.kind, got.url) == ("url", "https://badges.example.org/a/1")


def test_baked_png_ob3() -> None:
    got = parse_badge(png(itxt("openbadgecredential", json.dumps(CREDENTIAL))))
    assert (got.kind, got.format, got.baked_in) == ("json", "ob3", "png")


def test_png_without_badge() -> None:
    with pytest.raises(BadgeError) as err:
        parse_badge(png(itxt("Comment", "just a picture")))
    assert err.value.code == "no_badge_in_image"


def test_corrupt_and_truncated_png() -> None:
    good = png(itxt("openbadges", json.dumps(ASSERTION)))
    with pytest.raises(BadgeError) as err:
        parse_badge(good[:40])
    assert err.value.code == "invalid_image"
    corrupt = bytearray(good)
    corrupt[60] ^= 0xFF
    with pytest.raises(BadgeError) as err:
        parse_badge(bytes(corrupt))
    assert err.value.code == "invalid_image"


def test_images_over_the_cap() -> None:
    with pytest.raises(BadgeError) as err:
        parse_badge(png(itxt("openbadges", "x" * 5000)), max_bytes=1000)
    assert err.value.code == "image_too_large"
    bomb = png(itxt("openbadges", "{" + " " * 5_000_000 + "}", compressed=True))
    assert len(bomb) < 20_000
    with pytest.raises(BadgeError) as err:
        parse_badge(bomb, max_bytes=100_000)
    assert err.value.code == "image_too_large"


def test_baked_svg_hosted_uses_verify_url() -> None:
    got = parse_badge(baked_svg(json.dumps(ASSERTION), verify=ASSERTION["id"]))
    assert (got.kind, got.url, got.data, got.baked_in) == ("url", ASSERTION["id"], ASSERTION, "svg")


def test_baked_svg_signed_in_verify_attribute() -> None:
    token = compact({"alg": "RS256"}, ASSERTION)
    image = svg(f'<openbadges:assertion verify="{token}"/>')
    got = parse_svg(image)
    assert (got.kind, got.jws) == ("jws", token)


def test_baked_svg_ob3_credential() -> None:
    image = svg(
        f"<openbadges:credential><![CDATA[{json.dumps(CREDENTIAL)}]]></openbadges:credential>"
    )
    assert parse_badge(image).format == "ob3"
    ns = 'xmlns:ob3="https://purl.imsglobal.org/ob/v3p0"'
    token = compact({"alg": "ES256"}, {"vc": CREDENTIAL})
    image = svg(f'<ob3:credential verify="{token}"/>', attrs=ns)
    assert parse_badge(image).kind == "jwt"


@pytest.mark.parametrize(
    ("image", "what"),
    [
        (svg("<script>alert(1)</script>"), "<script>"),
        (svg("", attrs='onload="alert(1)"'), "onload"),
        (svg('<a href=" java script:alert(1)"><text>x</text></a>'), "javascript"),
        (svg('<a xmlns:x="http://www.w3.org/1999/xlink" x:href="javascript:x()"/>'), "javascript"),
        (svg("<foreignObject><p>hi</p></foreignObject>"), "foreignObject"),
    ],
)
def test_svg_with_script_is_refused(image: bytes, what: str) -> None:
    with pytest.raises(BadgeError) as err:
        parse_badge(image)
    assert err.value.code == "unsafe_svg"


def test_svg_with_doctype_or_entities_is_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg">&b;</svg>'
    )
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'
    )
    for image in (laughs, xxe):
        with pytest.raises(BadgeError) as err:
            parse_badge(image)
        assert err.value.code == "unsafe_svg"


def test_svg_without_badge_and_broken_svg() -> None:
    with pytest.raises(BadgeError) as err:
        parse_badge(svg())
    assert err.value.code == "no_badge_in_image"
    with pytest.raises(BadgeError) as err:
        parse_badge(b"<svg><g></svg>")
    assert err.value.code == "invalid_image"
    with pytest.raises(BadgeError) as err:
        parse_badge(b"<html></html>")
    assert err.value.code == "invalid_image"
