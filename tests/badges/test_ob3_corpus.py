"""The DCC verifiable-credential corpus: our verdict agrees with EXPECTED.tsv on every credential.

Verdicts: ``VALID``; ``INVALID(reasons)`` — the credential is authentic but expired, revoked
or not yet valid, and exactly those reasons are our error codes; ``FAIL:`` — it cannot be
verified at all, and the file name says why (tampered, unresolvable did:web, a broken status
list), which we map to the one error code that must be reported.
"""

from __future__ import annotations

import csv
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ler_plugin.badges.ob3 import verify_ob3

CORPUS = Path(__file__).parent.parent / "data" / "ob3-dcc"
# README.md of the corpus: where each remote document lives locally.
URL_MAP = {
    "https://digitalcredentials.github.io/vc-test-fixtures/statusLists/": "statusLists/",
    "https://raw.githubusercontent.com/digitalcredentials/verifier-core/refs/heads/main/"
    "src/test-fixtures/status/": "verifier-core-status/",
    "https://digitalcredentials.github.io/vc-test-fixtures/dids/": "dids/",
}
# Later than every validFrom in the corpus (2026-01-23), earlier than its 2030 expiries.
NOW = datetime(2026, 6, 1, tzinfo=UTC)
REASON_CODES = {"expired": "expired", "revoked": "revoked", "notYetValid": "not_yet_valid"}
FAIL_CODES = {
    "tampered.json": "invalid_signature",
    "badDidWeb.json": "key_unresolvable",
    "expiredStatus": "status_list_expired",
    "notYetValidStatus": "status_list_not_yet_valid",
    "tamperedStatus": "status_list_invalid_signature",
    "missingTypeStatus": "status_list_malformed",
}


def corpus_fetch(url: str) -> Any:
    for prefix, folder in URL_MAP.items():
        if url.startswith(prefix):
            path = CORPUS / folder / url[len(prefix) :]
            if path.is_file():
                return json.loads(path.read_text())
    raise LookupError(f"no such document: {url}")


def expected_rows() -> list[dict[str, str]]:
    with (CORPUS / "EXPECTED.tsv").open() as tsv:
        return list(csv.DictReader(tsv, delimiter="\t"))


def expected_codes(row: dict[str, str]) -> set[str]:
    verdict = row["verdict"]
    if verdict == "VALID":
        return set()
    if verdict.startswith("INVALID("):
        return {REASON_CODES[r] for r in verdict[len("INVALID(") : -1].split(",")}
    assert verdict.startswith("FAIL")
    codes = {code for marker, code in FAIL_CODES.items() if marker in row["path"]}
    assert len(codes) == 1, f"no FAIL reason known for {row['path']}"
    return codes


def test_corpus_lists_all_89_credentials() -> None:
    rows = expected_rows()
    assert len(rows) == 89
    assert all((CORPUS / "verifiableCredentials" / r["path"]).is_file() for r in rows)


@pytest.mark.parametrize("row", expected_rows(), ids=lambda r: r["path"])
def test_verdict_matches_expected(row: dict[str, str]) -> None:
    credential = json.loads((CORPUS / "verifiableCredentials" / row["path"]).read_text())
    result = verify_ob3(credential, fetch_json=corpus_fetch, now=NOW)

    assert result.valid is (row["expect"] == "good"), result.errors
    assert result.error_codes() == expected_codes(row), result.errors
    if result.valid:
        assert result.issuer and result.issuer["id"].startswith("did:")
        assert any(c.startswith("proofs:") for c in result.checks)


def test_corpus_verifies_in_seconds() -> None:
    rows = expected_rows()
    started = time.perf_counter()
    for row in rows:
        credential = json.loads((CORPUS / "verifiableCredentials" / row["path"]).read_text())
        verify_ob3(credential, fetch_json=corpus_fetch, now=NOW)
    assert time.perf_counter() - started < 20
