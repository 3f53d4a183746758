"""OB 3.0 verifications per second over the valid DCC corpus credentials, offline.

Peer: the same verifier run the naive way, with every context re-read and re-processed for
each credential (PyLD's resolved-context cache, our context file cache and our status-list
canonicalisation cache emptied before each verification) — what a verifier that does not
keep its JSON-LD contexts warm pays. Both run in this process, over the same credentials.

    uv run python bench/ob3_verify.py [rounds]
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository on the path, not bench/ (bench/http.py would shadow the standard library's http).
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import csv
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyld import jsonld as pyld_jsonld

from ler_plugin.badges import jsonld, ob3

CORPUS = Path(__file__).parent.parent / "tests" / "data" / "ob3-dcc"
URL_MAP = {
    "https://digitalcredentials.github.io/vc-test-fixtures/statusLists/": "statusLists/",
    "https://raw.githubusercontent.com/digitalcredentials/verifier-core/refs/heads/main/"
    "src/test-fixtures/status/": "verifier-core-status/",
    "https://digitalcredentials.github.io/vc-test-fixtures/dids/": "dids/",
}
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def corpus_fetch(url: str) -> Any:
    for prefix, folder in URL_MAP.items():
        if url.startswith(prefix):
            return json.loads((CORPUS / folder / url[len(prefix) :]).read_text())
    raise LookupError(url)


def valid_credentials() -> list[dict[str, Any]]:
    with (CORPUS / "EXPECTED.tsv").open() as tsv:
        rows = [r for r in csv.DictReader(tsv, delimiter="\t") if r["expect"] == "good"]
    return [json.loads((CORPUS / "verifiableCredentials" / r["path"]).read_text()) for r in rows]


def forget_contexts() -> None:
    pyld_jsonld._resolved_context_cache.clear()
    jsonld._read.cache_clear()
    ob3._canonize_json.cache_clear()


def run(
    credentials: list[dict[str, Any]], rounds: int, before_each: Callable[[], None]
) -> tuple[float, float]:
    """(verifications per wall-clock second, per CPU second of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for credential in credentials:
            before_each()
            result = ob3.verify_ob3(credential, fetch_json=corpus_fetch, now=NOW)
            assert result.valid, result.errors
    count = rounds * len(credentials)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    credentials = valid_credentials()
    run(credentials, 1, lambda: None)  # warm up imports and caches once
    ours = run(credentials, rounds, lambda: None)
    naive = run(credentials, rounds, forget_contexts)
    print(f"{len(credentials)} valid corpus credentials x {rounds} rounds, one process, one thread")
    print("                                           per wall s   per CPU s")
    print(f"ler_plugin verify_ob3 (contexts cached):   {ours[0]:10.1f}  {ours[1]:10.1f}")
    print(f"naive peer (contexts re-read every time):  {naive[0]:10.1f}  {naive[1]:10.1f}")
    print(f"ratio ours / naive (CPU): {ours[1] / naive[1]:.2f}x")


if __name__ == "__main__":
    main()
