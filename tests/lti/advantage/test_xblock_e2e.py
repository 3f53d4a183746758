"""End to end with a lms that is not ours: Open edX's LTI 1.3 consumer (lti-consumer-xblock).

The consumer builds the OIDC login and signs the launch; its NRPS and AGS claims point at the
in-memory services beside it on 127.0.0.1, whose token endpoint runs the consumer's own client
assertion check with our public key. Deep linking ends with the consumer verifying our signed
response after a browser-like post of our auto-submitting form.

The tool's /lti/login and /lti/launch (another room) are not in this branch yet: `launch()`
plays the tool's part of the login, and the launch's claims are verified here with the
platform's published key. Everything after the launch is the tool's real code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx

from ler_plugin.lti import ags, nrps
from ler_plugin.lti.deep_linking import (
    DeepLinkReturn,
    auto_submit_form,
    pd_credit_link,
    response_jwt,
)
from ler_plugin.lti.services import ServiceAccess, TokenCache, TokenEndpoint
from tests.lti.advantage.htmlform import read_form
from tests.lti.advantage.lms import Key, Lms, launch

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


async def test_roster_then_scores_for_the_attendees(
    lms: Lms, client: httpx.AsyncClient, tool_key: Key
) -> None:
    claims = launch(lms)
    assert claims[CLAIM + "message_type"] == "LtiResourceLinkRequest"
    access = ServiceAccess(
        client, TokenEndpoint(claims["aud"], lms.token_url), tool_key, TokenCache()
    )

    roster = await nrps.fetch_roster(access, claims[NRPS_CLAIM]["context_memberships_url"])
    attendees = [
        m for m in roster.members if m.is_active and any(r.endswith("#Learner") for r in m.roles)
    ]
    assert [m.user_id for m in attendees] == ["user-1", "user-2", "user-3"]

    endpoint = claims[AGS_CLAIM]
    assert ags.SCOPE_LINEITEM in endpoint["scope"]
    column = await ags.ensure_line_item(
        access,
        endpoint["lineitems"],
        ags.NewLineItem(
            label="PD credit", score_maximum=Decimal("6"), resource_id="ler:activity:7"
        ),
    )
    awarded = dt.datetime.now(dt.UTC)
    for member in attendees:
        await ags.post_score(
            access,
            column.id,
            ags.Score(
                user_id=member.user_id,
                score_given=Decimal("6"),
                score_maximum=Decimal("6"),
                timestamp=awarded,
                comment="6 PD clock hours recorded in the Teacher Wallet",
            ),
        )
    results = await ags.read_results(access, column.id)
    assert sorted(r.user_id for r in results) == ["user-1", "user-2", "user-3"]
    assert {r.result_score for r in results} == {Decimal(6)}
    # One token for the roster, one for the line items and one each for scores and results:
    # each scope set is asked for once, however many calls use it.
    assert lms.token_requests == 4


async def test_deep_linking_round_trip(lms: Lms, client: httpx.AsyncClient, tool_key: Key) -> None:
    claims = launch(lms, message_type="LtiDeepLinkingRequest")
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingRequest"
    settings = claims[DL_SETTINGS]
    assert "ltiResourceLink" in settings["accept_types"]

    back = DeepLinkReturn(
        client_id=claims["aud"],
        platform_issuer=claims["iss"],
        deployment_id=claims[CLAIM + "deployment_id"],
        return_url=settings["deep_link_return_url"],
        data=settings.get("data"),
    )
    item = pd_credit_link(
        title="PD credit: Literacy PD",
        url="https://wallet.example.org/lti/launch",
        custom={"ler_activity": "7"},
        score_maximum=Decimal("6"),
        resource_id="ler:activity:7",
    )
    page = auto_submit_form(back.return_url, response_jwt(back, [item], tool_key))

    action, fields = read_form(page)
    answer = await client.post(action, data=fields)
    assert answer.status_code == 200, answer.text
    assert lms.deep_link_items == [[item]]
    assert lms.deep_link_claims[0][CLAIM + "deployment_id"] == lms.deployment_id
