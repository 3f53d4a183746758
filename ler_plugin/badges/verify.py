"""Verify a badge given as a file path or URL: what ``ler-plugin badges verify`` runs.

A file may be JSON, a JWS or VC-JWT, or a baked PNG or SVG; a URL is a hosted OB 2.0
assertion. OB 2.0 goes to `ob2.verify_ob2`; OB 3.0 and CLR 2.0 to `ob3.verify_ob3`.
Every failure comes back inside the report.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

from ler_plugin.badges.errors import BadgeError
from ler_plugin.badges.ob2 import verify_ob2
from ler_plugin.badges.parse import DEFAULT_MAX_IMAGE_BYTES, BadgeInput, parse_badge, parse_text
from ler_plugin.badges.report import Format, VerificationReport
from ler_plugin.errors import LerError
from ler_plugin.fetch import FetchPolicy, fetch


def read_badge(arg: str, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> BadgeInput:
    """A URL as given, or the badge in the file at path `arg`."""
    if re.match(r"^https?://", arg.strip(), re.IGNORECASE):
        return parse_text(arg)
    path = Path(arg)
    if not path.is_file():
        raise BadgeError("invalid_input", f"{arg} is neither an http(s) URL nor a file")
    if path.stat().st_size > max_bytes:
        raise BadgeError("image_too_large", f"{arg} is larger than {max_bytes // 1024} KB")
    return parse_badge(path.read_bytes(), max_bytes=max_bytes)


def _failed(fmt: Format, code: str, message: str) -> VerificationReport:
    report = VerificationReport(valid=True, format=fmt)
    report.fail(code, message)
    return report


def verify_badge(
    badge: BadgeInput,
    *,
    policy: FetchPolicy,
    recipient_identities: list[str] | None = None,
) -> VerificationReport:
    if badge.format == "ob2":
        return verify_ob2(badge, policy=policy, recipient_identities=recipient_identities)
    try:  # ob3 is written alongside this module: found late, so OB 2.0 works without it
        ob3 = importlib.import_module("ler_plugin.badges.ob3")
    except ModuleNotFoundError:
        ob3 = None
    verify_ob3 = getattr(ob3, "verify_ob3", None)
    if verify_ob3 is None:
        return _failed(badge.format, "unsupported_format", "OB 3.0 verification is not available")
    budget = policy.new_budget()

    def fetch_json(url: str) -> Any:
        accept = "application/ld+json, application/json"
        return fetch(url, policy=policy, budget=budget, accept=accept).json()

    credential = badge.jws if badge.kind == "jwt" else badge.data
    try:
        report: VerificationReport = verify_ob3(
            credential, fetch_json=fetch_json, recipient_identities=recipient_identities
        )
    except LerError as exc:
        return _failed(badge.format, exc.code, exc.message)
    return report


def verify_path_or_url(
    arg: str, *, policy: FetchPolicy, recipient_identities: list[str] | None = None
) -> VerificationReport:
    """Read `arg` (file or URL) and verify it; a badge that cannot be read is a failed report."""
    try:
        badge = read_badge(arg)
    except BadgeError as exc:
        return _failed("ob2", exc.code, exc.message)
    return verify_badge(badge, policy=policy, recipient_identities=recipient_identities)
