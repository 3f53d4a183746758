"""What a launch tells the wallet about the person: names, the vouched email, the SIS id."""

from __future__ import annotations

from ler_plugin.lti.launch import CLAIM, person_of
from ler_plugin.lti.models import Platform


def test_the_sis_id_and_the_vouched_email_come_from_the_claims() -> None:
    platform = Platform(id=7, issuer="https://lms.example.org", district_id=1)
    person = person_of(
        platform,
        {
            "sub": "u-1",
            "given_name": "Ana",
            "family_name": "Ruiz",
            "email": "Ana@Example.org",
            CLAIM + "lis": {"person_sourcedid": "SIS-42"},
        },
    )
    assert (person.display_name, person.sourced_id, person.email) == (
        "Ana Ruiz",
        "SIS-42",
        "Ana@Example.org",
    )
    assert person.cleaned().email == "ana@example.org"
    assert person.lms is not None and (person.lms.platform_id, person.lms.subject) == (7, "u-1")
    assert person.lms.launched


def test_an_email_the_lms_says_is_unverified_is_not_used() -> None:
    platform = Platform(id=7, issuer="https://lms.example.org", district_id=1)
    person = person_of(
        platform,
        {"sub": "u-2", "name": "Bo", "email": "bo@example.org", "email_verified": False},
    )
    assert person.email is None and person.sourced_id is None
    assert person.display_name == "Bo"
