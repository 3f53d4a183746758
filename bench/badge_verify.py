"""Verifications per second of hosted OB 2.0 badges served on 127.0.0.1.

Ours:  `verify_ob2` (guarded fetcher, shipped contexts, our verdict on top of badgecheck).
Peer:  badgecheck itself (`verification_store` + `generate_report`) with a plain
       `requests.Session`. Plain `openbadges.verify()` fetches JSON-LD contexts from w3id.org,
       which fails offline, so the peer gets a loader serving the same shipped contexts
       (no guard, no verdict corrections). The peer runs first, before our module is imported
       (importing it routes badgecheck's fetches through the guard).

Run: uv run python bench/badge_verify.py [N]   (N badges, best of 5 passes each)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ler_plugin.badges import jsonld
from tests.badges.ob2_host import BadgeSite, Host


class PeerLoader:
    """badgecheck's loader contract (callable, `contexts`, `session`) over shipped files."""

    def __init__(self) -> None:
        self.contexts: set[str] = set()
        self.session = None

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        return jsonld.load_document(url, options)


def peer_verify(url: str) -> bool:
    from openbadges.verifier.verifier import DEFAULT_OPTIONS, generate_report, verification_store

    options = {
        **DEFAULT_OPTIONS,
        "use_cache": False,
        "cache_backend": None,
        "jsonld_options": {"documentLoader": PeerLoader()},
    }
    store = verification_store(url, options=options)
    return bool(generate_report(store, options=options)["report"]["valid"])


def rate(label: str, verify: Any, urls: list[str], rounds: int) -> float:
    """Best of `rounds` passes over `urls` (the best pass is the least disturbed by other load)."""
    verify(urls[0])  # warm up (imports, PyLD context cache)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for url in urls:
            assert verify(url), f"{label}: {url} did not verify"
        best = min(best, time.perf_counter() - start)
    per_second = len(urls) / best
    print(f"{label:<46} {per_second:8.1f} verifications/s  ({best * 1000 / len(urls):.1f} ms each)")
    return per_second


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rounds = 5
    with Host() as host:
        site = BadgeSite(host)
        urls = [site.hosted(str(i)) for i in range(n)]
        print(
            f"{n} hosted OB 2.0 badges on {host.base} (assertion, badge class, image, issuer),"
            f" best of {rounds} passes"
        )
        peer = rate("peer: badgecheck, plain requests session", peer_verify, urls, rounds)

        from ler_plugin.badges.ob2 import verify_ob2
        from ler_plugin.badges.parse import parse_badge
        from ler_plugin.fetch import FetchPolicy

        policy = FetchPolicy(allow_insecure_loopback=True)
        ours = rate(
            "ours: verify_ob2 (guarded fetch + verdict)",
            lambda url: verify_ob2(parse_badge(url), policy=policy).valid,
            urls,
            rounds,
        )
    print(f"ratio ours/peer: {ours / peer:.2f}")


if __name__ == "__main__":
    main()
