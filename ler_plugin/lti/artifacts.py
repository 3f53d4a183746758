"""What an LMS administrator pastes or clicks to install the tool, made from the tool's own URLs.

One place knows the tool's endpoints (`ToolUrls`), the claims and scopes it asks for, and its
placements; the dynamic registration request, the Canvas developer key JSON and the settings
lists for Moodle, Schoology, Brightspace and Open edX are all rendered from it, so what an admin
copies from ``lti/`` is what the running service answers to. ``ler-plugin lti config <lms>``
prints the same text for the deployment's own base URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ler_plugin.lti.errors import LtiServiceError
from ler_plugin.lti.services import TOOL_SCOPES

TOOL_NAME = "Teacher Wallet"
TOOL_DESCRIPTION = (
    "Teachers keep their professional learning (PD clock hours, CEUs, Open Badges) in a wallet "
    "they own; facilitators award PD credit from a course; districts see rollups."
)
EXAMPLE_BASE_URL = "https://wallet.example.org"
LMS_CHOICES = ("canvas", "moodle", "schoology", "brightspace", "openedx", "dynamic")
LMS_TITLES = {
    "canvas": "Canvas",
    "moodle": "Moodle",
    "schoology": "Schoology",
    "brightspace": "Brightspace",
    "openedx": "Open edX",
}
# What the tool needs in each launch: who the teacher is, to find or create their wallet.
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")
DEEP_LINK_LABEL = "PD credit activity"


@dataclass(frozen=True)
class ToolUrls:
    """The tool's own endpoints under its base URL: the one place that names them."""

    base_url: str

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def login_url(self) -> str:
        return f"{self.base_url}/lti/login"

    @property
    def launch_url(self) -> str:
        return f"{self.base_url}/lti/launch"

    @property
    def deep_link_url(self) -> str:
        # One launch endpoint: the message type in the id_token tells the two apart.
        return self.launch_url

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/lti/jwks"

    def register_url(self, district_slug: str, secret_key: str) -> str:
        """The dynamic registration URL of one district; its key proves the operator gave it."""
        key = registration_key(secret_key, district_slug)
        return f"{self.base_url}/lti/register/{quote(district_slug, safe='')}/{key}"

    @property
    def register_url_template(self) -> str:
        return f"{self.base_url}/lti/register/<district>/<registration-key>"

    def pasted(self) -> dict[str, str]:
        """The URLs an LMS admin pastes by hand, under the names most LMSs give those fields."""
        return {
            "OIDC login initiation URL": self.login_url,
            "Redirect (launch) URL": self.launch_url,
            "Target link URI": self.launch_url,
            "Public JWK set URL": self.jwks_url,
            "Deep linking URL": self.deep_link_url,
        }


def tool_urls(base_url: str) -> ToolUrls:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LtiServiceError(
            "lti_bad_base_url", f"the tool's base URL must be an absolute http(s) URL: {base_url!r}"
        )
    return ToolUrls(base_url.rstrip("/"))


def registration_key(secret_key: str, district_slug: str) -> str:
    """HMAC of the district slug: a registration URL cannot be made up for another district."""
    digest = hmac.new(
        secret_key.encode(), f"lti-register:{district_slug}".encode(), hashlib.sha256
    ).hexdigest()
    return digest[:32]


def registration_key_matches(secret_key: str, district_slug: str, key: str) -> bool:
    return hmac.compare_digest(registration_key(secret_key, district_slug), key)


# Canvas placements: the teacher's own wallet, the facilitator page in a PD course, the
# district dashboard; and the content pickers where a facilitator adds a PD credit activity.
CANVAS_LAUNCH_PLACEMENTS = ("user_navigation", "course_navigation", "account_navigation")
CANVAS_DEEP_LINK_PLACEMENTS = ("assignment_selection", "link_selection")


def registration_request(
    urls: ToolUrls, *, product_family_code: str | None = None
) -> dict[str, Any]:
    """The client registration body of LTI Dynamic Registration 1.0 §3.5.2."""
    canvas = product_family_code == "canvas"
    launch: dict[str, Any] = {
        "type": "LtiResourceLinkRequest",
        "target_link_uri": urls.launch_url,
        "label": TOOL_NAME,
    }
    deep_link: dict[str, Any] = {
        "type": "LtiDeepLinkingRequest",
        "target_link_uri": urls.deep_link_url,
        "label": DEEP_LINK_LABEL,
    }
    tool_configuration: dict[str, Any] = {
        "domain": urls.domain,
        "description": TOOL_DESCRIPTION,
        "target_link_uri": urls.launch_url,
        "claims": list(CLAIMS),
        "messages": [launch, deep_link],
    }
    if canvas:
        launch["placements"] = list(CANVAS_LAUNCH_PLACEMENTS)
        deep_link["placements"] = list(CANVAS_DEEP_LINK_PLACEMENTS)
        tool_configuration["https://canvas.instructure.com/lti/privacy_level"] = "public"
    return {
        "application_type": "web",
        "grant_types": ["client_credentials", "implicit"],
        "response_types": ["id_token"],
        "redirect_uris": [urls.launch_url],
        "initiate_login_uri": urls.login_url,
        "client_name": TOOL_NAME,
        "jwks_uri": urls.jwks_url,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(TOOL_SCOPES),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": tool_configuration,
    }


def canvas_developer_key(urls: ToolUrls) -> dict[str, Any]:
    """Canvas: Admin > Developer Keys > + LTI Key > Method "Paste JSON"."""
    placements = [
        {
            "placement": placement,
            "message_type": "LtiResourceLinkRequest",
            "target_link_uri": urls.launch_url,
            "text": TOOL_NAME,
        }
        for placement in CANVAS_LAUNCH_PLACEMENTS
    ] + [
        {
            "placement": placement,
            "message_type": "LtiDeepLinkingRequest",
            "target_link_uri": urls.deep_link_url,
            "text": DEEP_LINK_LABEL,
        }
        for placement in CANVAS_DEEP_LINK_PLACEMENTS
    ]
    return {
        "title": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls.login_url,
        "target_link_uri": urls.launch_url,
        "public_jwk_url": urls.jwks_url,
        "scopes": list(TOOL_SCOPES),
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "domain": urls.domain,
                "tool_id": "ler-plugin",
                "privacy_level": "public",
                "settings": {"text": TOOL_NAME, "placements": placements},
            }
        ],
        "custom_fields": {},
    }


def settings_list(lms: str, urls: ToolUrls) -> tuple[str, list[tuple[str, str]]]:
    """(where in the LMS's admin UI, [(field label, value)]) for the LMSs configured by hand."""
    if lms == "moodle":
        return (
            "Site administration > Plugins > Activity modules > External tool > Manage tools > "
            "configure a tool manually",
            [
                ("Tool name", TOOL_NAME),
                ("Tool URL", urls.launch_url),
                ("Tool description", TOOL_DESCRIPTION),
                ("LTI version", "LTI 1.3"),
                ("Public key type", "Keyset URL"),
                ("Public keyset", urls.jwks_url),
                ("Initiate login URL", urls.login_url),
                ("Redirection URI(s)", urls.launch_url),
                (
                    "Tool configuration usage",
                    "Show in activity chooser and as a preconfigured tool",
                ),
                ("Default launch container", "Embed, without blocks"),
                ("Supports Deep Linking (Content-Item Message)", "yes"),
                ("Content Selection URL", urls.deep_link_url),
                (
                    "IMS LTI Assignment and Grade Services",
                    "Use this service for grade sync and column management",
                ),
                (
                    "IMS LTI Names and Role Provisioning",
                    "Use this service to retrieve members' information as per privacy settings",
                ),
                ("Tool Settings", "Do not use this service"),
                ("Share launcher's name with tool", "Always"),
                ("Share launcher's email with tool", "Always"),
                ("Accept grades from the tool", "Always"),
            ],
        )
    if lms == "schoology":
        return (
            "App Center > My Developer Apps > Add App, Type of App: LTI 1.3 App",
            [
                ("App Name", TOOL_NAME),
                ("Description", TOOL_DESCRIPTION),
                ("Domain/URL", urls.launch_url),
                ("Public key type", "Keyset URL"),
                ("JWKS URL", urls.jwks_url),
                ("OIDC Login Init URL", urls.login_url),
                ("Redirect URLs", urls.launch_url),
                ("Deep Linking", "checked"),
                ("Assignments and Grade Services", "checked"),
                ("Names and Roles Services", "checked"),
                ("Privacy", "send the user's name and email"),
            ],
        )
    if lms == "brightspace":
        return (
            "Admin Tools > Manage Extensibility > LTI Advantage > Register Tool (Standard)",
            [
                ("Name", TOOL_NAME),
                ("Description", TOOL_DESCRIPTION),
                ("Domain", urls.base_url),
                ("Redirect URLs", urls.launch_url),
                ("OpenId Connect Login URL", urls.login_url),
                ("Target Link URI", urls.launch_url),
                ("Keyset URL", urls.jwks_url),
                (
                    "Extensions",
                    "Assignment and Grade Services, Deep Linking, Names and Role Provisioning Services",
                ),
                ("Roles", "Send Institution Role"),
                (
                    "Deployment security settings",
                    "Org Unit Information, User Information (Name, Email, User ID), Link Information, "
                    "Classlist including users not known to this deployment",
                ),
            ],
        )
    if lms == "openedx":
        return (
            "Studio > unit > Add New Component > Advanced > LTI Consumer > Edit",
            [
                ("LTI Version", "LTI 1.3"),
                ("Launch URL", urls.launch_url),
                ("Tool Initiate Login URL (OIDC)", urls.login_url),
                ("Registered Redirect URIs", json.dumps([urls.launch_url])),
                ("Tool Public Key Mode", "Keyset URL"),
                ("Tool Keyset URL", urls.jwks_url),
                ("Deep linking", "True"),
                ("Deep Linking Launch URL", urls.deep_link_url),
                ("Assignment and Grades", "Programmatic"),
                ("Names & Roles (NRPS)", "True"),
                ("Share Full name", "True"),
                ("Share Email", "True"),
            ],
        )
    raise LtiServiceError(
        "lti_unknown_lms", f"no settings list for {lms!r}; choose one of {', '.join(LMS_CHOICES)}"
    )


def render(
    lms: str,
    base_url: str,
    *,
    district_slug: str | None = None,
    secret_key: str | None = None,
) -> str:
    """The artifact text for one LMS, as printed by the CLI and committed under ``lti/``."""
    urls = tool_urls(base_url)
    if lms == "canvas":
        return json.dumps(canvas_developer_key(urls), indent=2) + "\n"
    if lms == "dynamic":
        if district_slug and secret_key:
            return urls.register_url(district_slug, secret_key) + "\n"
        return (
            "# LTI Dynamic Registration URL, one per district (Moodle, Canvas, and other LMSs\n"
            "# that support 1EdTech Dynamic Registration). Print a district's exact URL with:\n"
            "#   ler-plugin lti config dynamic --district <slug>\n"
            f"{urls.register_url_template}\n"
        )
    where, pairs = settings_list(lms, urls)
    width = max(len(label) for label, _ in pairs)
    lines = [f"# {TOOL_NAME} in {LMS_TITLES[lms]}: {where}"]
    lines += [f"{label.ljust(width)} : {value}" for label, value in pairs]
    return "\n".join(lines) + "\n"


ARTIFACT_FILES = {
    "canvas": "canvas-developer-key.json",
    "moodle": "moodle.txt",
    "schoology": "schoology.txt",
    "brightspace": "brightspace.txt",
    "openedx": "openedx.txt",
    "dynamic": "dynamic-registration.txt",
}


def write_artifacts(folder: Path, base_url: str = EXAMPLE_BASE_URL) -> list[Path]:
    """Write every LMS's artifact into `folder` (the repository's ``lti/``)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for lms, name in ARTIFACT_FILES.items():
        path = folder / name
        path.write_text(render(lms, base_url), encoding="utf-8")
        written.append(path)
    return written
