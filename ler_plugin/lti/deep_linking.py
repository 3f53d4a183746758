"""Deep Linking responses: a facilitator picks "PD credit" in the LMS's content picker.

The platform launched us with an ``LtiDeepLinkingRequest`` (its settings claim gives the return
URL and an opaque ``data`` value); we answer by posting a signed ``LtiDeepLinkingResponse`` JWT
back to that URL from the browser. The JWT names us as issuer (our client id) and the platform
as audience, echoes ``data`` unchanged, and carries one ``ltiResourceLink`` content item: the PD
credit activity, with custom parameters and, when the course should get a gradebook column,
a line item.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import jwt

from ler_plugin.lti.errors import LtiError, LtiServiceError
from ler_plugin.lti.models import Platform
from ler_plugin.lti.services import ToolSigningKey, json_number

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
RESPONSE_LIFETIME = 600


@dataclass(frozen=True)
class DeepLinkReturn:
    """What the deep linking request told us about where and to whom to answer."""

    client_id: str
    platform_issuer: str
    deployment_id: str
    return_url: str
    data: str | None = None

    @classmethod
    def of(cls, platform: Platform, context: Mapping[str, str]) -> DeepLinkReturn:
        """From the platform and the Principal context of a deep linking launch."""
        return_url = context.get("deep_link_return_url")
        if not return_url or context.get("platform_id") != str(platform.id):
            raise LtiError(
                "not_deep_linking",
                "this session did not come from the LMS's content picker: choose the Teacher "
                "Wallet activity when adding content to the course",
            )
        return cls(
            client_id=platform.client_id,
            platform_issuer=platform.issuer,
            deployment_id=context.get("deployment_id", ""),
            return_url=return_url,
            data=context.get("deep_link_data"),
        )


def pd_credit_link(
    *,
    title: str,
    url: str,
    custom: dict[str, str] | None = None,
    text: str | None = None,
    score_maximum: Decimal | None = None,
    resource_id: str | None = None,
    line_item_label: str | None = None,
) -> dict[str, Any]:
    """The ``ltiResourceLink`` content item for a PD credit activity."""
    if not title.strip():
        raise LtiServiceError("lti_deep_link_bad_item", "the PD credit activity needs a title")
    _require_http_url(url, "the activity URL")
    item: dict[str, Any] = {"type": "ltiResourceLink", "title": title, "url": url}
    if text:
        item["text"] = text
    if custom:
        bad = [key for key, value in custom.items() if not isinstance(value, str)]
        if bad:
            raise LtiServiceError(
                "lti_deep_link_bad_item",
                f"custom parameter values must be strings: {', '.join(sorted(bad))}",
            )
        item["custom"] = dict(custom)
    if score_maximum is not None:
        if score_maximum <= 0:
            raise LtiServiceError("lti_deep_link_bad_item", "scoreMaximum must be above 0")
        line_item: dict[str, Any] = {
            "label": line_item_label or title,
            "scoreMaximum": json_number(score_maximum),
        }
        if resource_id:
            line_item["resourceId"] = resource_id
        item["lineItem"] = line_item
    return item


def response_jwt(
    request: DeepLinkReturn,
    content_items: list[dict[str, Any]],
    key: ToolSigningKey,
    *,
    message: str | None = None,
    now: float | None = None,
) -> str:
    """The signed ``LtiDeepLinkingResponse`` (Deep Linking 2.0 §4.2)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": request.client_id,
        "aud": request.platform_issuer,
        "iat": issued,
        "exp": issued + RESPONSE_LIFETIME,
        "nonce": secrets.token_urlsafe(24),
        CLAIM + "deployment_id": request.deployment_id,
        CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": "1.3.0",
        DL_CLAIM + "content_items": content_items,
    }
    if request.data is not None:
        claims[DL_CLAIM + "data"] = request.data
    if message:
        claims[DL_CLAIM + "msg"] = message
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def auto_submit_form(return_url: str, token: str) -> str:
    """An HTML page that posts the JWT to the platform; a button stays for browsers without JS."""
    _require_http_url(return_url, "the deep link return URL")
    action = html.escape(return_url, quote=True)
    value = html.escape(token, quote=True)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8"><title>Returning to your course</title>'
        "</head>\n<body>\n"
        f'<form id="ler-deep-link" method="post" action="{action}">\n'
        f'<input type="hidden" name="JWT" value="{value}">\n'
        '<noscript><button type="submit">Add to the course</button></noscript>\n'
        "</form>\n"
        '<script>document.getElementById("ler-deep-link").submit();</script>\n'
        "</body></html>\n"
    )


def _require_http_url(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LtiServiceError("lti_deep_link_bad_url", f"{what} must be an http(s) URL: {url!r}")
