"""Credential status: Bitstring Status List (and StatusList2021) and the 1EdTech revocation list.

A status list credential is itself a signed credential; it is verified (proof, type,
validity window) before its bits are believed. A list we cannot verify makes the status
unknown, which is an error, never "not revoked".
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ler_plugin.badges.did import FetchJson, Ob3Error

# Bitstring Status List lists are at least 16 KiB; 16 MiB covers 128M entries and stops
# a small gzip bomb from becoming a large allocation.
MAX_LIST_BYTES = 16 * 1024 * 1024

_LIST_KINDS = {
    # entry type -> (list credential type, list subject type)
    "BitstringStatusListEntry": ("BitstringStatusListCredential", "BitstringStatusList"),
    "StatusList2021Entry": ("StatusList2021Credential", "StatusList2021"),
}
REVOCATION_LIST = "1EdTechRevocationList"


@dataclass(frozen=True)
class StatusCheck:
    """One credentialStatus entry's answer: is the bit for `purpose` set."""

    purpose: str
    set: bool
    source: str


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [t for t in value if isinstance(t, str)] if isinstance(value, list) else []


def decode_bitstring(encoded: Any) -> bytes:
    """The bitstring of ``encodedList``: multibase base64url (or bare base64url) of gzip."""
    if not isinstance(encoded, str) or not encoded:
        raise Ob3Error("status_list_malformed", "the status list has no encodedList")
    # StatusList2021 omits the multibase 'u'; bare base64 of gzip always starts 'H4sI'.
    body = encoded[1:] if encoded.startswith("u") else encoded
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        bits = inflater.decompress(compressed, MAX_LIST_BYTES)
        if inflater.unconsumed_tail:
            raise Ob3Error("status_list_malformed", "the status list is larger than 16 MiB")
        if not inflater.eof:
            raise Ob3Error("status_list_malformed", "the status list is truncated")
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise Ob3Error("status_list_malformed", f"encodedList cannot be decoded: {exc}") from None
    return bits


def read_status(bits: bytes, index: int, size: int = 1) -> int:
    """The `size`-bit value at entry `index`; bit 0 is the most significant bit of byte 0."""
    start = index * size
    if index < 0 or start + size > len(bits) * 8:
        raise Ob3Error("status_list_malformed", f"status index {index} is outside the list")
    value = 0
    for position in range(start, start + size):
        value = (value << 1) | (bits[position // 8] >> (7 - position % 8)) & 1
    return value


def _fetch(url: Any, fetch_json: FetchJson) -> dict[str, Any]:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise Ob3Error("status_list_unavailable", f"status list URL {url!r} is not an HTTPS URL")
    # fetch_json is the caller's guarded fetcher: whatever it raises means "not available".
    try:
        doc = fetch_json(url)
    except Exception as exc:
        raise Ob3Error("status_list_unavailable", f"could not fetch {url}: {exc}") from None
    if not isinstance(doc, dict):
        raise Ob3Error("status_list_malformed", f"{url} did not return a JSON object")
    return doc


def _check_list_entry(
    entry: dict[str, Any],
    fetch_json: FetchJson,
    verify_list: Callable[[dict[str, Any]], dict[str, Any]],
) -> StatusCheck:
    list_type, subject_type = _LIST_KINDS[_types(entry.get("type"))[0]]
    purpose = entry.get("statusPurpose")
    url = entry.get("statusListCredential")
    try:
        index = int(entry.get("statusListIndex"))  # type: ignore[arg-type]
        size = int(entry.get("statusSize", 1))
    except (TypeError, ValueError):
        raise Ob3Error(
            "status_malformed", "statusListIndex / statusSize must be integers"
        ) from None
    if not isinstance(purpose, str) or size < 1 or size > 8:
        raise Ob3Error(
            "status_malformed", "the status entry needs a statusPurpose and statusSize 1-8"
        )
    list_credential = verify_list(_fetch(url, fetch_json))
    if list_type not in _types(list_credential.get("type")):
        raise Ob3Error("status_list_malformed", f"{url} is not a {list_type}")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or subject_type not in _types(subject.get("type")):
        raise Ob3Error("status_list_malformed", f"the subject of {url} is not a {subject_type}")
    list_purposes = _types(subject.get("statusPurpose"))
    if purpose not in list_purposes:
        raise Ob3Error(
            "status_list_malformed", f"{url} is a {'/'.join(list_purposes)} list, not {purpose}"
        )
    value = read_status(decode_bitstring(subject.get("encodedList")), index, size)
    return StatusCheck(purpose, value != 0, str(url))


def _check_revocation_list(
    entry: dict[str, Any], credential: dict[str, Any], fetch_json: FetchJson
) -> StatusCheck:
    url = entry.get("id")
    revocation_list = _fetch(url, fetch_json)
    revoked = revocation_list.get("revokedCredentials")
    if not isinstance(revoked, list):
        raise Ob3Error("status_list_malformed", f"{url} has no revokedCredentials list")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if "issuer" in revocation_list and revocation_list["issuer"] != issuer_id:
        raise Ob3Error("status_list_malformed", f"{url} belongs to another issuer")
    credential_id = credential.get("id")
    hit = any(isinstance(r, dict) and r.get("id") == credential_id for r in revoked)
    return StatusCheck("revocation", credential_id is not None and hit, str(url))


def check_status(
    credential: dict[str, Any],
    *,
    fetch_json: FetchJson,
    verify_list: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[StatusCheck]:
    """Every credentialStatus entry of `credential`, checked. `verify_list` verifies a status
    list credential (proof, validity window, defined terms) and answers it as signed, or
    raises `Ob3Error` when it is broken."""
    entries = credential.get("credentialStatus")
    if entries is None:
        return []
    results = []
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict):
            raise Ob3Error("status_malformed", "credentialStatus entries must be objects")
        kinds = _types(entry.get("type"))
        if kinds and kinds[0] in _LIST_KINDS:
            results.append(_check_list_entry(entry, fetch_json, verify_list))
        elif REVOCATION_LIST in kinds:
            results.append(_check_revocation_list(entry, credential, fetch_json))
        else:
            raise Ob3Error("status_unsupported", f"credentialStatus type {kinds} is not supported")
    return results
