"""The service over HTTP as production serves it, beside a bare strawberry + Starlette query.

    uv run python bench/http.py [--seconds 3] [--mix-seconds 10] [--quick] [--profile DIR]

`ler-plugin serve` with 1 and then 2 workers on PostgreSQL, in a schema of its own, connected as
the ordinary role `ler_app` (row-level security on). A realistic district is seeded with the
CLI (`seed`, then the nightly `compliance refresh`); an LMS (keys on a static host on 127.0.0.1)
and a PD provider (an OB 2.0 issuer on the same host) are registered with the CLI.

Each kind of request is driven by `wrk` (Debian: `apt-get install -y wrk`) through
bench/http.lua, closed loop, from requests prepared before timing: session tokens issued,
id_tokens signed for login states captured from the tool's own redirects, badge assertions
published. In the same run, a bare strawberry + Starlette "hello" query (bench/bare_app.py),
served by uvicorn with the same options, is the ceiling.

For each run: requests/s, p50 and p99 latency, bad answers (4xx/5xx, GraphQL errors, a badge not
RECORDED), server CPU per request (the uvicorn processes' user + system time from /proc, before
and after), PostgreSQL CPU per request (its backends for this server's connections), the ratio
to the bare query's server CPU, and the CPU the load generator (wrk) and the badge host used.
A separate pass counts database round trips per request through a counting TCP proxy.
`--profile DIR` instead records py-spy profiles of one worker under each kind and prints where
its CPU goes. The schema is dropped at the end. Every request goes to 127.0.0.1 only.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Not bench/ but the repository on the path: this file would shadow the standard library's http.
sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import psycopg

from bench.support import (
    APP_ROLE,
    POSTGRES,
    BadgeIssuer,
    Lms,
    StaticHost,
    app_schema,
    backend_pids,
    cpu_seconds,
    free_port,
    process_tree,
    rss_mb,
)

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
OPERATIONS = ROOT / "graphql" / "operations"
LUA = BENCH / "http.lua"
DISTRICT = "bench-isd"
LMS_USERS = 100
WALLET = (
    "query Wallet { wallet { id totals { records clockHours } "
    "records(first: 20) { edges { node { id title completedOn clockHours } } } } }"
)
# The realistic mix, per 20 requests: teachers launch and read their wallets, district staff
# query rollups and compliance, providers post badges (new ones and repeats).
MIX = {
    "lti_login": 2,
    "lti_launch": 2,
    "wallet_page": 4,
    "wallet_gql": 3,
    "my_compliance": 2,
    "rollup_gql": 2,
    "district_compliance": 1,
    "badge_new": 1,
    "badge_repeat": 2,
    "healthz": 1,
}
LABELS = {
    "bare": "bare strawberry hello",
    "bare_1conn": "bare, 1 keep-alive connection",
    "healthz": "/healthz",
    "wallet_gql": "teacher wallet GraphQL",
    "rollup_gql": "district rollup GraphQL",
    "my_compliance": "teacher compliance GraphQL",
    "district_compliance": "district compliance + counts",
    "wallet_page": "wallet page",
    "lti_login": "LTI login",
    "lti_launch": "LTI launch (nonce consumed)",
    "lti_full": "  = login + launch (CPU)",
    "badge_new": "postBadge, new hosted badge",
    "badge_repeat": "postBadge, badge already stored",
    "mix": "realistic mix",
}
ONCE = {"lti_launch", "badge_new"}  # single-use requests: never sent twice
MIN_ANSWERS = 10  # fewer answers than this in a run, and the run is repeated three times longer


# --- raw requests ------------------------------------------------------------------------------


def raw(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def graphql(bearer: str, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"}
    return raw("POST", "/graphql", headers, body)


def persisted(name: str, variables: dict[str, Any]) -> dict[str, Any]:
    """A published operation asked for by its hash, as an Apollo client with persisted queries."""
    manifest = json.loads((OPERATIONS / "manifest.json").read_text())
    (entry,) = [op for op in manifest["operations"] if op["name"] == name]
    return {
        "operationName": name,
        "variables": variables,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": entry["id"]}},
    }


def send(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One raw request on a new connection; status, headers (lower-case names) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


# --- the world ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    kind: str
    data: bytes
    badge: str = ""  # the assertion URL a badge post sends


@dataclass
class World:
    port: int
    env: dict[str, str]
    lms: Lms
    issuer: BadgeIssuer
    credentials: dict[str, str]
    district_id: int
    teacher_tokens: list[str]
    admin_token: str
    provider_token: str = ""
    states: list[tuple[str, str, str]] = field(default_factory=list)  # (state, nonce, cookie)
    new_badges: list[str] = field(default_factory=list)  # published, never posted
    stored: list[str] = field(default_factory=list)  # posted one at a time and RECORDED
    sent: set[str] = field(default_factory=set)  # every badge URL whose post may have arrived
    launches: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def login(self, user: int) -> bytes:
        query = urlencode(
            {
                "iss": self.lms.issuer,
                "login_hint": f"hint-{user}",
                "target_link_uri": f"{self.base}/lti/launch",
                "client_id": self.lms.client_id,
                "lti_deployment_id": self.lms.deployment_id,
            }
        )
        return raw("GET", f"/lti/login?{query}")

    def launch(self, state: tuple[str, str, str], user: int) -> bytes:
        value, nonce, cookie = state
        token = self.lms.id_token(nonce, user=user, target=f"{self.base}/lti/launch")
        body = urlencode({"id_token": token, "state": value}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        return raw("POST", "/lti/launch", headers, body)

    def post_badge(self, kind: str, url: str) -> Req:
        variables = {"input": {"url": url, "credit": {"clockHours": "1.5", "category": "math"}}}
        return Req(kind, graphql(self.provider_token, persisted("PostBadge", variables)), url)

    def requests(self, kind: str, count: int) -> list[Req]:
        """`count` requests of `kind`; for a single-use kind, fewer when its pool runs short
        (launches: see `top_up`)."""
        n = range(count)
        teacher = self.teacher_tokens
        if kind == "healthz":
            return [Req(kind, raw("GET", "/healthz"))] * count
        if kind in ("bare", "bare_1conn"):
            return [Req(kind, graphql("none", {"query": "{ hello }"}))] * count
        if kind == "wallet_gql":
            return [Req(kind, graphql(teacher[i % len(teacher)], {"query": WALLET})) for i in n]
        if kind == "my_compliance":
            op = persisted("MyCompliance", {})
            return [Req(kind, graphql(teacher[i % len(teacher)], op)) for i in n]
        if kind == "rollup_gql":
            op = persisted("DistrictRollup", {"by": ["school", "category"], "first": 50})
            return [Req(kind, graphql(self.admin_token, op))] * count
        if kind == "district_compliance":
            op = persisted("DistrictCompliance", {"first": 50})
            return [Req(kind, graphql(self.admin_token, op))] * count
        if kind == "wallet_page":
            cookie = [{"Cookie": f"ler_session={token}"} for token in teacher]
            return [Req(kind, raw("GET", "/app/wallet", cookie[i % len(cookie)])) for i in n]
        if kind == "lti_login":
            return [Req(kind, self.login(i % LMS_USERS)) for i in n]
        if kind == "lti_launch":
            taken, self.states = self.states[:count], self.states[count:]
            self.launches += len(taken)
            return [
                Req(kind, self.launch(state, (self.launches + i) % LMS_USERS))
                for i, state in enumerate(taken)
            ]
        if kind == "badge_new":
            taken, self.new_badges = self.new_badges[:count], self.new_badges[count:]
            return [self.post_badge(kind, url) for url in taken]
        if kind == "badge_repeat":
            stored = self.stored[:50]
            return [self.post_badge(kind, stored[i % len(stored)]) for i in n]
        raise ValueError(kind)

    def sent_once(self, batch: list[Req], answered: int, connections: int) -> None:
        """After a wrk run in "once" mode: `answered` requests were answered and at most one per
        connection was still in flight, so no request past the first `answered + connections`
        reached the server (which ones of those were answered, wrk does not say)."""
        self.sent.update(req.badge for req in batch[: answered + connections] if req.badge)

    def take_state(self, location: str, set_cookie: str) -> None:
        query = parse_qs(urlsplit(location).query)
        self.states.append((query["state"][0], query["nonce"][0], set_cookie.split(";", 1)[0]))

    def capture(self, path: Path) -> None:
        """Login states from the tool's redirects that wrk wrote to `path`."""
        if path.exists():
            for line in path.read_text().splitlines():
                self.take_state(*line.split("\t", 1))
            path.unlink()


def cli(env: dict[str, str], *args: str) -> str:
    command = [str(Path(sys.executable).parent / "ler-plugin"), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"ler-plugin {' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare(
    env: dict[str, str], schema: str, port: int, host: StaticHost, teachers: int, years: int
) -> World:
    """Seed and register with the CLI, as an operator would; sessions for a sample of teachers
    and a district administrator."""
    from ler_plugin.config import load_settings
    from ler_plugin.principal import Principal, Role
    from ler_plugin.sessions import issue_token

    started = time.perf_counter()
    cli(env, "db", "upgrade")
    cli(env, "seed", "--district", DISTRICT, "--teachers", str(teachers), "--years", str(years))
    lms, issuer = Lms(host), BadgeIssuer(host)
    with ThreadPoolExecutor(3) as pool:
        refresh = pool.submit(cli, env, "compliance", "refresh", "--district", DISTRICT)  # nightly
        platform = pool.submit(cli, env, *lms.platform_add_args(DISTRICT))
        made = pool.submit(
            cli, env, "provider", "add", "--district", DISTRICT, "--name", "Bench PD Center",
            "--issuer", issuer.issuer_url,
        ).result()  # fmt: skip
        refresh.result(), platform.result()
    credentials = dict(re.findall(r"^(client_id|client_secret): (\S+)$", made, re.M))
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        row = conn.execute("SELECT id FROM district WHERE slug = %s", (DISTRICT,)).fetchone()
        assert row is not None
        district_id = int(row[0])
        query = "SELECT id FROM teacher WHERE district_id = %s ORDER BY id"
        ids = [int(r[0]) for r in conn.execute(query, (district_id,))]
        records = conn.execute("SELECT count(*) FROM record").fetchone()
    settings = load_settings(**{k[4:].lower(): v for k, v in env.items() if k.startswith("LER_")})
    sample = random.Random(16).sample(ids, min(200, len(ids)))
    admin = Principal(
        roles=frozenset({Role.DISTRICT_ADMIN}), district_id=district_id, subject="admin:bench"
    )
    world = World(
        port=port,
        env=env,
        lms=lms,
        issuer=issuer,
        credentials=credentials,
        district_id=district_id,
        teacher_tokens=[
            issue_token(settings, Principal.for_teacher(t, district_id)) for t in sample
        ],
        admin_token=issue_token(settings, admin),
    )
    world.new_badges = [issuer.hosted(f"new-{i}", Lms.email(i % LMS_USERS)) for i in range(4000)]
    print(
        f"seeded {DISTRICT}: {len(ids):,} teachers, {records[0] if records else 0:,} records, "
        f"statuses refreshed, LMS and provider registered ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    return world


# --- servers and measurements ------------------------------------------------------------------


@dataclass
class Server:
    name: str  # "app" (ler-plugin serve) or "bare" (bench/bare_app.py)
    workers: int
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        program = (
            [str(Path(sys.executable).parent / "ler-plugin"), "serve"]
            if self.name == "app"
            else [sys.executable, "-m", "bench.bare_app"]
        )
        command = [*program, "--port", str(self.port), "--workers", str(self.workers)]
        self.log.write_bytes(b"")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        deadline = time.monotonic() + 90
        while self.log.read_bytes().count(b"Application startup complete") < self.workers:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the {self.name} server did not start:\n{self.tail()}")
            time.sleep(0.1)
        return self

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def pids(self) -> list[int]:
        assert self.process is not None
        return process_tree(self.process.pid)

    def worker_pids(self) -> list[int]:
        """The processes serving requests: uvicorn's workers, or the one process itself."""
        tree = self.pids()
        if self.workers == 1:
            return tree[:1]
        return [pid for pid in tree if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def db_pids(self) -> list[int]:
        url = self.env["LER_DATABASE_URL"]
        name = parse_qs(urlsplit(url).query).get("application_name")
        return backend_pids(name[0]) if self.name == "app" and name else []


@dataclass
class Result:
    workers: int
    kind: str
    connections: int
    requests: int
    seconds: float
    p50: float  # ms
    p99: float  # ms
    bad: int
    server_cpu: float  # seconds, the server's processes
    db_cpu: float  # seconds, PostgreSQL's backends for the server's connections
    wrk_cpu: float
    host_cpu: float  # the badge and LMS-keys host
    log_lines: int
    sample: str = ""
    rss: list[float] = field(default_factory=list)  # MB per worker, after the run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def ms(self, seconds: float) -> float:
        """`seconds` of CPU per request, in ms."""
        return seconds / max(self.requests, 1) * 1000


def wrk(
    port: int, batch: list[Req], mode: str, connections: int, seconds: float, folder: Path,
    capture: Path | None = None,
) -> tuple[dict[str, Any], float]:  # fmt: skip
    """Run wrk over `batch`; its summary and the CPU seconds wrk itself used."""
    listing = folder / "requests.bin"
    # wrk calls request() once before connecting, to check what it returns: a spare first copy.
    listing.write_bytes(b"\0".join(req.data for req in [batch[0], *batch]))
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "60s",
        "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(listing), mode,
    ]  # fmt: skip
    if capture is not None:
        command.append(str(capture))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    found = [line for line in output.splitlines() if line.startswith("BENCH ")]
    if process.returncode != 0 or not found:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{output}")
    return json.loads(found[-1][len("BENCH ") :]), usage.ru_utime + usage.ru_stime


def measure(
    server: Server, host: StaticHost, world: World, kind: str, batch: list[Req],
    connections: int, seconds: float, folder: Path, capture: Path | None = None,
) -> Result:  # fmt: skip
    """One timed wrk run of `batch` against `server`, with every process's CPU before and after."""
    once = any(req.kind in ONCE for req in batch)
    pids, db_pids = server.pids(), server.db_pids()
    before = cpu_seconds(pids), cpu_seconds(db_pids), cpu_seconds([host.process.pid])
    lines = server.log.read_bytes().count(b"\n")
    summary, wrk_cpu = wrk(
        server.port, batch, "once" if once else "cycle", connections, seconds, folder, capture
    )
    after = (
        cpu_seconds(server.pids()),
        cpu_seconds(sorted({*db_pids, *server.db_pids()})),
        cpu_seconds([host.process.pid]),
    )
    spent = [
        sum(v - b.get(pid, 0.0) for pid, v in a.items()) for b, a in zip(before, after, strict=True)
    ]
    answered = summary["requests"] - summary["exhausted"]
    if once:
        world.sent_once(batch, answered, connections)
    bad = summary["bad"] + summary["socket_errors"] + summary["timeouts"] + summary["exhausted"]
    sample = summary["sample"]
    if summary["exhausted"]:
        sample = f"{summary['exhausted']} requests past the end of the single-use list. {sample}"
    return Result(
        workers=server.workers,
        kind=kind,
        connections=connections,
        requests=answered,
        seconds=summary["duration_us"] / 1e6,
        p50=summary["p50_us"] / 1000,
        p99=summary["p99_us"] / 1000,
        bad=bad,
        server_cpu=spent[0],
        db_cpu=spent[1],
        wrk_cpu=wrk_cpu,
        host_cpu=spent[2],
        log_lines=server.log.read_bytes().count(b"\n") - lines,
        sample=sample,
    )


# --- warming up and single-use requests --------------------------------------------------------


def parallel(
    port: int, batch: list[bytes], threads: int = 4
) -> list[tuple[int, dict[str, str], bytes]]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda data: send(port, data), batch))


def top_up(world: World, needed: int) -> None:
    """Login states for `needed` launches (logins made before timing, answered as an LMS would)."""
    missing = needed - len(world.states)
    if missing > 0:
        logins = [world.login(user % LMS_USERS) for user in range(missing)]
        for status, headers, body in parallel(world.port, logins):
            if status != 302:
                raise SystemExit(f"login: {status} {body[:300]!r}")
            world.take_state(headers["location"], headers["set-cookie"])


def first_launches(world: World) -> None:
    """Each LMS user launches once (the teacher is made and the email recorded, so that later
    launches are a returning teacher's and badges find their recipient); the provider gets its
    token and posts 20 badges, the ones posted again later."""
    top_up(world, LMS_USERS)
    batch = [world.launch(world.states.pop(), user) for user in range(LMS_USERS)]
    for status, headers, body in parallel(world.port, batch):
        if status != 303 or "session=" not in headers.get("location", ""):
            raise SystemExit(f"launch: {status} {body[:300]!r}")
    body = urlencode({"grant_type": "client_credentials", **world.credentials}).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, answer = send(world.port, raw("POST", "/oauth/token", form, body))
    if status != 200:
        raise SystemExit(f"provider token: {status} {answer[:300]!r}")
    world.provider_token = json.loads(answer)["access_token"]
    warm(world, ["badge_new"], 20)


def warm(world: World, kinds: list[str], each: int) -> None:
    """A few requests of every kind, so that each worker has loaded and cached what it keeps."""
    for kind in kinds:
        if kind == "lti_launch":
            top_up(world, each)
        batch = world.requests(kind, each)
        answers = parallel(world.port, [req.data for req in batch], threads=2)
        for req, (status, headers, body) in zip(batch, answers, strict=True):
            if kind == "lti_launch":
                if status != 303:
                    raise SystemExit(f"launch: {status} {body[:300]!r}")
                continue
            if kind == "lti_login":
                world.take_state(headers["location"], headers["set-cookie"])
                continue
            check(kind, status, body)
            if req.badge:
                world.sent.add(req.badge)
                if kind == "badge_new":
                    world.stored.append(req.badge)


def check(kind: str, status: int, body: bytes) -> None:
    text = body.decode(errors="replace")
    if status >= 400 or (text.startswith("{") and json.loads(text).get("errors")):
        raise SystemExit(f"{kind}: {status} {text[:300]}")
    if kind.startswith("badge") and not re.search(r'"outcome":\s*"RECORDED"', text):
        raise SystemExit(f"{kind}: not recorded: {text[:300]}")


# --- round trips -------------------------------------------------------------------------------


class CountingProxy:
    """A TCP proxy to PostgreSQL that counts round trips (each time a client speaks after the
    server did) and statements (simple queries and extended-protocol executes). The connections
    through it are plain (sslmode=disable), so the protocol's messages can be read."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.round_trips = 0
        self.statements = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", 5432))
            turn = {"last": "server"}
            for source, target, up in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, target, turn, up), daemon=True
                ).start()

    def _pump(
        self, source: socket.socket, target: socket.socket, turn: dict[str, str], up: bool
    ) -> None:
        pending, started = b"", False  # the client's first message (startup) has no type byte
        try:
            while data := source.recv(65536):
                with self.lock:
                    if up and turn["last"] != "client":
                        self.round_trips += 1
                    turn["last"] = "client" if up else "server"
                if up:
                    pending += data
                    while True:
                        head = 4 if not started else 5
                        if len(pending) < head:
                            break
                        size = int.from_bytes(pending[head - 4 : head], "big") + head - 4
                        if len(pending) < size:
                            break
                        if started and pending[:1] in (b"Q", b"E"):
                            with self.lock:
                                self.statements += 1
                        pending, started = pending[size:], True
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def count_round_trips(
    world: World, folder: Path, kinds: list[str], each: int = 10
) -> dict[str, tuple[float, float]]:
    """Database round trips and statements per request: one worker, one request at a time."""
    proxy = CountingProxy()
    env = dict(world.env)
    env["LER_DATABASE_URL"] = (
        f"postgresql+psycopg://{APP_ROLE}@127.0.0.1:{proxy.port}/test?sslmode=disable"
    )
    server = Server("app", 1, world.port, env, folder / "round-trips.log").start()
    counts = {}
    try:
        warm(world, kinds, 2)
        for kind in kinds:
            if kind == "lti_launch":
                top_up(world, each)
            batch = world.requests(kind, each)
            before = proxy.round_trips, proxy.statements
            for req in batch:
                status, _, body = send(world.port, req.data)
                if kind not in ("lti_login", "lti_launch"):
                    check(kind, status, body)
                elif status not in (302, 303):
                    raise SystemExit(f"{kind}: {status} {body[:300]!r}")
            world.sent.update(req.badge for req in batch if req.badge)
            world.stored += [req.badge for req in batch if req.kind == "badge_new"]
            counts[kind] = (
                (proxy.round_trips - before[0]) / len(batch),
                (proxy.statements - before[1]) / len(batch),
            )
    finally:
        server.stop()
        proxy.close()
    return counts


# --- profiles ----------------------------------------------------------------------------------

# Where a sample's time goes. Each sample is charged to the innermost frame on its stack that
# one of these patterns matches (the first pattern in this order that matches that frame), so
# the shares add up to 100%: time in the standard library is charged to the library calling it.
OWN_TIME = [
    ("socket writes (send system calls)", r"_SelectorSocketTransport\.write|sock_sendall"),
    ("badgecheck: pydux filter_active_tasks", r"filter_active_tasks"),
    ("badgecheck: PyLD JSON-LD", r"\(pyld/"),
    ("HTTP client fetches (httpx/requests/urllib3)", r"\((httpx|httpcore|requests|urllib3)/"),
    ("badgecheck (other)", r"\(openbadges/|\(pydux/"),
    ("GraphQL parse", r"\(graphql/language/(parser|lexer|source)\.py"),
    ("GraphQL validation", r"\(graphql/validation/|\(graphql/language/visitor\.py"),
    ("graphql-core execution", r"\(graphql/"),
    ("strawberry", r"\(strawberry/"),
    ("psycopg (driver)", r"\(psycopg/"),
    ("SQLAlchemy", r"\(sqlalchemy/"),
    ("Jinja2 templates", r"\(jinja2/|<template>"),
    ("PyJWT / cryptography", r"\(jwt/|\(cryptography/"),
    ("credit engine", r"\(ler_plugin/credit/"),
    ("logging", r"\(logging/"),
    ("json", r"\(json/"),
    ("ler_plugin (other)", r"\(ler_plugin/"),
    ("Starlette", r"\(starlette/"),
    ("uvicorn + h11 (HTTP/1.1)", r"\(uvicorn/|\(h11/"),
    ("asyncio event loop", r"\(asyncio/|\(selectors\.py"),
]
# A thread waiting, not working: py-spy cannot always tell (a thread just woken on a busy machine
# looks active), so samples whose innermost frame is one of these are set aside as waiting.
WAITING = re.compile(
    r"^(EpollSelector\.select|select|poll|Condition\.wait|Event\.wait|_wait_for_tstate_lock)"
    r" \((selectors|threading|selectors\.py|threading\.py)"
)
# Inclusive: a sample counts when any frame matches (these overlap the list above and each other).
INCLUSIVE = [
    ("GraphQL parse + validation (whole)", r"\(graphql/(language/parser|validation/)"),
    ("database work (SQLAlchemy + psycopg, whole)", r"\((sqlalchemy|psycopg)/"),
    ("pool checkout + pre-ping", r"_checkout \(sqlalchemy|do_ping|_do_ping"),
    ("tenant set_config on BEGIN", r"begin \(ler_plugin/db\.py"),
    ("rate-limit counter", r"\(ler_plugin/ratelimit\.py"),
    ("audit events", r"\(ler_plugin/audit\.py"),
    ("compliance evaluation (rollups/compliance.py)", r"\(ler_plugin/rollups/compliance\.py"),
    ("badge verification (badges/ob2.py, whole)", r"\(ler_plugin/badges/ob2\.py"),
    ("request log line (middleware _log)", r"_log \(ler_plugin/web/middleware\.py"),
    ("uvicorn access log", r"\(uvicorn/[^;]*;[^;]*\(logging/"),
]


def summarize_profile(
    path: Path, top: int = 8
) -> tuple[int, int, list[tuple[str, float]], list[tuple[str, float]], list[tuple[str, float]]]:
    """(working samples, waiting or unreadable ones, own-time shares, inclusive shares, the top
    functions by own time), each share in % of the working samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = empty = 0
    own_patterns = [(name, re.compile(pattern)) for name, pattern in OWN_TIME]
    inclusive_patterns = [(name, re.compile(pattern)) for name, pattern in INCLUSIVE]
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.strip().rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if not stack or WAITING.match(frames[-1]):
            empty += count  # waiting, or no Python frame could be read for this sample
            continue
        total += count
        charged = "other (standard library, interpreter)"
        for frame in reversed(frames):
            found = next((name for name, pattern in own_patterns if pattern.search(frame)), None)
            if found:
                charged = found
                break
        own[charged] += count
        for name, pattern in inclusive_patterns:
            if pattern.search(stack):
                inclusive[name] += count
        leaves[re.sub(r":\d+\)$", ")", frames[-1])] += count

    def shares(counter: Counter[str], limit: int | None = None) -> list[tuple[str, float]]:
        return [(name, n * 100 / max(total, 1)) for name, n in counter.most_common(limit)]

    return total, empty, shares(own), shares(inclusive), shares(leaves, top)


def profile(
    world: World, host: StaticHost, folder: Path, out: Path, kinds: list[str], seconds: float
) -> None:
    """py-spy profiles of the one worker under each kind (raw collapsed stacks in `out`)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out.mkdir(parents=True, exist_ok=True)
    server = Server("app", 1, world.port, world.env, folder / "profile.log").start()
    try:
        first_launches(world)
        warm(world, kinds, 4)
        login_rate = 50.0
        for kind in kinds:
            batch = single_use(world, kind, seconds, 1, login_rate) or world.requests(kind, 400)
            capture = folder / "logins.tsv" if kind == "lti_login" else None
            target = out / f"{kind}.txt"
            recorder = subprocess.Popen(
                [spy, "record", "--pid", str(server.pids()[0]), "--duration", f"{seconds:.0f}",
                 "--rate", "250", "--format", "raw", "--output", str(target)],
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            )  # fmt: skip
            time.sleep(0.5)  # attached
            result = measure(server, host, world, kind, batch, 4, seconds, folder, capture)
            recorder.wait(timeout=120)
            if capture is not None:
                world.capture(capture)
                login_rate = result.rate
            total, empty, own, inclusive, leaves = summarize_profile(target)
            lines = [
                f"\n{LABELS[kind]}: {result.rate:.1f} req/s under py-spy, "
                f"{result.ms(result.server_cpu):.1f} ms CPU/request, {total} samples "
                f"working (+{empty} waiting or unreadable)",
                "  own time:",
                *[f"  {percent:5.1f}%  {name}" for name, percent in own if percent >= 0.5],
                "  inclusive:",
                *[f"  {percent:5.1f}%  {name}" for name, percent in inclusive if percent >= 0.5],
                "  top functions by own time:",
                *[f"  {percent:5.1f}%  {name}" for name, percent in leaves],
            ]
            print("\n".join(lines), flush=True)
            with (out / "summary.txt").open("a") as summary:
                summary.write("\n".join(lines) + "\n")
    finally:
        server.stop()


# --- the run -----------------------------------------------------------------------------------


def environment(schema: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
    name = f"bench_http_{secrets.token_hex(3)}"  # finds this server's PostgreSQL backends
    env.update(
        LER_DATABASE_URL=f"postgresql+psycopg://{APP_ROLE}@127.0.0.1:5432/test?application_name={name}",
        LER_DATABASE_SCHEMA=schema,
        LER_BASE_URL=f"http://127.0.0.1:{port}",
        LER_ALLOW_INSECURE_LOOPBACK="1",  # the LMS keys and the badge host are on 127.0.0.1
        LER_ENVIRONMENT="development",  # production refuses plain-http hosts on loopback
        LER_SECRET_KEY=secrets.token_urlsafe(32),
        LER_DATA_DIR=tempfile.mkdtemp(prefix="ler-bench-"),
        # Every request comes from 127.0.0.1: the limits stay on (counted), never reached.
        LER_TOKEN_REQUESTS_PER_MINUTE="1000000",
        LER_LAUNCHES_PER_MINUTE="1000000",
        LER_BADGE_POSTS_PER_MINUTE="1000000",
    )
    return env


def single_use(
    world: World, kind: str, seconds: float, workers: int, login_rate: float
) -> list[Req]:
    """Enough single-use requests for a run, or [] for a kind that repeats its requests."""
    if kind == "lti_launch":
        # A launch costs the server more than a login: the login rate bounds the launch rate.
        top_up(world, int(login_rate * seconds * 1.3) + 10)
        return world.requests(kind, len(world.states))
    if kind == "badge_new":
        return world.requests(kind, int(150 * seconds * workers))
    return []


def mix_requests(world: World, cycles: int) -> list[Req]:
    order = [kind for kind, weight in MIX.items() for _ in range(weight)]
    pools = {kind: iter(world.requests(kind, weight * cycles)) for kind, weight in MIX.items()}
    shuffle = random.Random(20).shuffle
    schedule = []
    for _ in range(cycles):
        shuffle(order)
        schedule += [next(pools[kind]) for kind in order]
    return schedule


def run_server(
    world: World, host: StaticHost, folder: Path, workers: int, connections: int,
    seconds: float, mix_seconds: float, kinds: list[str], first: bool,
) -> list[Result]:  # fmt: skip
    """The bare query, then the tool under each kind and the mix, on `workers` workers."""
    results: list[Result] = []
    bare = Server("bare", workers, world.port, world.env, folder / f"bare-{workers}.log").start()
    try:
        parallel(world.port, [req.data for req in world.requests("bare", 8)])
        hello = world.requests("bare", 1)
        results.append(measure(bare, host, world, "bare", hello, connections, seconds, folder))
        results.append(measure(bare, host, world, "bare_1conn", hello, 1, seconds / 2, folder))
    finally:
        bare.stop()
    app = Server("app", workers, world.port, world.env, folder / f"app-{workers}.log").start()
    try:
        if first:
            first_launches(world)
        warm(world, kinds, 4 * workers)
        login_rate = 200.0
        for kind in kinds:
            capture = folder / "logins.tsv" if kind == "lti_login" else None
            # A slow kind on a busy machine: longer runs until it has answered enough to count.
            for span in (seconds, 3 * seconds, 9 * seconds):
                batch = single_use(world, kind, span, workers, login_rate) or world.requests(
                    kind, 400
                )
                result = measure(app, host, world, kind, batch, connections, span, folder, capture)
                if result.requests >= MIN_ANSWERS:
                    break
            if capture is not None:
                world.capture(capture)
                login_rate = result.rate
            results.append(result)
            progress(result)
        # The mix: single-use requests for twice the rate its kinds' CPU costs would allow.
        cost = {r.kind: r.ms(r.server_cpu) for r in results}
        per_request = sum(weight * cost[kind] for kind, weight in MIX.items()) / sum(MIX.values())
        expected = 2 * workers * 1000 / max(per_request, 0.5) * mix_seconds
        cycles = max(10, int(expected / sum(MIX.values())))
        top_up(world, cycles * MIX["lti_launch"])
        mix = mix_requests(world, cycles)
        result = measure(app, host, world, "mix", mix, connections, mix_seconds, folder)
        result.rss = [rss_mb(pid) for pid in app.worker_pids()]
        results.append(result)
        progress(result)
    finally:
        app.stop()
    return results


def progress(r: Result) -> None:
    print(
        f"  {r.workers} worker(s), {LABELS[r.kind]:<32} {r.rate:8.1f} req/s  p99 {r.p99:7.1f} ms"
        f"  {r.ms(r.server_cpu):6.1f} ms CPU/req  bad {r.bad}"
        + (f"  ({r.sample})" if r.bad else ""),
        flush=True,
    )


def check_badges(schema: str, world: World) -> bool:
    """Each posted assertion: at most one badge with one record; every answered post stored."""
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        rows = conn.execute(
            "SELECT assertion_id, count(*), count(record_id) FROM badge WHERE district_id = %s "
            "GROUP BY assertion_id",
            (world.district_id,),
        ).fetchall()
        shared = conn.execute(
            "SELECT count(record_id) - count(DISTINCT record_id) FROM badge WHERE district_id = %s",
            (world.district_id,),
        ).fetchone()
    stored = {str(a): (int(c), int(r)) for a, c, r in rows}
    missing = set(world.stored) - set(stored)
    unsent = set(stored) - world.sent
    doubled = [a for a, counts in stored.items() if counts != (1, 1)]
    shared_records = int(shared[0]) if shared else 0
    ok = not missing and not unsent and not doubled and not shared_records
    print(
        f"badges: {len(stored)} stored from {len(world.sent)} distinct assertions posted; "
        f"answered but not stored {len(missing)}, stored but never sent {len(unsent)}, "
        f"not exactly one badge with one record {len(doubled)}, records shared by two badges "
        f"{shared_records}: {'OK' if ok else 'FAILED'}"
    )
    return ok


def report(results: list[Result], trips: dict[str, tuple[float, float]]) -> None:
    for workers in sorted({r.workers for r in results}):
        rows = [r for r in results if r.workers == workers]
        bare = next(r for r in rows if r.kind == "bare")
        bare_ms = bare.ms(bare.server_cpu)
        print(
            f"\n{workers} worker(s), wrk closed loop, {rows[0].connections} connections "
            f"(the 1-connection row: 1):"
        )
        print(
            f"  {'request':<32} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'bad':>4} "
            f"{'CPU ms':>7} {'x bare':>6} {'db ms':>6} {'trips':>5} {'stmts':>5} {'log':>4}"
        )
        shown = list(rows)
        login = next((r for r in rows if r.kind == "lti_login"), None)
        launch = next((r for r in rows if r.kind == "lti_launch"), None)
        for r in shown:
            trip = trips.get(r.kind) if workers == 1 else None
            trip_text = f"{trip[0]:5.1f} {trip[1]:5.1f}" if trip else f"{'':5} {'':5}"
            cpu = r.ms(r.server_cpu)
            print(
                f"  {LABELS[r.kind]:<32} {r.rate:8.1f} {r.p50:7.1f} {r.p99:7.1f} {r.bad:4} "
                f"{cpu:7.1f} {cpu / bare_ms:6.1f} {r.ms(r.db_cpu):6.1f} {trip_text} "
                f"{r.log_lines / max(r.requests, 1):4.1f}"
                + ("  (few answers: a busy machine)" if r.requests < MIN_ANSWERS else "")
            )
            if r.kind == "lti_launch" and login and launch:
                # CPU adds up; rates and percentiles of two runs do not: none shown.
                cpu = login.ms(login.server_cpu) + launch.ms(launch.server_cpu)
                print(
                    f"  {LABELS['lti_full']:<32} {'':>8} {'':>7} {'':>7} {'':>4} {cpu:7.1f} "
                    f"{cpu / bare_ms:6.1f} {login.ms(login.db_cpu) + launch.ms(launch.db_cpu):6.1f}"
                )
        wall = sum(r.seconds for r in rows)
        print(
            f"  load generator (wrk) CPU: {sum(r.wrk_cpu for r in rows):.1f} s over {wall:.0f} s "
            f"of runs ({sum(r.wrk_cpu for r in rows) / wall * 100:.0f}% of one core); badge and "
            f"LMS-keys host: {sum(r.host_cpu for r in rows):.1f} s"
        )
        mix = next(r for r in rows if r.kind == "mix")
        if mix.rss:
            print(
                f"  memory after the mix: {', '.join(f'{m:.0f} MB' for m in mix.rss)} RSS per worker"
            )


def main() -> int:
    # A terminated run still stops its servers and drops its schema.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=3, help="Each kind's timed run.")
    parser.add_argument("--mix-seconds", type=int, default=10, help="The mix's timed run.")
    parser.add_argument("--teachers", type=int, default=1000, help="Teachers seeded.")
    parser.add_argument("--years", type=int, default=3, help="Years of records seeded.")
    parser.add_argument("--quick", action="store_true", help="Short runs on a small district.")
    parser.add_argument("--profile", type=Path, help="Profile one worker per kind into DIR.")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.mix_seconds, args.teachers, args.years = 2, 4, 200, 2
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    kinds = [
        "healthz", "wallet_gql", "rollup_gql", "my_compliance", "district_compliance",
        "wallet_page", "lti_login", "lti_launch", "badge_new", "badge_repeat",
    ]  # fmt: skip
    started = time.perf_counter()
    load = os.getloadavg()
    port = free_port()
    with (
        tempfile.TemporaryDirectory(prefix="bench-http-") as temp,
        StaticHost(Path(temp) / "static") as host,
        app_schema("http") as (schema, _),
    ):
        folder = Path(temp)
        env = environment(schema, port)
        world = prepare(env, schema, port, host, args.teachers, args.years)
        if args.profile:
            profile(world, host, folder, args.profile, kinds, max(args.seconds, 5.0))
            return 0
        results = []
        for workers, connections in ((1, 4), (2, 8)):
            results += run_server(
                world, host, folder, workers, connections, args.seconds, args.mix_seconds,
                kinds, first=workers == 1,
            )  # fmt: skip
        trips = count_round_trips(world, folder, kinds)
        ok = check_badges(schema, world)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"\nconditions: {os.cpu_count()} CPUs, load average {load[0]:.2f} before and "
        f"{os.getloadavg()[0]:.2f} after, commit {commit}, PostgreSQL as {APP_ROLE} (row-level "
        f"security on), uvicorn asyncio/h11 as `ler-plugin serve` runs it; {args.seconds:g} s per "
        f"kind, {args.mix_seconds:g} s mix; whole run {time.perf_counter() - started:.0f} s"
    )
    report(results, trips)
    mix = next(r for r in results if r.kind == "mix" and r.workers == 2)
    bad = sum(r.bad for r in results)
    print(f"\nhttp: mixed {mix.rate:.0f} req/s p99 {mix.p99:.0f} ms on 2 workers")
    return 0 if ok and not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
