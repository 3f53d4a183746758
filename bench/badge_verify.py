"""Hosted OB 2.0 verifications per second: our `verify_ob2` against plain badgecheck 1.2.0, on the
same badges in the same run, with both verdicts printed for valid and broken badges.

Ours: `verify_ob2(parse_badge(url))` as `postBadge` runs it (guarded fetcher, shipped contexts,
our verdict on top of badgecheck), in this process.
Peer: badgecheck 1.2.0 as published, in a virtualenv of its own (made on the first run under
~/.cache/ler-plugin-bench/, about a minute), with its own PyLD 0.7.1 and only the overrides
Python 3.11 needs: rfc3986>=1.5 (the published pins cannot be installed together: badgecheck
pins rfc3986==0.4.1, its openbadges-bakery>=2.0.0 needs >=1.5), pycryptodome>=3.20 (3.6.6 is
Python 2 code), python-jose>=3.4 and pytz>=2024.1 (theirs import collections.Mapping, gone since
3.10). It runs `verify()`'s own path (bench/badgecheck_peer.py); only the JSON-LD contexts that
w3id.org would serve come from our shipped files, through its session (no network here).

Both verify the same fresh hosted badges (a new assertion each time, the issuer and badge class
shared, as one provider's badges are) on a static host on 127.0.0.1; best of several passes.

    uv run python bench/badge_verify.py [--badges 20] [--rounds 3] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository on the path, not bench/ (bench/http.py would shadow the standard library's http).
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import subprocess
import tempfile
import time
from typing import Any

from bench.support import BadgeIssuer, StaticHost

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ler-plugin-bench"
PEER_VENV = PEER_VENV / "badgecheck-1.2.0-py3.11"
OVERRIDES = ["rfc3986>=1.5", "pycryptodome>=3.20", "python-jose[cryptography]>=3.4", "pytz>=2024.1"]
CONTEXTS = {  # what w3id.org serves for the OB 2.0 contexts: the copies we ship
    "https://w3id.org/openbadges/v2": "ob2/ob_v2p0_v2_context.json",
    "https://w3id.org/openbadges/v1": "ob2/ob_v2p0_v1_context.json",
}
EMAIL = "teacher@example.org"
# Where badgecheck's verdict is wrong and ours corrects it (ler_plugin/badges/ob2.py): a hosted
# assertion marked `"revoked": true` is revoked (OB 2.0, "Assertion"), badgecheck accepts it.
KNOWN_DIFFERENCES = {"revoked by the issuer"}


def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"making the badgecheck 1.2.0 virtualenv in {PEER_VENV} (once) ...", flush=True)
        # --no-config: not this project's settings (its overrides pin PyLD 2.0.4 for us).
        subprocess.run(
            ["uv", "venv", "-q", "--no-config", "--python", "3.11", str(PEER_VENV)], check=True
        )
        overrides = PEER_VENV / "overrides.txt"
        overrides.write_text("\n".join(OVERRIDES) + "\n")
        subprocess.run(
            ["uv", "pip", "install", "-q", "--no-config", "--python", str(python),
             "--override", str(overrides), "badgecheck==1.2.0"],
            check=True,
            cwd=PEER_VENV,
        )  # fmt: skip
    versions = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('badgecheck'), m.version('PyLD'))"],
        capture_output=True, text=True, check=True, cwd=PEER_VENV,
    ).stdout.split()  # fmt: skip
    if versions != ["1.2.0", "0.7.1"]:
        raise SystemExit(f"{PEER_VENV} holds badgecheck/PyLD {versions}: remove it and run again")
    return python


def broken(issuer: BadgeIssuer, host: StaticHost) -> list[tuple[str, str]]:
    """Badges both must refuse: (what is wrong, URL)."""
    return [
        ("revoked by the issuer", issuer.hosted("revoked", EMAIL, revoked=True)),
        ("expired", issuer.hosted("expired", EMAIL, expires="2020-01-01T00:00:00Z")),
        ("badge class gone (404)", issuer.hosted("orphan", EMAIL, badge=host.url("gone.json"))),
        ("issue date not a date", issuer.hosted("bad-date", EMAIL, issuedOn="last spring")),
        ("id names another URL", issuer.hosted("moved", EMAIL, id=host.url("assertions/x.json"))),
    ]


def ours(urls: list[str]) -> list[Any]:
    from ler_plugin.badges.ob2 import verify_ob2
    from ler_plugin.badges.parse import parse_badge
    from ler_plugin.fetch import FetchPolicy

    policy = FetchPolicy(allow_insecure_loopback=True)
    return [verify_ob2(parse_badge(url), policy=policy) for url in urls]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--badges", type=int, default=20, help="Badges per timed pass.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed passes (best counts).")
    parser.add_argument("--quick", action="store_true", help="5 badges, 2 passes.")
    args = parser.parse_args()
    if args.quick:
        args.badges, args.rounds = 5, 2
    python = peer_python()
    with tempfile.TemporaryDirectory() as temp, StaticHost(Path(temp) / "site") as host:
        issuer = BadgeIssuer(host)
        refused = broken(issuer, host)
        warm = issuer.hosted("warm", EMAIL)
        # A fresh assertion every time, for each side: nothing is verified twice.
        passes = {
            side: [
                [issuer.hosted(f"{side}-{r}-{i}", EMAIL) for i in range(args.badges)]
                for r in range(args.rounds)
            ]
            for side in ("ours", "peer")
        }
        verdict_urls = [warm] + [url for _, url in refused]
        peer_urls = verdict_urls + [url for batch in passes["peer"] for url in batch]
        task = Path(temp) / "task.json"
        contexts = {
            url: str(ROOT / "ler_plugin/badges/contexts" / f) for url, f in CONTEXTS.items()
        }
        # The peer times one pass over the URLs given; each pass is one subprocess run.
        peer_best, peer_cpu, peer_verdicts = float("inf"), float("inf"), None
        for batch in passes["peer"]:
            task.write_text(
                json.dumps(
                    {
                        "urls": verdict_urls + batch,
                        "contexts": contexts,
                        "rounds": 1,
                        "timed": list(range(len(verdict_urls), len(verdict_urls) + len(batch))),
                    }
                )
            )
            done = subprocess.run(
                [str(python), str(ROOT / "bench" / "badgecheck_peer.py"), str(task)],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise SystemExit(f"badgecheck failed:\n{done.stderr[-3000:]}")
            answer = json.loads(done.stdout)
            peer_verdicts = peer_verdicts or answer["verdicts"][: len(verdict_urls)]
            if not all(v["valid"] for v in answer["verdicts"][len(verdict_urls) :]):
                raise SystemExit(f"badgecheck refused a valid badge: {str(answer)[:2000]}")
            peer_best, peer_cpu = min(peer_best, answer["best"]), min(peer_cpu, answer["cpu"])
        del peer_urls

        our_verdicts = ours(verdict_urls)  # also warms imports and the context cache
        our_best = our_cpu = float("inf")
        for batch in passes["ours"]:
            wall, cpu = time.perf_counter(), time.process_time()
            results = ours(batch)
            our_best = min(our_best, time.perf_counter() - wall)
            our_cpu = min(our_cpu, time.process_time() - cpu)
            assert all(r.valid for r in results), [r.errors for r in results if not r.valid]

    assert peer_verdicts is not None
    print(f"verdicts (hosted OB 2.0 on {host.base}):")
    print(f"  {'badge':<24} {'ours':<26} badgecheck 1.2.0")
    differ = []
    labels = ["valid hosted badge"] + [label for label, _ in refused]
    for label, mine, theirs in zip(labels, our_verdicts, peer_verdicts, strict=True):
        our_text = "valid" if mine.valid else f"invalid: {mine.errors[0].code}"
        their_text = "valid" if theirs["valid"] else f"invalid: {theirs['errors'][0][:70]}"
        if mine.valid != theirs["valid"]:
            differ.append(label)
        print(f"  {label:<24} {our_text:<26} {their_text}")
    n = args.badges
    our_rate, peer_rate = n / our_best, n / peer_best
    print(
        f"\n{n} fresh badges per pass (4 fetches each: assertion, badge class, image, issuer), "
        f"best of {args.rounds} passes:"
    )
    print(f"  {'':<34} {'verifications/s':>15} {'ms each':>8} {'CPU ms each':>11}")
    print(
        f"  {'ours: verify_ob2':<34} {our_rate:15.1f} {our_best * 1000 / n:8.1f} "
        f"{our_cpu * 1000 / n:11.1f}"
    )
    print(
        f"  {'peer: badgecheck 1.2.0 verify()':<34} {peer_rate:15.1f} {peer_best * 1000 / n:8.1f} "
        f"{peer_cpu * 1000 / n:11.1f}"
    )
    print(
        f"ratio ours / badgecheck: {our_rate / peer_rate:.2f}x wall, {peer_cpu / our_cpu:.2f}x CPU"
    )
    print(
        f"verdicts agree on {len(labels) - len(differ)} of {len(labels)}"
        + (f"; they differ on: {', '.join(differ)}" if differ else "")
    )
    if set(differ) - KNOWN_DIFFERENCES:
        raise SystemExit("an unexplained difference in verdicts")


if __name__ == "__main__":
    main()
