"""The deep linking page: the facilitator names the activity; the LMS gets a JWT it can verify."""

from __future__ import annotations

import re

import httpx

from tests.facilitator.conftest import LEARNER, csrf, launch, page
from tests.facilitator.lms import CourseLms
from tests.lti.platform import Browser

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
FORM = re.compile(
    r'<form id="ler-deep-link" method="post" action="([^"]+)">\s*'
    r'<input type="hidden" name="JWT" value="([^"]+)">'
)


async def test_response_verifies_with_our_jwks_at_the_platform(
    course: CourseLms, browser: Browser
) -> None:
    session = await launch(browser, course, deep_link=True)
    form = await page(browser.client, f"{browser.tool}/app/deep-link", session)
    assert form.status_code == 200, form.text
    answer = await browser.client.post(
        f"{browser.tool}/app/deep-link",
        params={"session": session},
        data={
            "csrf": csrf(form.text),
            "title": "Structured literacy, session 3",
            "clock_hours": "3.5",
            "category": "literacy",
        },
    )
    assert answer.status_code == 200, answer.text
    found = FORM.search(answer.text)
    assert found, answer.text
    action, token = found.groups()
    assert action == f"{course.base}/deep-link-return"
    # The one inline script is allowed by its hash, and the form may post only to the LMS.
    policy = answer.headers["content-security-policy"]
    assert "script-src 'sha256-" in policy and f"form-action {course.base}" in policy
    # The browser posts it on; the platform checks it against the JWKS we publish.
    async with httpx.AsyncClient() as lms_browser:
        posted = await lms_browser.post(action, data={"JWT": token})
    assert posted.status_code == 200, posted.text
    claims = course.deep_link_claims[-1]
    assert claims["iss"] == course.client_id and claims["aud"] == course.issuer
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "deployment_id"] == course.deployment_id
    assert claims[DL + "data"].startswith("opaque-")
    [item] = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["title"] == "Structured literacy, session 3"
    assert item["url"] == f"{browser.tool}/lti/launch"
    assert item["lineItem"]["scoreMaximum"] == 3.5
    assert item["lineItem"]["resourceId"] == "ler-pd:structured-literacy-session-3"
    assert item["custom"] == {
        "pd_title": "Structured literacy, session 3",
        "pd_hours": "3.50",
        "pd_category": "literacy",
    }


async def test_bad_fields_are_named(course: CourseLms, browser: Browser) -> None:
    session = await launch(browser, course, deep_link=True)
    form = await page(browser.client, f"{browser.tool}/app/deep-link", session)
    answer = await browser.client.post(
        f"{browser.tool}/app/deep-link",
        params={"session": session},
        data={"csrf": csrf(form.text), "title": "", "clock_hours": "-2"},
    )
    assert answer.status_code == 400
    assert 'href="#title"' in answer.text and 'href="#clock_hours"' in answer.text
    assert course.deep_link_claims == []


async def test_without_a_deep_linking_launch_the_page_says_so(
    course: CourseLms, browser: Browser
) -> None:
    session = await launch(browser, course)
    response = await page(browser.client, f"{browser.tool}/app/deep-link", session)
    assert response.status_code == 400
    assert "content picker" in response.text


async def test_a_learner_cannot_add_content(course: CourseLms, browser: Browser) -> None:
    session = await launch(browser, course, sub="someone", roles=[LEARNER], deep_link=True)
    response = await page(browser.client, f"{browser.tool}/app/deep-link", session)
    assert response.status_code == 403
