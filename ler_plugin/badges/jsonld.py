"""JSON-LD documents served from files shipped in the package: verification never asks a
context host (w3id.org, purl.imsglobal.org, w3.org) for a context.

`load_document` is a PyLD document loader. PyLD 2 calls loaders as ``(url, options)``;
badgecheck (written for PyLD 1) calls them as ``(url)``: the loader accepts both.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CONTEXTS = Path(__file__).parent / "contexts"

_OB2_URLS = {
    "https://w3id.org/openbadges/v2": "ob2/ob_v2p0_v2_context.json",
    "https://w3id.org/openbadges/v1": "ob2/ob_v2p0_v1_context.json",
    "https://w3id.org/openbadges/legacy-v1": "ob2/ob_v2p0_v1_legacy-v1.json",
    "https://openbadgespec.org/v2/context.json": "ob2/ob_v2p0_v2_context.json",
    "https://openbadgespec.org/v1/context.json": "ob2/ob_v2p0_v1_context.json",
}


class UnknownContext(LookupError):
    """A document that is not shipped with the package was asked for."""


def _normalise(url: str) -> str:
    url = url.strip()
    if url.startswith("http://"):
        url = "https://" + url[len("http://") :]
    return url.split("#", 1)[0]


@cache
def _index() -> dict[str, Path]:
    index = {url: CONTEXTS / rel for url, rel in _OB2_URLS.items()}
    for ext in (CONTEXTS / "ob2" / "extensions").iterdir():
        base = f"https://w3id.org/openbadges/extensions/{ext.name}"
        index[f"{base}/context.json"] = ext / "context.json"
        index[f"{base}/schema.json"] = ext / "schema.json"
        # Published both with and without a trailing file name / version directory.
        index[f"{base}/context"] = ext / "context.json"
        index[f"{base}/schema"] = ext / "schema.json"
    ob3 = CONTEXTS / "ob3-vc"
    for url, name in json.loads((ob3 / "index.json").read_text()).items():
        index[_normalise(url)] = ob3 / name
    return index


@cache
def _read(path: Path) -> str:
    return path.read_text()


def known_urls() -> list[str]:
    return sorted(_index())


def document(url: str) -> dict[str, Any]:
    """The parsed JSON of a shipped document, or `UnknownContext`."""
    path = _index().get(_normalise(url))
    if path is None:
        raise UnknownContext(f"no local copy of {url}")
    data: dict[str, Any] = json.loads(_read(path))
    return data


def load_document(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """PyLD's RemoteDocument for a shipped context; anything else is refused, never fetched."""
    from pyld.jsonld import JsonLdError

    try:
        doc = document(url)
    except UnknownContext as exc:
        raise JsonLdError(
            str(exc), "jsonld.LoadDocumentError", {"url": url}, code="loading document failed"
        ) from None
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": doc,
        "contentType": "application/ld+json",
    }
