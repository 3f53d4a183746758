"""Failures of badge intake: what was submitted could not be read as a badge."""

from ler_plugin.errors import LerError


class BadgeError(LerError):
    """Codes: `invalid_input`, `invalid_json`, `invalid_image`, `unsafe_svg`,
    `no_badge_in_image`, `image_too_large`, `unsupported_format`."""
