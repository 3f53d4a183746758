from __future__ import annotations

from ler_plugin.config import Settings
from ler_plugin.web.lti import _state_cookie


def test_state_cookie_is_partitioned_and_cross_site_over_https(settings: Settings) -> None:
    https = settings.model_copy(update={"base_url": "https://wallet.example.org"})
    cookie = _state_cookie(https, "ler_lti_state_x", "secret", 600)
    assert "SameSite=None; Secure; Partitioned" in cookie
    assert "HttpOnly" in cookie and "Path=/lti/" in cookie and "Max-Age=600" in cookie


def test_state_cookie_over_plain_http_is_lax(settings: Settings) -> None:
    cookie = _state_cookie(settings, "ler_lti_state_x", "secret", 600)
    assert "SameSite=Lax" in cookie and "Secure" not in cookie
