"""An OB 3.0 credential signed with a did:key posted by its provider: verified offline, credit
from the PD-credit extension, landed in the recipient's wallet."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ler_plugin.badges.did import did_key
from ler_plugin.badges.ob3 import sign_ld_proof
from ler_plugin.badges.service import claim_pending_for_teacher
from tests.intake.helpers import district_with_provider, gql, operation, records_of, teacher, token

VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
PD = "https://ler-plugin.org/contexts/pd-credit/v1"


def _signed(email: str | None) -> tuple[str, dict[str, Any]]:
    """Signed by a fresh did:key; the subject named by email, or (None) only by a DID."""
    key = Ed25519PrivateKey.generate()
    did = did_key(key.public_key())
    credential = {
        "@context": [VC2, OB3, PD],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": did, "type": ["Profile"], "name": "Riverside PD Center"},
        "validFrom": "2026-03-01T00:00:00Z",
        "name": "ELL strategies",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": email,
                    "identityType": "emailAddress",
                    "hashed": False,
                }
            ],
            "achievement": {
                "id": "https://pd.example/achievements/ell",
                "type": ["Achievement"],
                "name": "ELL strategies",
                "description": "Workshop and classroom practice.",
                "criteria": {"narrative": "Attend all sessions."},
                "pdCredit": {"type": "PDCredit", "clockHours": "3.5", "category": "ELL"},
            },
        },
    }
    if email is None:
        subject = credential["credentialSubject"]
        del subject["identifier"]  # type: ignore[attr-defined]
        subject["id"] = "did:example:holder-1"  # type: ignore[index]
    method = f"{did}#{did.split(':')[2]}"
    signed = sign_ld_proof(
        credential, key, method, suite="eddsa-rdfc-2022", created=datetime(2026, 3, 1, tzinfo=UTC)
    )
    return did, signed


async def test_signed_ob3_credential_lands_with_its_pd_credit(live_server, session_factory) -> None:  # type: ignore[no-untyped-def]
    did, credential = _signed("ell@example.org")
    district_id, made = await district_with_provider(session_factory, [did])
    await teacher(session_factory, district_id, "ell@example.org")
    bearer = token(live_server.url, made)
    answer = gql(
        live_server.url, bearer, operation("post_badge"), {"input": {"credential": credential}}
    )
    result = answer["data"]["postBadge"]
    assert result["outcome"] == "RECORDED", result["report"]["errors"]
    assert result["report"]["format"] == "ob3"
    [record] = await records_of(session_factory, district_id)
    assert record.clock_hours == Decimal("3.50")
    assert record.category == "ell"
    assert record.status_reason is None

    tampered = credential | {"name": "Something else"}
    refused = gql(
        live_server.url, bearer, operation("post_badge"), {"input": {"credential": tampered}}
    )
    assert refused["data"]["postBadge"]["outcome"] == "REFUSED"


async def test_a_did_subject_waits_for_the_email_the_provider_names(
    live_server, session_factory
) -> None:  # type: ignore[no-untyped-def]
    did, credential = _signed(None)
    district_id, made = await district_with_provider(session_factory, [did])
    answer = gql(
        live_server.url,
        token(live_server.url, made),
        operation("post_badge"),
        {"input": {"credential": credential, "recipientEmail": "Holder@Example.org"}},
    )["data"]["postBadge"]
    assert answer["outcome"] == "PENDING_CLAIM", answer["report"]["errors"]
    teacher_id = await teacher(session_factory, district_id, "holder@example.org")
    async with session_factory() as session, session.begin():
        landed = await claim_pending_for_teacher(session=session, teacher_id=teacher_id)
    assert [r.clock_hours for r in landed] == [Decimal("3.50")]
