"""A small HTTP server on 127.0.0.1 for tests: serves fixed responses, records requests.

`Host.route(path, ...)` registers a response; `Host.json(path, obj)` a JSON document. The
server runs in a thread for the duration of a `with` block (or the `host` fixture).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import ssl
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ler_plugin.badges.parse import PNG_SIGNATURE


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between body bytes (a slow server)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class Host:
    def __init__(self, *, tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate chain file, key file) to serve https instead of http."""
        self.routes: dict[str, Route | Callable[[], Route]] = {}
        self.seen: list[Seen] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as two writes: without this, Nagle's algorithm and
                # the client's delayed ACK stall every reused keep-alive connection by 40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                host.seen.append(Seen(self.path, dict(self.headers.items())))
                route = host.routes.get(self.path.split("?", 1)[0])
                if callable(route):
                    route = route()
                route = route or Route(404, {"Content-Type": "text/plain"}, b"not found")
                time.sleep(route.delay)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    if route.drip:
                        for i in range(len(route.body)):
                            self.wfile.write(route.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(route.drip)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, route: Route | Callable[[], Route]) -> str:
        self.routes[path] = route
        return self.url(path)

    def json(self, path: str, data: Any, status: int = 200) -> str:
        body = json.dumps(data).encode()
        return self.route(path, Route(status, {"Content-Type": "application/ld+json"}, body))

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(path, Route(status, {"Location": location}))

    def hits(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path.split("?", 1)[0] == path)

    def __enter__(self) -> Host:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- baked images --------------------------------------------------------------------------


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png(*extra_chunks: bytes) -> bytes:
    """A real 1x1 grey PNG, with `extra_chunks` (from `itxt`, `text`) before its image data."""
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    idat = _chunk(b"IDAT", zlib.compress(b"\x00\x80"))
    return PNG_SIGNATURE + ihdr + b"".join(extra_chunks) + idat + _chunk(b"IEND", b"")


def itxt(keyword: str, text: str, *, compressed: bool = False) -> bytes:
    payload = zlib.compress(text.encode()) if compressed else text.encode()
    flag = b"\x01\x00" if compressed else b"\x00\x00"
    return _chunk(b"iTXt", keyword.encode() + b"\0" + flag + b"\0\0" + payload)


def text_chunk(keyword: str, text: str) -> bytes:
    return _chunk(b"tEXt", keyword.encode() + b"\0" + text.encode("latin-1"))


def svg(inner: str = "", *, attrs: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org" '
        f'width="10" height="10" {attrs}>{inner}<rect width="10" height="10"/></svg>'
    ).encode()


def baked_svg(assertion_text: str, *, verify: str | None = None) -> bytes:
    attr = f' verify="{verify}"' if verify else ""
    return svg(f"<openbadges:assertion{attr}><![CDATA[{assertion_text}]]></openbadges:assertion>")


# --- an OB 2.0 issuer serving its badges ------------------------------------------------------

OB2_CONTEXT = "https://w3id.org/openbadges/v2"
TEACHER = "Teacher@Example.org"


def hashed_identity(identity: str, salt: str, alg: str = "sha256") -> str:
    return f"{alg}${hashlib.new(alg, (identity + salt).encode()).hexdigest()}"


class BadgeSite:
    """An issuer on a `Host`: profile, badge class, image, keys, assertions, revocation list."""

    def __init__(self, host: Host, *, revocation_list: bool = False) -> None:
        self.host = host
        self.issuer_url = host.url("/issuer.json")
        self.badge_url = host.url("/badges/pd-math.json")
        self.image_url = host.route(
            "/badges/pd-math.png", Route(200, {"Content-Type": "image/png"}, png())
        )
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.revocation_url = host.url("/revocations.json") if revocation_list else None
        self.revoked: list[Any] = []
        self.publish()

    def issuer(self) -> dict[str, Any]:
        issuer: dict[str, Any] = {
            "@context": OB2_CONTEXT,
            "type": "Issuer",
            "id": self.issuer_url,
            "name": "Example PD Provider",
            "url": self.host.url("/"),
            "email": "badges@example.org",
        }
        if self.keys:
            issuer["publicKey"] = [self.host.url(f"/keys/{name}.json") for name in self.keys]
        if self.revocation_url:
            issuer["revocationList"] = self.revocation_url
        return issuer

    def publish(self) -> None:
        self.host.json("/issuer.json", self.issuer())
        self.host.json(
            "/badges/pd-math.json",
            {
                "@context": OB2_CONTEXT,
                "type": "BadgeClass",
                "id": self.badge_url,
                "name": "Math PD: Number Talks",
                "description": "Six hours of professional learning on number talks.",
                "image": self.image_url,
                "criteria": {"narrative": "Attend all sessions."},
                "issuer": self.issuer_url,
                "tags": ["math", "pd"],
                "alignment": [
                    {"targetName": "CCSS.MATH.PRACTICE.MP3", "targetUrl": "https://example.org/mp3"}
                ],
            },
        )
        if self.revocation_url:
            self.host.json(
                "/revocations.json",
                {
                    "@context": OB2_CONTEXT,
                    "type": "RevocationList",
                    "id": self.revocation_url,
                    "issuer": self.issuer_url,
                    "revokedAssertions": self.revoked,
                },
            )

    def add_key(self, name: str) -> str:
        """Publish a new RSA key (a rotation keeps the old ones listed)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys[name] = key
        url = self.host.url(f"/keys/{name}.json")
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.host.json(
            f"/keys/{name}.json",
            {
                "@context": OB2_CONTEXT,
                "type": "CryptographicKey",
                "id": url,
                "owner": self.issuer_url,
                "publicKeyPem": pem.decode(),
            },
        )
        self.publish()
        return url

    def recipient(
        self, identity: str = TEACHER, *, hashed: str | None = "sha256", salt: str = "s4lt"
    ) -> dict[str, Any]:
        if hashed is None:
            return {"type": "email", "hashed": False, "identity": identity}
        return {
            "type": "email",
            "hashed": True,
            "salt": salt,
            "identity": hashed_identity(identity, salt, hashed),
        }

    def assertion(self, name: str = "1", **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "@context": OB2_CONTEXT,
            "type": "Assertion",
            "id": self.host.url(f"/assertions/{name}.json"),
            "recipient": self.recipient(),
            "badge": self.badge_url,
            "verification": {"type": "hosted"},
            "issuedOn": "2025-03-01T12:00:00Z",
        }
        data.update(extra)
        return data

    def hosted(self, name: str = "1", **extra: Any) -> str:
        """Serve a hosted assertion; its URL."""
        data = self.assertion(name, **extra)
        self.host.json(f"/assertions/{name}.json", data)
        return str(data["id"])

    def signed(self, key_name: str, **extra: Any) -> str:
        """A signed assertion (JWS compact) by the named key."""
        data = self.assertion(
            "signed",
            id=f"urn:uuid:{uuid.uuid4()}",
            verification={
                "type": "SignedBadge",
                "creator": self.host.url(f"/keys/{key_name}.json"),
            },
        )
        data.update(extra)
        pem = self.keys[key_name].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return jwt.api_jws.encode(json.dumps(data).encode(), pem, algorithm="RS256")

    def revoke(self, *entries: Any) -> None:
        self.revoked = list(entries)
        self.publish()


# --- TLS ---------------------------------------------------------------------------------------


def tls_files(folder: Path, name: str) -> tuple[str, str, str]:
    """A test CA and a server certificate for `name`: (ca file, certificate file, key file)."""

    def key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def cert(
        subject: str, issuer: str, public: rsa.RSAPublicKey, signer: rsa.RSAPrivateKey, ca: bool
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, issuer)]))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = key(), key()
    ca_cert = cert("Test CA", "Test CA", ca_key.public_key(), ca_key, True)
    server_cert = cert(name, "Test CA", server_key.public_key(), ca_key, False)
    pem = serialization.Encoding.PEM
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca_cert.public_bytes(pem))
    paths[1].write_bytes(server_cert.public_bytes(pem))
    paths[2].write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(paths[0]), str(paths[1]), str(paths[2])
