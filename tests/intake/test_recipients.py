"""Recipient matching: plain and hashed (sha256 / md5, salted), any case of hex and email."""

from __future__ import annotations

import hashlib

import pytest

from ler_plugin.badges.pipeline import identity_matches, is_email_recipient, plain_recipient_email
from ler_plugin.badges.report import RecipientSummary


def _hashed(alg: str, text: str, salt: str | None) -> RecipientSummary:
    digest = hashlib.new(alg, (text + (salt or "")).encode()).hexdigest()
    return RecipientSummary(identity=f"{alg}${digest}", type="email", hashed=True, salt=salt)


@pytest.mark.parametrize("alg", ["sha256", "md5"])
@pytest.mark.parametrize("salt", [None, "", "NaCl"])
def test_hashed_recipients_match_their_email_in_any_case(alg: str, salt: str | None) -> None:
    recipient = _hashed(alg, "pat@example.org", salt)
    assert identity_matches(recipient, "pat@example.org")
    assert identity_matches(recipient, "Pat@Example.ORG")  # we hold it in another case
    upper = RecipientSummary(
        identity=alg.upper() + "$" + recipient.identity.split("$")[1].upper(),  # type: ignore[union-attr]
        type="email",
        hashed=True,
        salt=salt,
    )
    assert identity_matches(upper, "pat@example.org")
    assert not identity_matches(recipient, "pat@example.com")
    assert plain_recipient_email(recipient) is None


def test_plain_recipients_compare_without_case() -> None:
    recipient = RecipientSummary(identity="Pat@Example.org", type="email")
    assert identity_matches(recipient, "pat@example.org")
    assert not identity_matches(recipient, "pat@example.org.evil")
    assert plain_recipient_email(recipient) == "pat@example.org"


def test_non_email_recipients_never_match_an_email() -> None:
    did = RecipientSummary(identity="did:key:z6Mk", type="id")
    assert not is_email_recipient(did)
    assert not identity_matches(did, "did:key:z6Mk")
    wrong_alg = RecipientSummary(identity="sha1$abc", type="email", hashed=True)
    assert not identity_matches(wrong_alg, "pat@example.org")
