"""id_tokens validated per second: our validator against pylti1p3's, on the same tokens.

Validation only (signature, issuer, audience, times, nonce, LTI claims); both have the platform's
key set preloaded, so no network and no database is involved.

    uv run python bench/lti_launch.py [--tokens 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.tool_config import ToolConfDict
from sqlalchemy.ext.asyncio import AsyncSession

from ler_plugin.lti.jwks import PlatformKeyCache
from ler_plugin.lti.launch import validate_id_token
from ler_plugin.lti.models import Platform

ISS = "https://lms.bench.example"
CLIENT_ID = "bench-client"
DEPLOYMENT = "bench-deployment"
KID = "bench-key"
C = "https://purl.imsglobal.org/spec/lti/claim/"


def make_tokens(count: int) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}
    now = int(time.time())
    tokens = []
    for n in range(count):
        nonce = f"nonce-{n}"
        claims = {
            "iss": ISS,
            "aud": CLIENT_ID,
            "sub": f"user-{n % 50}",
            "iat": now,
            "exp": now + 3600,
            "nonce": nonce,
            "name": "Bench Teacher",
            C + "version": "1.3.0",
            C + "message_type": "LtiResourceLinkRequest",
            C + "deployment_id": DEPLOYMENT,
            C + "target_link_uri": "https://tool.example/lti/launch",
            C + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            C + "resource_link": {"id": "link-1"},
            C + "context": {"id": "course-1", "title": "PD"},
        }
        tokens.append((jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID}), nonce))
    return tokens, jwks


async def ours(tokens: list[tuple[str, str]], jwks: dict[str, Any]) -> float:
    platform = Platform(
        id=1, district_id=1, issuer=ISS, client_id=CLIENT_ID, jwks_url=ISS + "/jwks"
    )
    cache = PlatformKeyCache(http=None)  # type: ignore[arg-type]  # preloaded: nothing is fetched
    cache.preload(platform.id, jwks)
    session = AsyncSession()  # never reached: the keys come from the process cache
    start = time.perf_counter()
    for token, nonce in tokens:
        await validate_id_token(
            session=session, keys=cache, platform=platform, id_token=token, nonce=nonce
        )
    return time.perf_counter() - start


class _Sessions:
    """pylti1p3's session service, reduced to what validation asks (state and nonce are ours)."""

    def check_nonce(self, nonce: str) -> bool:
        return True

    def check_state_is_valid(self, state: str, id_token_hash: str) -> bool:
        return True


class _Launch(MessageLaunch):  # type: ignore[misc]
    def __init__(self, conf: ToolConfDict, token: str) -> None:
        super().__init__(
            {"id_token": token}, conf, session_service=_Sessions(), cookie_service=object()
        )
        self._token = token

    def _get_request_param(self, key: str) -> str:
        return self._token if key == "id_token" else "state"


def theirs(tokens: list[tuple[str, str]], jwks: dict[str, Any]) -> float:
    conf = ToolConfDict(
        {
            ISS: [
                {
                    "default": True,
                    "client_id": CLIENT_ID,
                    "auth_login_url": ISS + "/auth",
                    "auth_token_url": ISS + "/token",
                    "key_set": jwks,
                    "deployment_ids": [DEPLOYMENT],
                }
            ]
        }
    )
    start = time.perf_counter()
    for token, _nonce in tokens:
        launch = _Launch(conf, token)
        launch._validated = True  # run the checks ourselves, without the launch-data cache
        (
            launch.validate_jwt_format()
            .validate_nonce()
            .validate_registration()
            .validate_jwt_signature()
            .validate_deployment()
            .validate_message()
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tokens, jwks = make_tokens(args.tokens)
    # Both must accept the tokens and refuse a tampered one, or the timing means nothing.
    asyncio.run(ours(tokens[:5], jwks))
    theirs(tokens[:5], jwks)
    head, _, signature = tokens[0][0].split(".")
    tampered = [(f"{head}.{tokens[1][0].split('.')[1]}.{signature}", tokens[0][1])]
    for validator in (lambda: asyncio.run(ours(tampered, jwks)), lambda: theirs(tampered, jwks)):
        try:
            validator()
        except Exception:  # refusing is the point
            pass
        else:
            raise SystemExit("a validator accepted a tampered token")
    our_best = min(asyncio.run(ours(tokens, jwks)) for _ in range(args.rounds))
    their_best = min(theirs(tokens, jwks) for _ in range(args.rounds))
    our_rate, their_rate = args.tokens / our_best, args.tokens / their_best
    print(f"tokens: {args.tokens} (RS256, 2048-bit), best of {args.rounds} rounds")
    print(f"ler_plugin validate_id_token: {our_rate:10.0f} tokens/s")
    print(f"pylti1p3 MessageLaunch:       {their_rate:10.0f} tokens/s")
    print(f"ratio (ours / pylti1p3):      {our_rate / their_rate:10.2f}x")


if __name__ == "__main__":
    main()
