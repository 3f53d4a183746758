"""What the benchmarks share, without importing the test suite: a PostgreSQL schema owned by the
app's ordinary role, a static file host on 127.0.0.1 (an OB 2.0 issuer's badges, an LMS's keys),
a test LMS that signs id_tokens, and process CPU and memory read from /proc.

`python -m bench.support serve DIR` (from the repository) runs the static host (the benches start it as a process of
its own, so its CPU is counted apart from the server's and the load generator's).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
# The app connects as an ordinary role that owns its schema, as in production (and as the suite
# does, tests/conftest.py): row-level security by district holds for everything it serves.
APP_ROLE = "ler_app"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


# --- PostgreSQL ------------------------------------------------------------------------------


@contextmanager
def app_schema(prefix: str, *, keep: bool = False) -> Iterator[tuple[str, str]]:
    """A new schema owned by the app role: (its name, the SQLAlchemy URL connecting as that
    role). Dropped afterwards unless `keep`."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(
            f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(f'CREATE SCHEMA "{name}" AUTHORIZATION {APP_ROLE}')
    try:
        yield name, f"postgresql+psycopg://{APP_ROLE}@127.0.0.1:5432/test"
    finally:
        if not keep:
            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def backend_pids(application_name: str) -> list[int]:
    """PostgreSQL server processes serving connections that carry `application_name`."""
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchall()
    return [int(r[0]) for r in rows]


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields after the command name


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process still alive."""
    found = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            found[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    return found


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (uvicorn's supervisor and its worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for_http(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} stopped with exit code {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


# --- a static host ---------------------------------------------------------------------------

CONTENT_TYPES = {".json": "application/ld+json", ".png": "image/png"}


def serve_static(folder: Path) -> None:
    """Serve `folder` on a free port of 127.0.0.1 (printed first on stdout) until killed."""
    root = folder.resolve()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes: without this, Nagle's algorithm and the
            # client's delayed ACK stall every reused keep-alive connection by 40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            path = (root / self.path.split("?", 1)[0].lstrip("/")).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix, "text/plain"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


@dataclass
class StaticHost:
    """A folder served over HTTP on 127.0.0.1 by a process of its own."""

    folder: Path
    process: subprocess.Popen[bytes] = field(init=False)
    base: str = field(init=False)

    def __enter__(self) -> StaticHost:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.support", "serve", str(self.folder)],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert self.process.stdout is not None
        self.base = f"http://127.0.0.1:{int(self.process.stdout.readline())}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def put(self, path: str, data: Any) -> str:
        target = self.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
        return self.url(path)


# --- an OB 2.0 issuer with hosted badges -----------------------------------------------------

OB2_CONTEXT = "https://w3id.org/openbadges/v2"


def png() -> bytes:
    """A real 1x1 grey PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


class BadgeIssuer:
    """An OB 2.0 issuer on a `StaticHost`: profile, one badge class with its image, and hosted
    assertions, each for an email recipient (hashed, salted, as issuers publish them)."""

    def __init__(self, host: StaticHost) -> None:
        self.host = host
        self.issuer_url = host.put(
            "issuer.json",
            {
                "@context": OB2_CONTEXT,
                "type": "Issuer",
                "id": host.url("issuer.json"),
                "name": "Bench PD Center",
                "url": host.url(""),
                "email": "badges@example.org",
            },
        )
        image = host.put("badges/pd-math.png", png())
        self.badge_url = host.put(
            "badges/pd-math.json",
            {
                "@context": OB2_CONTEXT,
                "type": "BadgeClass",
                "id": host.url("badges/pd-math.json"),
                "name": "Math PD: Number Talks",
                "description": "Six hours of professional learning on number talks.",
                "image": image,
                "criteria": {"narrative": "Attend all sessions."},
                "issuer": self.issuer_url,
                "tags": ["math", "pd"],
            },
        )

    def hosted(self, name: str, email: str, **changes: Any) -> str:
        """Publish a hosted assertion awarded to `email` (with `changes` to its fields); its URL."""
        salt = secrets.token_hex(4)
        url = self.host.url(f"assertions/{name}.json")
        return self.host.put(
            f"assertions/{name}.json",
            {
                "@context": OB2_CONTEXT,
                "type": "Assertion",
                "id": url,
                "recipient": {
                    "type": "email",
                    "hashed": True,
                    "salt": salt,
                    "identity": "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest(),
                },
                "badge": self.badge_url,
                "verification": {"type": "hosted"},
                "issuedOn": "2025-03-01T12:00:00Z",
                **changes,
            },
        )


# --- a test LMS ------------------------------------------------------------------------------

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


class Lms:
    """An LMS whose keys are published on a `StaticHost`: registers with the tool, signs
    id_tokens. Its authorization endpoint is never called (the bench reads the tool's redirect)."""

    def __init__(self, host: StaticHost) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"k-{secrets.token_hex(4)}"
        self.issuer = host.url("lms")
        self.client_id = f"client-{secrets.token_hex(4)}"
        self.deployment_id = f"dep-{secrets.token_hex(4)}"
        self.auth_login_url = host.url("lms/auth")
        self.auth_token_url = host.url("lms/token")
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}
        self.jwks_url = host.put("lms/jwks.json", self.jwks)

    def platform_add_args(self, district: str) -> list[str]:
        """`ler-plugin platform add` arguments registering this LMS with one approved deployment."""
        return [
            "platform",
            "add",
            "--district",
            district,
            "--issuer",
            self.issuer,
            "--client-id",
            self.client_id,
            "--auth-login-url",
            self.auth_login_url,
            "--auth-token-url",
            self.auth_token_url,
            "--jwks-url",
            self.jwks_url,
            "--deployment-id",
            self.deployment_id,
        ]

    def id_token(
        self, nonce: str, *, user: int, target: str, roles: list[str] | None = None
    ) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": f"user-{user}",
            "iat": now,
            "exp": now + 3600,
            "nonce": nonce,
            "name": f"Bench Teacher {user}",
            "email": self.email(user),
            CLAIM + "version": "1.3.0",
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": target,
            CLAIM + "roles": roles or [LEARNER],
            CLAIM + "resource_link": {"id": "link-1"},
            CLAIM + "context": {"id": "course-1", "title": "PD 201"},
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    @staticmethod
    def email(user: int) -> str:
        return f"bench.teacher{user}@example.org"


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"] or len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.support serve DIR")
    serve_static(Path(sys.argv[2]))
