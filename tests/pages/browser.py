"""What the browser tests need: Debian's Chromium, axe-core, and a tiny LMS that frames the tool."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import ARTIFACTS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE = ARTIFACTS / "node_modules" / "axe-core" / "axe.min.js"


def need_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def axe_source() -> str:
    """axe-core, installed with npm into the git-ignored artifacts folder the first time."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the accessibility checks")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "axe-core@4"],
            cwd=ARTIFACTS,
            check=True,
            capture_output=True,
            timeout=180,
        )
    return AXE.read_text()


HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo LMS course</title></head>
<body><h1>Course: professional learning</h1>
<iframe id="tool" title="Teacher Wallet" src="{src}" width="100%" height="200"></iframe>
<script>
window.lastResize = 0;
window.addEventListener("message", function (event) {{
  var data = event.data;
  if (data && data.subject === "lti.frameResize") {{
    window.lastResize = data.height;
    document.getElementById("tool").height = data.height;
  }}
}});
</script>
</body></html>
"""


class _Host(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        src = parse_qs(urlsplit(self.path).query).get("src", [""])[0]
        body = HOST_PAGE.format(src=html.escape(src)).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def lms_host(port: int) -> Iterator[str]:
    """A page on another origin (another port of 127.0.0.1) that frames `?src=` like an LMS."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
