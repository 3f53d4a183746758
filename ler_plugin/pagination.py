"""Keyset pagination: opaque cursors over an ordered key, page sizes bounded for everyone."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ler_plugin.errors import LerError

T = TypeVar("T")

MAX_PAGE = 100


class PageError(LerError):
    pass


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise PageError("bad_page_size", f"first must be between 1 and {MAX_PAGE}, got {first}")
    return first


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise PageError("bad_cursor", "the cursor is not one this server gave out") from None
    if not isinstance(key, list) or len(key) != length:
        raise PageError("bad_cursor", "the cursor is not one this server gave out")
    return key


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next: bool
    total: int
