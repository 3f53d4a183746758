"""The whole service under a mixed load: `ler-plugin serve --workers N` on PostgreSQL.

Seeds a district (teachers with records, a PD provider, a registered test LMS with its keys on
127.0.0.1, an OB 2.0 issuer on 127.0.0.1), then drives LTI launches, wallet reads, badge posts
(new and repeated assertions) and district rollups, ramping concurrency step by step. Prints
requests/s and p50/p95/p99 latency per kind and overall for each step, the highest rate without
errors, and checks afterwards that every posted assertion is stored once with one record.
The schema is dropped at the end. Every request goes to 127.0.0.1 only.

    uv run python bench/load.py [--seconds 60] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ler_plugin.badges.models import Badge
from ler_plugin.config import Settings, load_settings
from ler_plugin.db import make_engine, make_session_factory
from ler_plugin.districts import service as districts
from ler_plugin.lti import service as lti
from ler_plugin.principal import Principal, Role
from ler_plugin.providers import service as providers
from ler_plugin.sessions import issue_token
from ler_plugin.wallet.models import Record, SchoolMembership
from tests import factories
from tests.badges.ob2_host import BadgeSite, Host
from tests.conftest import free_port
from tests.lti.platform import FakeLms

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
# The server connects as an ordinary role that owns its schema, as in production: row-level
# security by district holds for every request it serves.
APP_ROLE = "ler_app"
OPERATIONS = Path(__file__).resolve().parents[1] / "graphql" / "operations"
WALLET = "query { wallet { id totals { records clockHours } records(first: 20) { edges { node { id title } } } } }"
KINDS = ("launch", "wallet", "badge", "rollup")
TEACHERS = 40
STEPS = (2, 4, 8, 16, 32)
POST_BADGE = (OPERATIONS / "post_badge.graphql").read_text()
ROLLUP = (OPERATIONS / "rollup.graphql").read_text()


@dataclass
class World:
    base: str
    settings: Settings
    district_id: int
    lms: FakeLms
    site: BadgeSite
    emails: list[str]
    teacher_tokens: list[str]
    admin_token: str
    provider_token: str = ""
    posted: list[str] = field(default_factory=list)  # assertion URLs recorded
    new_names: itertools.count[int] = field(default_factory=itertools.count)


@dataclass
class Step:
    concurrency: int
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: int = 0  # HTTP requests (a launch is two)
    first_error: str = ""


def environment(schema: str, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
    env.update(
        LER_DATABASE_URL=f"postgresql+psycopg://{APP_ROLE}@127.0.0.1:5432/test",
        LER_DATABASE_SCHEMA=schema,
        LER_ALLOW_INSECURE_LOOPBACK="1",
        LER_ENVIRONMENT="development",
        LER_SECRET_KEY=secret,
        LER_TOKEN_REQUESTS_PER_MINUTE="1000000",
        LER_LAUNCHES_PER_MINUTE="1000000",
        LER_BADGE_POSTS_PER_MINUTE="1000000",
    )
    return env


async def seed(
    settings: Settings, lms: FakeLms, site: BadgeSite
) -> tuple[int, list[int], list[str], providers.NewCredential]:
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    try:
        async with factory() as session, session.begin():
            district = await factories.district(session)
            schools = [
                await districts.ensure_school(
                    session=session, district_id=district.id, name=f"School {n}"
                )
                for n in range(4)
            ]
            teachers, emails = [], []
            for n in range(TEACHERS):
                email = f"teacher{n}-{secrets.token_hex(3)}@example.org"
                teacher = await factories.teacher(session, district.id, email=email)
                session.add(SchoolMembership(teacher_id=teacher.id, school_id=schools[n % 4].id))
                for i in range(5):
                    await factories.record(
                        session,
                        teacher,
                        title=f"Workshop {i}",
                        category=("math", "ell", "sped")[i % 3],
                    )
                teachers.append(teacher.id)
                emails.append(email)
            made = await providers.create(
                session=session,
                principal=Principal.operator(),
                district_id=district.id,
                name="Load PD Center",
                issuers=[site.issuer_url],
            )
            await lti.add_platform(
                session=session,
                settings=settings,
                principal=Principal.operator(),
                district_id=district.id,
                data=lms.registration(lms.deployment_id),
            )
            return district.id, teachers, emails, made
    finally:
        await engine.dispose()


async def launch(client: httpx.AsyncClient, w: World) -> int:
    """One teacher's LTI launch: login initiation, then the signed id_token; two requests."""
    user = secrets.randbelow(TEACHERS)
    login = await client.get(
        f"{w.base}/lti/login",
        params={
            "iss": w.lms.issuer,
            "login_hint": f"hint-{user}",
            "target_link_uri": f"{w.base}/lti/launch",
            "client_id": w.lms.client_id,
            "lti_deployment_id": w.lms.deployment_id,
        },
    )
    if login.status_code != 302:
        raise RuntimeError(f"login {login.status_code}: {login.text[:200]}")
    auth = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["location"]).query).items()}
    cookie = login.headers["set-cookie"].split(";", 1)[0]
    token = w.lms.token(auth["nonce"], sub=f"user-{user}", email=w.emails[user])
    answer = await client.post(
        f"{w.base}/lti/launch",
        data={"id_token": token, "state": auth["state"]},
        headers={"cookie": cookie},
    )
    if answer.status_code != 303 or "session=" not in answer.headers.get("location", ""):
        raise RuntimeError(f"launch {answer.status_code}: {answer.text[:200]}")
    return 2


async def graphql(
    client: httpx.AsyncClient, w: World, bearer: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"{w.base}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {bearer}"},
    )
    if response.status_code != 200:
        raise RuntimeError(f"graphql {response.status_code}: {response.text[:200]}")
    answer = response.json()
    if answer.get("errors"):
        raise RuntimeError(f"graphql errors: {answer['errors'][:1]}")
    return dict(answer["data"])


async def wallet(client: httpx.AsyncClient, w: World) -> int:
    bearer = w.teacher_tokens[secrets.randbelow(TEACHERS)]
    data = await graphql(client, w, bearer, WALLET, {})
    if not data["wallet"]["records"]["edges"]:
        raise RuntimeError("an empty wallet")
    return 1


async def badge(client: httpx.AsyncClient, w: World) -> int:
    """Half new assertions, half ones already posted (which must find the same badge)."""
    if w.posted and secrets.randbelow(2):
        url = w.posted[secrets.randbelow(len(w.posted))]
    else:
        email = w.emails[secrets.randbelow(TEACHERS)]
        url = w.site.hosted(f"load-{next(w.new_names)}", recipient=w.site.recipient(email))
    variables = {"input": {"url": url, "credit": {"clockHours": "1.5", "category": "math"}}}
    data = await graphql(client, w, w.provider_token, POST_BADGE, variables)
    if data["postBadge"]["outcome"] != "RECORDED":
        raise RuntimeError(f"badge outcome {data['postBadge']['outcome']}")
    w.posted.append(url)
    return 1


async def rollup(client: httpx.AsyncClient, w: World) -> int:
    data = await graphql(
        client, w, w.admin_token, ROLLUP, {"by": ["school", "category"], "first": 50}
    )
    if not data["district"]["rollup"]["edges"]:
        raise RuntimeError("an empty rollup")
    return 1


OPS: dict[str, Callable[[httpx.AsyncClient, World], Awaitable[int]]] = {
    "launch": launch,
    "wallet": wallet,
    "badge": badge,
    "rollup": rollup,
}


async def run_step(w: World, concurrency: int, seconds: float) -> Step:
    step = Step(concurrency)
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(start: int) -> None:
            # Bounded in time, and in count: no worker makes more than 100 000 operations.
            for n in range(start, start + 100_000):
                if time.monotonic() >= deadline:
                    return
                kind = KINDS[n % len(KINDS)]
                began = time.perf_counter()
                try:
                    made = await OPS[kind](client, w)  # before +=, which reads first
                    step.requests += made
                    step.latencies[kind].append(time.perf_counter() - began)
                except (RuntimeError, httpx.HTTPError, KeyError) as exc:
                    step.errors[kind] += 1
                    step.first_error = step.first_error or f"{kind}: {exc!r}"[:300]

        began = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        step.seconds = time.monotonic() - began
    return step


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "-"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"{cuts[49] * 1000:7.1f} {cuts[94] * 1000:7.1f} {cuts[98] * 1000:7.1f}"


def report(step: Step) -> None:
    ops = sum(len(v) for v in step.latencies.values())
    errors = sum(step.errors.values())
    print(
        f"\nconcurrency {step.concurrency}: {ops / step.seconds:.1f} operations/s, "
        f"{step.requests / step.seconds:.1f} requests/s, {errors} errors, {step.seconds:.1f} s"
    )
    print(f"  {'kind':8} {'ops':>6} {'ops/s':>7} {'errors':>6}  p50 ms  p95 ms  p99 ms")
    everything: list[float] = []
    for kind in KINDS:
        values = step.latencies[kind]
        everything += values
        print(
            f"  {kind:8} {len(values):6} {len(values) / step.seconds:7.1f} "
            f"{step.errors[kind]:6}  {percentiles(values)}"
        )
    print(
        f"  {'overall':8} {ops:6} {ops / step.seconds:7.1f} {errors:6}  {percentiles(everything)}"
    )
    if step.first_error:
        print(f"  first error: {step.first_error}")


async def check_badges(settings: Settings, w: World) -> bool:
    """Each distinct posted assertion: exactly one badge, which has exactly one record."""
    engine = make_engine(settings)
    try:
        async with make_session_factory(engine)() as session:
            rows = (
                await session.execute(
                    select(Badge.assertion_id, func.count(), func.count(Badge.record_id))
                    .where(Badge.district_id == w.district_id)
                    .group_by(Badge.assertion_id)
                )
            ).all()
            badge_records = await session.scalar(
                select(func.count())
                .select_from(Record)
                .where(Record.district_id == w.district_id, Record.kind == "badge")
            )
    finally:
        await engine.dispose()
    stored = {assertion: (count, with_record) for assertion, count, with_record in rows}
    distinct = set(w.posted)
    missing = distinct - set(stored)
    doubled = {a: c for a, c in stored.items() if c != (1, 1)}
    ok = not missing and not doubled and badge_records == len(stored) == len(distinct)
    print(
        f"\nbadges: {len(w.posted)} posts recorded, {len(distinct)} distinct assertions, "
        f"{len(stored)} badges stored, {badge_records} badge records; "
        f"missing {len(missing)}, not exactly one badge with one record {len(doubled)}: "
        + ("OK" if ok else "FAILED")
    )
    return ok


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped with exit code {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="Total driving time (all steps).")
    parser.add_argument("--workers", type=int, default=2, help="Server worker processes.")
    args = parser.parse_args()

    schema = f"load_{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32)
    env = environment(schema, secret)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env["LER_BASE_URL"] = base
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(
            f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION {APP_ROLE}')
    process: subprocess.Popen[bytes] | None = None
    lms = FakeLms()
    ok = False
    try:
        with Host() as host:
            site = BadgeSite(host)
            command = [sys.executable, "-m", "ler_plugin"]
            subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
            settings = load_settings(
                **{k[4:].lower(): v for k, v in env.items() if k.startswith("LER_")}
            )
            district_id, teachers, emails, made = asyncio.run(seed(settings, lms, site))
            admin = Principal(
                roles=frozenset({Role.DISTRICT_ADMIN}),
                district_id=district_id,
                subject="admin:load",
            )
            world = World(
                base=base,
                settings=settings,
                district_id=district_id,
                lms=lms,
                site=site,
                emails=emails,
                teacher_tokens=[
                    issue_token(settings, Principal.for_teacher(t, district_id)) for t in teachers
                ],
                admin_token=issue_token(settings, admin),
            )
            process = subprocess.Popen(
                [*command, "serve", "--port", str(port), "--workers", str(args.workers)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_until_up(base, process)
            answer = httpx.post(
                f"{base}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": made.client_id,
                    "client_secret": made.client_secret,
                },
            )
            answer.raise_for_status()
            world.provider_token = answer.json()["access_token"]
            print(
                f"ler-plugin serve --workers {args.workers} on PostgreSQL (schema {schema}); "
                f"{TEACHERS} teachers in 4 schools x 5 records; mix: launch (login+launch), wallet, badge post "
                f"(half repeats), rollup by school,category; {os.cpu_count()} CPUs"
            )
            steps = [asyncio.run(run_step(world, c, args.seconds / len(STEPS))) for c in STEPS]
            for step in steps:
                report(step)
            clean = [s for s in steps if not any(s.errors.values())]
            if clean:
                best = max(clean, key=lambda s: s.requests / s.seconds)
                print(
                    f"\nhighest rate without errors: {best.requests / best.seconds:.1f} requests/s "
                    f"at concurrency {best.concurrency}"
                )
            else:
                print("\nevery step had errors")
            ok = asyncio.run(check_badges(settings, world)) and bool(clean)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        lms.close()
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
