"""A test LMS: RSA keys made here, its JWKS served over real HTTP on 127.0.0.1, id_tokens signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ler_plugin.config import Settings
from ler_plugin.lti import service
from ler_plugin.principal import Principal
from ler_plugin.sessions import read_token

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
DROP = object()  # a claim to leave out


def new_key() -> tuple[str, rsa.RSAPrivateKey]:
    return f"k-{secrets.token_hex(4)}", rsa.generate_private_key(
        public_exponent=65537, key_size=2048
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeLms:
    """An LMS on 127.0.0.1: serves /jwks, counts fetches, rotates keys, signs launches."""

    def __init__(self) -> None:
        self.keys = [new_key()]
        self.jwks_hits = 0
        self.client_id = f"client-{secrets.token_hex(4)}"
        self.deployment_id = f"dep-{secrets.token_hex(4)}"
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                platform.jwks_hits += 1
                body = json.dumps(platform.jwks()).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = f"{self.base}/lms-{secrets.token_hex(3)}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def auth_login_url(self) -> str:
        return f"{self.base}/auth"

    @property
    def jwks_url(self) -> str:
        return f"{self.base}/jwks"

    def registration(self, *deployment_ids: str) -> service.PlatformInput:
        """What an operator registers for this LMS."""
        return service.PlatformInput(
            issuer=self.issuer,
            client_id=self.client_id,
            auth_login_url=self.auth_login_url,
            auth_token_url=f"{self.base}/token",
            jwks_url=self.jwks_url,
            deployment_ids=deployment_ids,
        )

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def rotate(self) -> None:
        """The LMS moves to a new key and stops publishing the old one."""
        self.keys = [new_key()]

    def claims(self, nonce: str | None, /, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Robin Ortiz",
            "given_name": "Robin",
            "family_name": "Ortiz",
            "email": "Robin.Ortiz@school.example",
            CLAIM + "version": "1.3.0",
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "target_link_uri": "http://tool/lti/launch",
            CLAIM + "roles": [LEARNER],
            CLAIM + "resource_link": {"id": "link-1"},
            CLAIM + "context": {"id": "course-1", "title": "PD 201"},
        }
        for name, value in changes.items():
            name = name.replace("__", "/")
            for prefix in ("lti_", "dl_"):
                if name.startswith(prefix):
                    name = (CLAIM if prefix == "lti_" else DL) + name[len(prefix) :]
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
    ) -> str:
        current_kid, current = self.keys[0]
        return jwt.encode(
            claims, key or current, algorithm="RS256", headers={"kid": kid or current_kid}
        )

    def token(self, nonce: str | None, /, **changes: Any) -> str:
        return self.sign(self.claims(nonce, **changes))

    def hs256_forgery(self, claims: dict[str, Any]) -> str:
        """HS256 with the platform's public key as the HMAC secret: the classic key confusion."""
        kid, key = self.keys[0]
        secret = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        body = b64(json.dumps(claims).encode())
        mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64(mac)}"

    def none_forgery(self, claims: dict[str, Any]) -> str:
        head = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": self.keys[0][0]}).encode())
        return f"{head}.{b64(json.dumps(claims).encode())}."


class Browser:
    """A browser's view of a launch: one cookie jar, the login leg then the launch leg."""

    def __init__(self, tool_url: str) -> None:
        self.tool = tool_url
        self.client = httpx.AsyncClient(timeout=10)

    async def close(self) -> None:
        await self.client.aclose()

    async def start(
        self, platform: FakeLms, *, method: str = "GET", **extra: str
    ) -> httpx.Response:
        """The LMS's login initiation, as a query (GET) or a form (POST); the tool's answer."""
        params = {
            "iss": platform.issuer,
            "login_hint": "hint-1",
            "target_link_uri": f"{self.tool}/lti/launch",
            "lti_message_hint": "msg-1",
            "client_id": platform.client_id,
            "lti_deployment_id": platform.deployment_id,
            **extra,
        }
        if method == "POST":
            return await self.client.post(f"{self.tool}/lti/login", data=params)
        return await self.client.get(f"{self.tool}/lti/login", params=params)

    async def login(
        self, platform: FakeLms, *, method: str = "GET", **extra: str
    ) -> dict[str, str]:
        """Start a login as the LMS would; the authentication request's parameters come back."""
        response = await self.start(platform, method=method, **extra)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(platform.auth_login_url + "?")
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    async def launch(self, id_token: str, state: str, **extra: str) -> httpx.Response:
        return await self.client.post(
            f"{self.tool}/lti/launch", data={"id_token": id_token, "state": state, **extra}
        )


def session_of(response: httpx.Response, settings: Settings) -> tuple[str, Principal]:
    """The page a launch lands on and the session's principal, from the tool's 303."""
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    token = parse_qs(location.query)["session"][0]
    return location.path, read_token(settings, token)
