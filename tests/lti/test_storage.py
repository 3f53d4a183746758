"""Client-side OIDC state (LTI postMessage storage) for browsers that drop the state cookie."""

from __future__ import annotations

import json
import re

import httpx

from tests.lti.platform import Browser, FakeLms


def page_config(html: str) -> dict[str, str]:
    match = re.search(r"const cfg = (\{.*?\});", html)
    assert match, html
    return json.loads(match.group(1))


async def test_state_goes_through_platform_storage_when_the_cookie_is_lost(
    browser: Browser, platform: FakeLms, live_server
) -> None:
    response = await browser.start(platform, lti_storage_target="_parent")
    assert response.status_code == 200
    assert "lti.put_data" in response.text
    stored = page_config(response.text)
    assert stored["target"] == "_parent"
    assert stored["origin"] == platform.base  # postMessage only to the platform's origin
    assert stored["next"].startswith(platform.auth_login_url + "?")
    state = httpx.URL(stored["next"]).params["state"]
    nonce = httpx.URL(stored["next"]).params["nonce"]
    assert stored["key"].endswith(state)
    token = platform.token(nonce)

    # The launch arrives without the cookie (a browser blocking third-party cookies).
    cookieless = httpx.AsyncClient()
    try:
        response = await cookieless.post(
            f"{live_server.url}/lti/launch", data={"id_token": token, "state": state}
        )
        assert response.status_code == 200
        assert "lti.get_data" in response.text
        assert page_config(response.text)["key"] == stored["key"]
        assert f'value="{token}"' in response.text

        wrong = await cookieless.post(
            f"{live_server.url}/lti/launch",
            data={"id_token": token, "state": state, "lti_storage_value": "guess"},
        )
        assert wrong.status_code == 401 and "browser_mismatch" in wrong.text

        # The page read the secret back from the platform's storage and posts again.
        response = await cookieless.post(
            f"{live_server.url}/lti/launch",
            data={"id_token": token, "state": state, "lti_storage_value": stored["value"]},
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith("/app/wallet?session=")
    finally:
        await cookieless.aclose()
