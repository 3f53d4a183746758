"""LTI 1.3 launches per second with the nonce consumed: ours in the database (SQLite and
PostgreSQL) against pylti1p3 with its own session-backed nonce check, on the same kind of tokens.

Each side does what a launch needs, in two timed halves, with id_token signing (the LMS's work)
between them, untimed:
  login   ours: `begin_login` stores state, nonce and browser hash in `login_state`, committed.
          pylti1p3: `OIDCLogin` puts the state in a cookie and the nonce in the session.
  launch  ours: find the state, check the browser, validate the id_token (signature, claims,
          nonce), consume the state with its conditional UPDATE, check the deployment; commit.
          pylti1p3: `MessageLaunch.validate()` (state cookie, nonce in session, signature,
          deployment, message) and `save_launch_data`.
pylti1p3's session is an in-memory dict per browser (as a Flask cookie session is once loaded):
the cheapest storage it can have; ours is a real database, as the tool runs it (PostgreSQL as the
ordinary role `ler_app`, row-level security on). The platform keys are preloaded on both sides.
Afterwards each side is sent one launch again: ours must refuse the replay (pylti1p3 checks that
the nonce is in the session but does not remove it: the same browser can replay its launch).
Both wall time and this process's CPU are shown: the wall time includes ours's database commits
(a durable commit is an fsync; the run measures it first, as a condition of the machine).

    uv run python bench/lti_launch.py [--launches 400] [--rounds 3] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository on the path, not bench/ (bench/http.py would shadow the standard library's http).
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfDict
from sqlalchemy import select, text

from bench.support import app_schema
from ler_plugin import rollups
from ler_plugin.config import Settings, load_settings
from ler_plugin.db import make_engine, make_session_factory
from ler_plugin.lti import launch as launches
from ler_plugin.lti import login as logins
from ler_plugin.lti.errors import LtiError
from ler_plugin.lti.jwks import PlatformKeyCache
from ler_plugin.lti.models import Platform

ISS = "https://lms.bench.example"
CLIENT_ID = "bench-client"
DEPLOYMENT = "bench-deployment"
TOOL = "https://tool.bench.example"
KID = "bench-key"
C = "https://purl.imsglobal.org/spec/lti/claim/"


class Lms:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def id_token(self, nonce: str, n: int) -> str:
        now = int(time.time())
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
            C + "target_link_uri": f"{TOOL}/lti/launch",
            C + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            C + "resource_link": {"id": "link-1"},
            C + "context": {"id": "course-1", "title": "PD"},
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})


# --- ours ------------------------------------------------------------------------------------


@contextmanager
def database(backend: str) -> Iterator[Settings]:
    """A fresh database of `backend`, migrated, with the LMS registered by the CLI."""
    with tempfile.TemporaryDirectory() as temp:
        if backend == "sqlite":
            yield configured(f"sqlite+aiosqlite:///{temp}/bench.sqlite3", None, temp)
        else:
            with app_schema("lti") as (schema, url):
                yield configured(url, schema, temp)


def configured(url: str, schema: str | None, data_dir: str) -> Settings:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
    env.update(LER_DATABASE_URL=url, LER_BASE_URL=TOOL, LER_DATA_DIR=data_dir)
    if schema:
        env["LER_DATABASE_SCHEMA"] = schema
    cli = [str(Path(sys.executable).parent / "ler-plugin")]
    for args in (
        ["db", "upgrade"],
        ["district", "add", "--slug", "bench", "--name", "Bench ISD", "--state", "TX"],
        ["platform", "add", "--district", "bench", "--issuer", ISS, "--client-id", CLIENT_ID,
         "--auth-login-url", f"{ISS}/auth", "--auth-token-url", f"{ISS}/token",
         "--jwks-url", f"{ISS}/jwks", "--deployment-id", DEPLOYMENT],
    ):  # fmt: skip
        subprocess.run([*cli, *args], env=env, check=True, capture_output=True)
    return load_settings(database_url=url, database_schema=schema, base_url=TOOL, data_dir=data_dir)


async def ours(settings: Settings, lms: Lms, count: int) -> tuple[float, float, float, bool]:
    """(login seconds, launch seconds, CPU seconds of this process, replay refused)."""
    engine = rollups.install(make_engine(settings))
    factory = make_session_factory(engine)
    try:
        async with factory() as session:
            platform = await session.scalar(select(Platform).where(Platform.issuer == ISS))
        assert platform is not None
        keys = PlatformKeyCache(http=None)  # type: ignore[arg-type]  # preloaded: no fetch
        keys.preload(platform.id, lms.jwks)
        params = {
            "iss": ISS,
            "login_hint": "hint",
            "target_link_uri": f"{TOOL}/lti/launch",
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT,
        }
        started, cpu = time.perf_counter(), time.process_time()
        begun = []
        for _ in range(count):
            async with factory() as session, session.begin():
                start = await logins.begin_login(session=session, settings=settings, params=params)
            nonce = parse_qs(urlsplit(start.auth_url).query)["nonce"][0]
            begun.append((start.state, start.browser_secret, nonce))
        login_seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        tokens = [lms.id_token(nonce, n) for n, (_, _, nonce) in enumerate(begun)]

        async def launch(state: str, secret: str, token: str) -> None:
            async with factory() as session, session.begin():
                pending = await logins.find_login(session=session, state=state)
                logins.check_browser(pending, secret)
                claims = await launches.validate_id_token(
                    session=session,
                    keys=keys,
                    platform=pending.platform,
                    id_token=token,
                    nonce=pending.state.nonce,
                )
                await logins.consume(session=session, login=pending)
                await launches.check_deployment(
                    session=session,
                    platform=pending.platform,
                    deployment_id=claims[C + "deployment_id"],
                )

        started, launch_cpu = time.perf_counter(), time.process_time()
        for (state, secret, _), token in zip(begun, tokens, strict=True):
            await launch(state, secret, token)
        launch_seconds = time.perf_counter() - started
        cpu += time.process_time() - launch_cpu
        try:
            await launch(begun[0][0], begun[0][1], tokens[0])
        except LtiError as error:
            refused = error.code == "replay"
        else:
            refused = False
        return login_seconds, launch_seconds, cpu, refused
    finally:
        await engine.dispose()


# --- pylti1p3 --------------------------------------------------------------------------------


class Browser(Request):  # type: ignore[misc]
    """One browser: its session (a dict, as a loaded Flask session) and cookies."""

    def __init__(self) -> None:
        self._session: dict[str, Any] = {}
        self.cookies: dict[str, str] = {}
        self.params: dict[str, str] = {}

    @property
    def session(self) -> dict[str, Any]:
        return self._session

    def is_secure(self) -> bool:
        return True

    def get_param(self, key: str) -> str:
        return self.params.get(key, "")


class Cookies:
    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    def get_cookie(self, name: str) -> str | None:
        return self.browser.cookies.get(f"lti1p3-{name}")

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.browser.cookies[f"lti1p3-{name}"] = str(value)


class Location(Redirect):  # type: ignore[misc]
    def __init__(self, location: str) -> None:
        self.location = location

    def do_redirect(self) -> str:
        return self.location

    def do_js_redirect(self) -> str:
        return self.location

    def set_redirect_url(self, location: str) -> None:
        self.location = location

    def get_redirect_url(self) -> str:
        return self.location


class Login(OIDCLogin):  # type: ignore[misc]
    def get_redirect(self, url: str) -> Location:
        return Location(url)


class Launch(MessageLaunch):  # type: ignore[misc]
    def _get_request_param(self, key: str) -> str:
        return str(self._request.get_param(key))


def theirs(lms: Lms, count: int) -> tuple[float, float, float, bool]:
    conf = ToolConfDict(
        {
            ISS: [
                {
                    "default": True,
                    "client_id": CLIENT_ID,
                    "auth_login_url": ISS + "/auth",
                    "auth_token_url": ISS + "/token",
                    "key_set": lms.jwks,
                    "deployment_ids": [DEPLOYMENT],
                }
            ]
        }
    )
    browsers = [Browser() for _ in range(count)]
    started, cpu = time.perf_counter(), time.process_time()
    begun = []
    for browser in browsers:
        browser.params = {"iss": ISS, "login_hint": "hint", "target_link_uri": f"{TOOL}/launch"}
        login = Login(browser, conf, SessionService(browser), Cookies(browser))
        query = parse_qs(urlsplit(login.get_redirect_object(f"{TOOL}/launch").do_redirect()).query)
        begun.append((query["state"][0], query["nonce"][0]))
    login_seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    tokens = [lms.id_token(nonce, n) for n, (_, nonce) in enumerate(begun)]

    def launch(browser: Browser, state: str, token: str) -> None:
        browser.params = {"id_token": token, "state": state}
        Launch(browser, conf, SessionService(browser), Cookies(browser)).validate()

    started, launch_cpu = time.perf_counter(), time.process_time()
    for browser, (state, _), token in zip(browsers, begun, tokens, strict=True):
        launch(browser, state, token)
    launch_seconds = time.perf_counter() - started
    cpu += time.process_time() - launch_cpu
    try:
        launch(browsers[0], begun[0][0], tokens[0])
    except Exception:
        refused = True
    else:
        refused = False
    return login_seconds, launch_seconds, cpu, refused


def commit_latency(settings: Settings) -> float:
    """Milliseconds of one small durable commit: the machine's fsync, which every launch pays."""

    async def probe() -> float:
        engine = make_engine(settings)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("CREATE TABLE IF NOT EXISTS bench_probe (x int)"))
                await connection.commit()
                started = time.perf_counter()
                for _ in range(20):
                    await connection.execute(text("INSERT INTO bench_probe VALUES (1)"))
                    await connection.commit()
                took = (time.perf_counter() - started) / 20 * 1000
                await connection.execute(text("DROP TABLE bench_probe"))
                await connection.commit()
                return took
        finally:
            await engine.dispose()

    return asyncio.run(probe())


def sqlite_transactions(settings: Settings, count: int = 300) -> tuple[float, float]:
    """Milliseconds per small read transaction on SQLite: through the app's engine (NullPool: a
    new connection and four PRAGMAs each time) and through a pooled engine on the same file."""
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import AsyncAdaptedQueuePool

    from ler_plugin.db import _sqlite_pragmas  # the app's own connection set-up

    async def per_transaction(engine: Any) -> float:
        factory = make_session_factory(engine)
        started = time.perf_counter()
        for _ in range(count):
            async with factory() as session, session.begin():
                await session.execute(select(Platform.id).where(Platform.issuer == ISS))
        await engine.dispose()
        return (time.perf_counter() - started) / count * 1000

    async def both() -> tuple[float, float]:
        app = await per_transaction(make_engine(settings))
        pooled = create_async_engine(settings.database_url, poolclass=AsyncAdaptedQueuePool)
        event.listen(pooled.sync_engine, "connect", _sqlite_pragmas)
        return app, await per_transaction(pooled)

    return asyncio.run(both())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=400, help="Launches per round.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds (the best counts).")
    parser.add_argument("--quick", action="store_true", help="100 launches, one round.")
    args = parser.parse_args()
    if args.quick:
        args.launches, args.rounds = 100, 1
    lms = Lms()
    n = args.launches
    print(f"{n} launches (RS256, 2048-bit keys) per round, best of {args.rounds} rounds")
    peer = min((theirs(lms, n) for _ in range(args.rounds)), key=lambda r: r[0] + r[1])
    rows = [("pylti1p3, nonce in an in-memory session", peer)]
    for backend in ("sqlite", "postgresql"):
        with database(backend) as settings:
            latency = commit_latency(settings)
            found = [asyncio.run(ours(settings, lms, n)) for _ in range(args.rounds)]
            label = f"ours, nonce consumed in {backend}"
            rows.append((label, min(found, key=lambda r: r[0] + r[1])))
            print(f"  ({backend}: one durable commit takes {latency:.2f} ms on this machine now)")
            if backend == "sqlite":
                app, pooled = sqlite_transactions(settings)
                print(
                    f"  (sqlite: a small read transaction takes {app:.2f} ms through the app's "
                    f"engine, NullPool + 4 PRAGMAs per connection, {pooled:.2f} ms pooled)"
                )
    print(
        f"  {'':<40} {'login/s':>8} {'launch/s':>9} {'both/s':>7} {'ms each':>8} "
        f"{'CPU ms':>7}  replay"
    )
    for label, (login, launch, cpu, refused) in rows:
        both = login + launch
        print(
            f"  {label:<40} {n / login:8.0f} {n / launch:9.0f} {n / both:7.0f} "
            f"{both * 1000 / n:8.2f} {cpu * 1000 / n:7.2f}  {'refused' if refused else 'accepted'}"
        )
    peer_both, peer_cpu = peer[0] + peer[1], peer[2]
    for label, (login, launch, cpu, _) in rows[1:]:
        print(
            f"ratio {label} / pylti1p3: {peer_both / (login + launch):.2f}x wall, "
            f"{peer_cpu / cpu:.2f}x CPU of this process"
        )
    if not all(refused for _, (*_, refused) in rows[1:]):
        raise SystemExit("our launch accepted a replayed id_token")


if __name__ == "__main__":
    main()
