"""Plain badgecheck, run by bench/badge_verify.py in a virtualenv of its own (badgecheck 1.2.0 as
published, with its own PyLD 0.7.1 and only the overrides Python 3.11 needs). It imports nothing
of ours and keeps badgecheck's own code path: `verify(url, use_cache=False)` exactly, except that
the JSON-LD contexts w3id.org would serve come from the files we ship (no network here), through
a requests adapter on the session badgecheck's loader uses.

    python badgecheck_peer.py INPUT.json   ->  JSON on stdout

INPUT: {"urls": [...], "contexts": {url: file}, "rounds": N, "timed": [indexes]}.
Output: {"verdicts": [{"valid": bool, "errors": [...]}...], "best": seconds, "cpu": seconds} —
the verdict of every URL once, then the best of `rounds` timed passes over the `timed` URLs.
"""

import sys

sys.path.pop(0)  # not bench/: bench/http.py would shadow the standard library's http

import io
import json
import time

import requests
import urllib3
from openbadges.verifier import verifier
from openbadges.verifier.utils import CachableDocumentLoader


class ShippedContexts(requests.adapters.HTTPAdapter):
    def __init__(self, contexts):
        super().__init__()
        self.contexts = contexts

    def send(self, request, **kwargs):
        path = self.contexts.get(request.url)
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(open(path, "rb").read() if path else b"not found"),
            headers={"Content-Type": "application/ld+json"},
            status=200 if path else 404,
            preload_content=False,
            request_url=request.url,
        )
        return self.build_response(request, raw)


def verify(url, contexts):
    """`openbadges.verify(url, use_cache=False)`: what `_get_options` makes for it (a new
    session per call), here with the shipped contexts mounted on that session. The default
    `use_cache=True` cannot run today: its pin requests-cache>=0.4.13 installs 1.x, whose
    CachedSession no longer has the `remove_expired_responses()` badgecheck calls."""
    session = requests.Session()
    for prefix in {u.split("/", 3)[2] for u in contexts}:
        session.mount(f"https://{prefix}/", ShippedContexts(contexts))
    options = dict(verifier.DEFAULT_OPTIONS, use_cache=False)
    options["jsonld_options"] = {"documentLoader": CachableDocumentLoader(False, session=session)}
    store = verifier.verification_store(url, options=options)
    report = verifier.generate_report(store, options=options)["report"]
    errors = [
        m.get("result") or m.get("name") for m in report["messages"] if m["messageLevel"] == "ERROR"
    ]
    return {"valid": bool(report["valid"]), "errors": errors}


def main():
    task = json.load(open(sys.argv[1]))
    urls, contexts = task["urls"], task["contexts"]
    verdicts = [verify(url, contexts) for url in urls]  # also warms imports
    timed = [urls[i] for i in task["timed"]]
    best = cpu = float("inf")
    for _ in range(task["rounds"]):
        wall, used = time.perf_counter(), time.process_time()
        for url in timed:
            verify(url, contexts)
        best = min(best, time.perf_counter() - wall)
        cpu = min(cpu, time.process_time() - used)
    json.dump({"verdicts": verdicts, "best": best, "cpu": cpu}, sys.stdout)


if __name__ == "__main__":
    main()
