"""Turn what a provider or teacher submits into a typed `BadgeInput`.

Accepted: a hosted assertion URL; assertion JSON (OB 2.0 / 1.x); a signed assertion (JWS
compact); an OB 3.0 or CLR 2.0 credential (JSON, or a VC-JWT); and any of these baked into a
PNG (iTXt chunk ``openbadges`` for OB 2.0, ``openbadgecredential`` for OB 3.0) or an SVG
(``openbadges:assertion`` / ``openbadges:credential``). Nothing here fetches or verifies.

PNG chunks are read here (no imaging library). SVG is parsed only after refusing any DOCTYPE
or ENTITY declaration (so no entity expansion, no external entities), and an SVG that carries
script (a ``<script>`` element, an ``on*`` handler, a ``javascript:`` link, ``foreignObject``)
is refused: we may show the image back to people.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree import ElementTree

from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.report import Format

Kind = Literal["url", "json", "jws", "jwt"]
Container = Literal["png", "svg"]

DEFAULT_MAX_IMAGE_BYTES = 5 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD_OB2 = "openbadges"
PNG_KEYWORD_OB3 = "openbadgecredential"

_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class BadgeInput:
    """A submitted badge, typed. `kind` says what to verify:

    - ``url``: a hosted assertion (`url`; `data` holds baked JSON when there was any),
    - ``json``: a JSON document (`data`),
    - ``jws``: an OB 2.0 signed assertion (`jws`; `data` its unverified payload),
    - ``jwt``: an OB 3.0 / CLR 2.0 VC-JWT (`jws`; `data` its unverified payload).
    """

    kind: Kind
    format: Format
    url: str | None = None
    data: dict[str, Any] | None = None
    jws: str | None = None
    baked_in: Container | None = None


def parse_badge(
    submitted: str | bytes | dict[str, Any], *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES
) -> BadgeInput:
    """Detect what `submitted` is (text, JSON object, PNG or SVG bytes) and parse it."""
    if isinstance(submitted, dict):
        return parse_json(submitted)
    if isinstance(submitted, bytes):
        if len(submitted) > max_bytes:
            raise BadgeError(
                "image_too_large",
                f"the file is {len(submitted) // 1024} KB; at most {max_bytes // 1024} KB is taken",
            )
        if submitted.startswith(PNG_SIGNATURE):
            return parse_png(submitted, max_bytes=max_bytes)
        try:
            text = submitted.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadgeError(
                "invalid_input", "the file is neither a PNG image nor UTF-8 text"
            ) from None
        return parse_text(text, max_bytes=max_bytes)
    return parse_text(submitted, max_bytes=max_bytes)


def parse_text(text: str, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> BadgeInput:
    """A URL, JSON text, a JWS / VC-JWT, or SVG markup."""
    text = text.strip()
    if not text:
        raise BadgeError("invalid_input", "nothing was submitted")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BadgeError("invalid_json", f"the badge JSON does not parse ({exc})") from None
        return parse_json(data)
    if text.startswith("<"):
        return parse_svg(text.encode("utf-8"), max_bytes=max_bytes)
    if re.match(r"^https?://\S+$", text, re.IGNORECASE):
        return BadgeInput(kind="url", format="ob2", url=text)
    if _COMPACT_JWS.match(text):
        return _parse_compact(text)
    raise BadgeError(
        "invalid_input",
        "not a badge: expected a URL, badge JSON, a signed badge (JWS), or a PNG or SVG image",
    )


def parse_json(data: Any) -> BadgeInput:
    if not isinstance(data, dict):
        raise BadgeError("invalid_json", "the badge JSON must be an object")
    return BadgeInput(kind="json", format=format_of(data), data=data)


def format_of(data: dict[str, Any]) -> Format:
    """OB 3.0 and CLR 2.0 are Verifiable Credentials; anything else is OB 2.0 (or 1.x)."""
    contexts = data.get("@context")
    contexts = contexts if isinstance(contexts, list) else [contexts]
    types = data.get("type")
    types = types if isinstance(types, list) else [types]
    is_vc = "VerifiableCredential" in types or any(
        isinstance(c, str) and ("/credentials/v" in c or "/2018/credentials" in c) for c in contexts
    )
    if not is_vc:
        return "ob2"
    if any(isinstance(t, str) and "ClrCredential" in t for t in types):
        return "clr2"
    return "ob3"


def _b64_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def _parse_compact(token: str) -> BadgeInput:
    header_b64, payload_b64, _ = token.split(".")
    try:
        header = _b64_json(header_b64)
        payload = _b64_json(payload_b64)
    except (ValueError, UnicodeDecodeError):
        raise BadgeError(
            "invalid_input", "the signed badge (JWS) does not decode to a JSON header and payload"
        ) from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise BadgeError("invalid_input", "the signed badge (JWS) payload is not a JSON object")
    if isinstance(payload.get("vc"), dict):
        return BadgeInput(kind="jwt", format=format_of(payload["vc"]), jws=token, data=payload)
    fmt = format_of(payload)
    kind: Kind = "jws" if fmt == "ob2" else "jwt"
    return BadgeInput(kind=kind, format=fmt, jws=token, data=payload)


# --- PNG ---------------------------------------------------------------------------------------


def _png_text_chunks(data: bytes, max_bytes: int) -> list[tuple[str, str]]:
    """(keyword, text) of every tEXt, zTXt and iTXt chunk, checking lengths and CRCs."""
    found: list[tuple[str, str]] = []
    pos = len(PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise BadgeError("invalid_image", "the PNG file is truncated")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        end = pos + 12 + length
        if end > len(data):
            raise BadgeError("invalid_image", "the PNG file is truncated")
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(ctype + body) != crc:
            raise BadgeError("invalid_image", f"the PNG chunk {ctype!r} is corrupt (bad CRC)")
        if ctype in (b"tEXt", b"zTXt", b"iTXt"):
            found.append(_text_chunk(ctype, body, max_bytes))
        if ctype == b"IEND":
            break
        pos = end
    return found


def _inflate(data: bytes, max_bytes: int) -> bytes:
    z = zlib.decompressobj()
    try:
        out = z.decompress(data, max_bytes + 1)
    except zlib.error:
        raise BadgeError("invalid_image", "a compressed PNG text chunk is corrupt") from None
    if len(out) > max_bytes:
        raise BadgeError("image_too_large", "a PNG text chunk inflates beyond the size limit")
    return out


def _text_chunk(ctype: bytes, body: bytes, max_bytes: int) -> tuple[str, str]:
    keyword, sep, rest = body.partition(b"\0")
    if not sep:
        raise BadgeError("invalid_image", f"a PNG {ctype.decode()} chunk has no keyword")
    name = keyword.decode("latin-1")
    if ctype == b"tEXt":
        return name, rest.decode("latin-1")
    if ctype == b"zTXt":
        return name, _inflate(rest[1:], max_bytes).decode("latin-1")
    # iTXt: compression flag, compression method, language tag \0, translated keyword \0, text
    if len(rest) < 2:
        raise BadgeError("invalid_image", "a PNG iTXt chunk is truncated")
    compressed = rest[0] == 1
    _, _, after_lang = rest[2:].partition(b"\0")
    _, _, text = after_lang.partition(b"\0")
    if compressed:
        text = _inflate(text, max_bytes)
    try:
        return name, text.decode("utf-8")
    except UnicodeDecodeError:
        raise BadgeError("invalid_image", "a PNG iTXt chunk is not UTF-8") from None


def parse_png(data: bytes, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> BadgeInput:
    if len(data) > max_bytes:
        raise BadgeError("image_too_large", f"the image is larger than {max_bytes // 1024} KB")
    if not data.startswith(PNG_SIGNATURE):
        raise BadgeError("invalid_image", "the file is not a PNG image")
    chunks = dict(reversed(_png_text_chunks(data, max_bytes)))  # first chunk of a keyword wins
    for keyword in (PNG_KEYWORD_OB2, PNG_KEYWORD_OB3):
        if keyword in chunks:
            return _baked(parse_text(chunks[keyword], max_bytes=max_bytes), "png")
    raise BadgeError(
        "no_badge_in_image", "the PNG image has no badge baked into it (no openbadges chunk)"
    )


# --- SVG ---------------------------------------------------------------------------------------


def _local(name: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


def _refuse_unsafe(root: ElementTree.Element) -> None:
    for el in root.iter():
        _, tag = _local(str(el.tag))
        if tag.lower() in ("script", "foreignobject"):
            raise BadgeError("unsafe_svg", f"the SVG image contains a <{tag}> element")
        for attr, value in el.attrib.items():
            _, local = _local(attr)
            if local.lower().startswith("on"):
                raise BadgeError("unsafe_svg", f"the SVG image has an event handler ({local}=)")
            if "javascript:" in re.sub(r"\s", "", value).lower():
                raise BadgeError("unsafe_svg", "the SVG image contains a javascript: link")


def _is_badge_namespace(ns: str) -> bool:
    return "openbadges" in ns or "imsglobal.org" in ns


def parse_svg(data: bytes, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> BadgeInput:
    if len(data) > max_bytes:
        raise BadgeError("image_too_large", f"the image is larger than {max_bytes // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadgeError("invalid_image", "the SVG image is not UTF-8 text") from None
    if _DECLARATION.search(text):
        raise BadgeError(
            "unsafe_svg", "the SVG image declares a DOCTYPE or entities, which are not accepted"
        )
    try:
        # Safe: the text has no DTD (checked above), so expat expands no entities and loads
        # nothing external.
        root = ElementTree.fromstring(text.encode("utf-8"))  # noqa: S314
    except ElementTree.ParseError as exc:
        raise BadgeError("invalid_image", f"the SVG image is not well-formed XML ({exc})") from None
    if _local(str(root.tag))[1] != "svg":
        raise BadgeError("invalid_image", "the file is XML but not an SVG image")
    _refuse_unsafe(root)
    for el in root.iter():
        ns, tag = _local(str(el.tag))
        if tag not in ("assertion", "credential") or not _is_badge_namespace(ns):
            continue
        content = (el.text or "").strip()
        verify = (el.get("verify") or "").strip()
        if content:
            parsed = parse_text(content, max_bytes=max_bytes)
            if parsed.kind == "json" and re.match(r"^https?://", verify, re.IGNORECASE):
                # A hosted badge: the verify URL is the one to check, the JSON a copy.
                parsed = BadgeInput(kind="url", format=parsed.format, url=verify, data=parsed.data)
        elif verify:
            parsed = parse_text(verify, max_bytes=max_bytes)
        else:
            continue
        return _baked(parsed, "svg")
    raise BadgeError(
        "no_badge_in_image",
        "the SVG image has no badge baked into it (no openbadges:assertion or credential)",
    )


def _baked(parsed: BadgeInput, container: Container) -> BadgeInput:
    return BadgeInput(
        kind=parsed.kind,
        format=parsed.format,
        url=parsed.url,
        data=parsed.data,
        jws=parsed.jws,
        baked_in=container,
    )
