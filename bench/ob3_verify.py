"""OB 3.0 verifications per second: our `verify_ob3` against the Digital Credentials Consortium's
verifier-core (Node.js, the verifier a district would otherwise pick), on the same corpus
credentials in the same run, with both verdicts checked against the corpus's expected ones.

The corpus (tests/data/ob3-dcc: 89 DCC test credentials, VC 1.1 and 2.0, Ed25519Signature2020
and eddsa-rdfc-2022 proofs, did:key and did:web, status lists) is verified whole for the
verdicts, then the valid credentials are timed, best of several passes, each side warmed first
(its JSON-LD contexts loaded, as a running service has them). Offline on both sides: the status
lists and did:web documents the credentials point at come from the corpus files.
verifier-core is installed by `npm ci` in tests/node/ when missing.

    uv run python bench/ob3_verify.py [--rounds 5] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository on the path, not bench/ (bench/http.py would shadow the standard library's http).
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import csv
import json
import shutil
import subprocess
import tempfile
import time
from typing import Any

from ler_plugin.badges import ob3

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "ob3-dcc"
NODE_DIR = ROOT / "tests" / "node"
URL_MAP = {  # the corpus's README: where each remote document lives locally
    "https://digitalcredentials.github.io/vc-test-fixtures/statusLists/": "statusLists/",
    "https://raw.githubusercontent.com/digitalcredentials/verifier-core/refs/heads/main/"
    "src/test-fixtures/status/": "verifier-core-status/",
    "https://digitalcredentials.github.io/vc-test-fixtures/dids/": "dids/",
}


def corpus_fetch(url: str) -> Any:
    for prefix, folder in URL_MAP.items():
        if url.startswith(prefix):
            path = CORPUS / folder / url[len(prefix) :]
            if path.is_file():
                return json.loads(path.read_text())
    raise LookupError(f"no such document: {url}")


def corpus() -> list[tuple[str, bool, dict[str, Any]]]:
    """(path, expected valid, credential) for every corpus credential."""
    with (CORPUS / "EXPECTED.tsv").open() as tsv:
        rows = list(csv.DictReader(tsv, delimiter="\t"))
    return [
        (
            row["path"],
            row["expect"] == "good",
            json.loads((CORPUS / "verifiableCredentials" / row["path"]).read_text()),
        )
        for row in rows
    ]


def verifier_core() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("node and npm are needed for the peer (DCC verifier-core)")
    if not (NODE_DIR / "node_modules" / "@digitalcredentials" / "verifier-core").is_dir():
        print("installing verifier-core (npm ci in tests/node) ...", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="Timed passes (the best counts).")
    parser.add_argument("--quick", action="store_true", help="Two passes.")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 2
    verifier_core()
    credentials = corpus()
    valid = [i for i, (_, good, _) in enumerate(credentials) if good]

    with tempfile.TemporaryDirectory() as temp:
        task = Path(temp) / "task.json"
        task.write_text(
            json.dumps(
                {
                    "nodeDir": str(NODE_DIR),
                    "urlMap": {prefix: f"{CORPUS / folder}/" for prefix, folder in URL_MAP.items()},
                    "credentials": [c for _, _, c in credentials],
                    "timed": valid,
                    "rounds": args.rounds,
                }
            )
        )
        done = subprocess.run(
            ["node", str(ROOT / "bench" / "ob3_peer.mjs"), str(task)],
            capture_output=True,
            text=True,
            timeout=600,
        )
    if done.returncode != 0:
        raise SystemExit(f"verifier-core failed:\n{done.stderr[-3000:]}")
    peer = json.loads(done.stdout)

    ours = [ob3.verify_ob3(c, fetch_json=corpus_fetch) for _, _, c in credentials]  # and warm
    best = cpu = float("inf")
    for _ in range(args.rounds):
        wall, used = time.perf_counter(), time.process_time()
        for i in valid:
            result = ob3.verify_ob3(credentials[i][2], fetch_json=corpus_fetch)
            assert result.valid, result.errors
        best = min(best, time.perf_counter() - wall)
        cpu = min(cpu, time.process_time() - used)

    print(f"verdicts on the {len(credentials)} corpus credentials (expected: tests/data/ob3-dcc):")
    our_right = sum(r.valid == good for r, (_, good, _) in zip(ours, credentials, strict=True))
    their_right = sum(
        v["valid"] == good for v, (_, good, _) in zip(peer["verdicts"], credentials, strict=True)
    )
    print(f"  ours agrees with the expected verdict on {our_right} of {len(credentials)}")
    print(f"  verifier-core agrees on                  {their_right} of {len(credentials)}")
    for (path, good, _), mine, theirs in zip(credentials, ours, peer["verdicts"], strict=True):
        if mine.valid != good or theirs["valid"] != good:
            reasons = ", ".join(theirs["errors"] + theirs["failed"]) or "-"
            print(
                f"    {path}: expected {'valid' if good else 'invalid'}, ours "
                f"{'valid' if mine.valid else 'invalid'}, verifier-core "
                f"{'valid' if theirs['valid'] else 'invalid'} ({reasons})"
            )
    n = len(valid)
    print(f"\n{n} valid credentials per pass, best of {args.rounds} passes, warm:")
    print(f"  {'':<36} {'verifications/s':>15} {'ms each':>8} {'CPU ms each':>11}")
    for label, seconds, used in (
        ("ours: verify_ob3 (Python)", best, cpu),
        ("DCC verifier-core 1.0.0-beta.11 (Node)", peer["best"], peer["cpu"]),
    ):
        print(
            f"  {label:<36} {n / seconds:15.1f} {seconds * 1000 / n:8.2f} {used * 1000 / n:11.2f}"
        )
    print(
        f"ratio ours / verifier-core: {peer['best'] / best:.2f}x wall, {peer['cpu'] / cpu:.2f}x CPU"
    )
    if our_right != len(credentials):
        raise SystemExit("our verdicts differ from the expected ones")


if __name__ == "__main__":
    main()
