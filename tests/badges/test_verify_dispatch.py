"""`verify_path_or_url` sends an OB 3.0 file to the OB 3.0 verifier and reports in the common form."""

from __future__ import annotations

import json
from pathlib import Path

from ler_plugin.badges.verify import verify_path_or_url
from ler_plugin.fetch import FetchPolicy

CORPUS = Path(__file__).resolve().parents[1] / "data" / "ob3-dcc" / "verifiableCredentials"


def test_ob3_file_verdicts_in_the_common_report(tmp_path: Path) -> None:
    policy = FetchPolicy(allow_insecure_loopback=False)
    good = CORPUS / "v2/dataIntegrityProof/didKey/legacyRegistry-noStatus-noExpiry-basicOBv3.json"
    report = verify_path_or_url(str(good), policy=policy)
    assert report.valid, report.errors
    assert report.format in ("ob3", "clr2")
    assert report.issuer.id and report.issuer.id.startswith("did:key:")
    assert report.badge_class.name

    tampered = json.loads(good.read_text())
    tampered["credentialSubject"]["achievement"]["name"] = "Something else"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(tampered))
    bad = verify_path_or_url(str(path), policy=policy)
    assert not bad.valid
    assert "invalid_signature" in bad.error_codes
