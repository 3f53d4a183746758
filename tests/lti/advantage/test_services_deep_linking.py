"""Our deep linking response, checked by Open edX's consumer code and by a browser's reading."""

from __future__ import annotations

from decimal import Decimal

import jwt
import pytest

from ler_plugin.lti.deep_linking import (
    DL_CLAIM,
    DeepLinkReturn,
    auto_submit_form,
    pd_credit_link,
    response_jwt,
)
from ler_plugin.lti.errors import LtiError, LtiServiceError
from ler_plugin.lti.models import Platform
from tests.lti.advantage.htmlform import read_form
from tests.lti.advantage.lms import Key, Lms

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def activity() -> dict[str, object]:
    return pd_credit_link(
        title="PD credit: Literacy PD",
        url="https://wallet.example.org/lti/launch",
        custom={"ler_activity": "42", "ler_hours": "6"},
        text="6 clock hours",
        score_maximum=Decimal("6"),
        resource_id="ler:activity:42",
    )


def test_the_response_is_what_the_platform_expects(lms: Lms, tool_key: Key) -> None:
    back = DeepLinkReturn(
        client_id=lms.client_id,
        platform_issuer=lms.url,
        deployment_id="1",
        return_url=lms.deep_link_return_url,
        data="opaque-çtate&1",
    )
    token = response_jwt(back, [activity()], tool_key, message="Added PD credit")

    # Open edX's own verification: signature by the tool key, message type, accepted item types.
    items = lms.consumer.check_and_decode_deep_linking_token(token)
    assert items == [activity()]
    claims = jwt.decode(
        token, tool_key.private_key.public_key(), algorithms=["RS256"], audience=lms.url
    )
    assert claims["iss"] == lms.client_id and claims["nonce"]
    assert claims[CLAIM + "deployment_id"] == "1"
    assert claims[CLAIM + "version"] == "1.3.0"
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[DL_CLAIM + "data"] == "opaque-çtate&1"
    assert claims[DL_CLAIM + "msg"] == "Added PD credit"
    assert jwt.get_unverified_header(token)["kid"] == tool_key.kid
    item = claims[DL_CLAIM + "content_items"][0]
    assert item["lineItem"] == {
        "label": "PD credit: Literacy PD",
        "scoreMaximum": 6,
        "resourceId": "ler:activity:42",
    }


def test_without_data_no_data_claim(tool_key: Key) -> None:
    back = DeepLinkReturn("c", "https://lms.example", "d", "https://lms.example/return")
    claims = jwt.decode(
        response_jwt(back, [], tool_key),
        tool_key.private_key.public_key(),
        algorithms=["RS256"],
        audience="https://lms.example",
    )
    assert DL_CLAIM + "data" not in claims


def test_the_form_escapes_what_it_carries() -> None:
    hostile = 'https://lms.example/return?a=1&b="><script>alert(1)</script>'
    page = auto_submit_form(hostile, 'tok"en<>')

    assert "<script>alert(1)" not in page
    action, fields = read_form(page)
    assert action == hostile
    assert fields == {"JWT": 'tok"en<>'}
    assert 'name="JWT"' in page and "submit()" in page


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative/return", "ftp://lms.example/x"])
def test_the_return_url_must_be_http(url: str) -> None:
    with pytest.raises(LtiServiceError) as refused:
        auto_submit_form(url, "t")
    assert refused.value.code == "lti_deep_link_bad_url"


def test_content_items_are_checked() -> None:
    with pytest.raises(LtiServiceError, match="strings"):
        pd_credit_link(title="x", url="https://w.example/l", custom={"hours": 6})  # type: ignore[dict-item]
    with pytest.raises(LtiServiceError, match="title"):
        pd_credit_link(title=" ", url="https://w.example/l")
    with pytest.raises(LtiServiceError, match="scoreMaximum"):
        pd_credit_link(title="x", url="https://w.example/l", score_maximum=Decimal(0))
    plain = pd_credit_link(title="x", url="https://w.example/l")
    assert plain == {"type": "ltiResourceLink", "title": "x", "url": "https://w.example/l"}


def test_the_return_comes_from_a_deep_linking_launch_of_that_platform() -> None:
    platform = Platform(id=7, issuer="https://lms.example", client_id="c-1")
    context = {
        "platform_id": "7",
        "deployment_id": "d-1",
        "deep_link_return_url": "https://lms.example/dl/return",
        "deep_link_data": "opaque",
    }
    back = DeepLinkReturn.of(platform, context)
    assert back == DeepLinkReturn(
        "c-1", "https://lms.example", "d-1", "https://lms.example/dl/return", "opaque"
    )
    for wrong in (
        {k: v for k, v in context.items() if k != "deep_link_return_url"},
        {**context, "platform_id": "8"},
    ):
        with pytest.raises(LtiError) as caught:
            DeepLinkReturn.of(platform, wrong)
        assert caught.value.code == "not_deep_linking"
