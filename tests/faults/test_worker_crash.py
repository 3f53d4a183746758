"""The served tool killed (SIGKILL) in the middle of a request: each batch is stored whole or
not at all, and the audit log says exactly what is stored.

The kill is made deterministic by a host we control: the LMS (roster, gradebook) or the badge
issuer kills the server the moment the server's request reaches it, so the server dies while it
waits for that answer. On PostgreSQL the kill also comes mid-write: the test holds a lock on a
table the transaction writes last, waits until the server's transaction is stuck behind it with
its badge or its records already written, and kills the server there.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ler_plugin.audit import AuditEvent
from ler_plugin.config import Settings
from ler_plugin.wallet.models import Record, Teacher
from tests import factories
from tests.badges.ob2_host import BadgeSite, Host, Route
from tests.conftest import free_port
from tests.facilitator.conftest import INSTRUCTOR, csrf
from tests.facilitator.lms import CourseLms, member
from tests.intake.helpers import count_badges, district_with_provider, gql, operation, teacher
from tests.lti.advantage.lms import serve
from tests.lti.platform import Browser


class Server:
    """`ler-plugin serve` (one worker) as a process of its own, on the test database."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LER_")}
        self.env.update(
            LER_DATABASE_URL=settings.database_url,
            LER_SECRET_KEY=settings.secret_key,
            LER_ALLOW_INSECURE_LOOPBACK="1",
            LER_BASE_URL=self.url,
        )
        if settings.database_schema:
            self.env["LER_DATABASE_SCHEMA"] = settings.database_schema
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ler_plugin", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120  # slow on a loaded machine; ends when ready
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server stopped on its own"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not answer /healthz within 30 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback, no cleanup in the process."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    def killed(self) -> bool:
        assert self.process is not None
        return self.process.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextmanager
def server(settings: Settings) -> Iterator[Server]:
    found = Server(settings)
    try:
        found.start()
        yield found
    finally:
        found.stop()


async def tags(factory: async_sessionmaker[AsyncSession], district_id: int) -> list[str]:
    async with factory() as session:
        rows = await session.scalars(
            select(AuditEvent.tag).where(AuditEvent.district_id == district_id)
        )
        return list(rows)


async def records(factory: async_sessionmaker[AsyncSession], district_id: int) -> int:
    async with factory() as session:
        found = await session.scalar(
            select(func.count()).select_from(Record).where(Record.district_id == district_id)
        )
        return int(found or 0)


async def teachers(factory: async_sessionmaker[AsyncSession], district_id: int) -> int:
    async with factory() as session:
        found = await session.scalar(
            select(func.count()).select_from(Teacher).where(Teacher.district_id == district_id)
        )
        return int(found or 0)


# --- a lock held by the test, to stop the server's transaction mid-write (PostgreSQL) ----------


async def _connect(settings: Settings, autocommit: bool) -> psycopg.AsyncConnection[Any]:
    plain = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    return await psycopg.AsyncConnection.connect(
        plain, autocommit=autocommit, options=f"-c search_path={settings.database_schema}"
    )


async def _poll(
    watcher: psycopg.AsyncConnection[Any], query: str, args: tuple[Any, ...], until: bool
) -> Any:
    """The first row of `query` once there is one (`until` True) or once there is none."""
    deadline = time.monotonic() + 120  # slow on a loaded machine; ends when ready
    while time.monotonic() < deadline:
        row = await (await watcher.execute(query, args)).fetchone()
        if (row is not None) == until:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited 30 s for {query!r} {args}")


STUCK = (
    "SELECT a.pid, array(SELECT c.relname::text FROM pg_locks l JOIN pg_class c "
    "ON c.oid = l.relation WHERE l.pid = a.pid AND l.granted AND l.mode = 'RowExclusiveLock') "
    "FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' AND a.query ILIKE %s"
)


async def killed_mid_write(
    settings: Settings,
    tool: Server,
    table: str,
    written: tuple[str, ...],
    send: Callable[[], Awaitable[Any]],
) -> None:
    """Send a request and kill the server once its transaction waits to write `table` with
    `written` already written to; then let the database end that orphaned transaction."""
    lock = await _connect(settings, autocommit=False)
    watcher = await _connect(settings, autocommit=True)  # outside a transaction: fresh views
    try:
        await lock.execute(f"LOCK TABLE {table} IN SHARE MODE")
        request = asyncio.ensure_future(send())
        pid, holding = await _poll(watcher, STUCK, (f"%INSERT INTO {table}%",), until=True)
        assert set(written) <= set(holding), f"stuck before writing {written}: {holding}"
        tool.kill()
        with pytest.raises(httpx.HTTPError):
            await request
        assert tool.killed()
        await lock.rollback()  # the lock goes; the orphaned transaction can only roll back
        await _poll(watcher, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,), until=False)
    finally:
        await lock.close()
        await watcher.close()


def postgres_only(settings: Settings) -> None:
    if not settings.database_url.startswith("postgres"):
        pytest.skip(
            "a lock between two connections stops PostgreSQL mid-transaction; SQLite "
            "takes its write lock at the first write, so there is no middle to stop in"
        )


# --- a badge post killed while the server fetches the badge ------------------------------------


async def test_badge_post_killed_mid_fetch_stores_nothing_and_a_retry_stores_one(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    with Host() as host, server(settings) as tool:
        site = BadgeSite(host)
        district_id, made = await district_with_provider(session_factory, [site.issuer_url])
        await teacher(session_factory, district_id, "crash@example.org")
        url = site.hosted("crash", recipient=site.recipient("crash@example.org"))
        bearer = _token(tool.url, made.client_id, made.client_secret)
        # The issuer kills the server when the badge's image is asked for: the assertion, the
        # class and the issuer are already fetched, nothing is stored yet.
        image = site.image_url.removeprefix(host.base)
        served_image = host.routes[image]

        def kill_then_answer() -> Route:
            tool.kill()
            return served_image  # type: ignore[return-value]

        host.route(image, kill_then_answer)
        query, variables = operation("post_badge"), {"input": {"url": url}}
        try:
            answer = httpx.post(
                f"{tool.url}/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {bearer}"},
                timeout=20,
            )
            raise AssertionError(f"the server answered after its kill: {answer.text[:300]}")
        except httpx.HTTPError:
            pass
        assert tool.killed()
        assert host.hits(image) == 1
        assert await count_badges(session_factory, district_id) == 0
        assert await records(session_factory, district_id) == 0
        assert "record:badge:verify" not in await tags(session_factory, district_id)

        host.route(image, served_image)
        tool.start()
        again = gql(tool.url, bearer, query, variables)["data"]["postBadge"]
        assert (again["outcome"], again["created"]) == ("RECORDED", True)
        assert await count_badges(session_factory, district_id) == 1
        assert await records(session_factory, district_id) == 1
        assert (await tags(session_factory, district_id)).count("record:badge:verify") == 1


async def test_badge_post_killed_mid_write_stores_nothing_and_a_retry_stores_one(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    postgres_only(settings)
    with Host() as host, server(settings) as tool:
        site = BadgeSite(host)
        district_id, made = await district_with_provider(session_factory, [site.issuer_url])
        await teacher(session_factory, district_id, "midwrite@example.org")
        url = site.hosted("midwrite", recipient=site.recipient("midwrite@example.org"))
        bearer = _token(tool.url, made.client_id, made.client_secret)
        query, variables = operation("post_badge"), {"input": {"url": url}}

        async def post() -> httpx.Response:
            async with httpx.AsyncClient(timeout=60) as client:
                return await client.post(
                    f"{tool.url}/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {bearer}"},
                )

        # Verified, the badge row written; the audit event is the transaction's last write.
        await killed_mid_write(settings, tool, "audit_event", ("badge",), post)
        assert await count_badges(session_factory, district_id) == 0
        assert await records(session_factory, district_id) == 0
        assert "record:badge:verify" not in await tags(session_factory, district_id)

        tool.start()
        again = gql(tool.url, bearer, query, variables)["data"]["postBadge"]
        assert (again["outcome"], again["created"]) == ("RECORDED", True)
        assert await count_badges(session_factory, district_id) == 1
        assert await records(session_factory, district_id) == 1
        assert (await tags(session_factory, district_id)).count("record:badge:verify") == 1


def _token(base_url: str, client_id: str, client_secret: str) -> str:
    response = httpx.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


# --- a facilitator's award killed before, during and after its transaction ----------------------------------

LEARNERS = 30


class Tripwire:
    """An ASGI app in front of the test LMS: kills the server at the `nth` request to a path."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.path = ""
        self.countdown = 0
        self.kill: Callable[[], None] = lambda: None

    def arm(self, path: str, nth: int, kill: Callable[[], None]) -> None:
        self.path, self.countdown, self.kill = path, nth, kill

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.countdown and scope["type"] == "http" and scope["path"].startswith(self.path):
            self.countdown -= 1
            if self.countdown == 0:
                self.kill()
        await self.app(scope, receive, send)


class Board:
    """The LMS's server; the app behind it is attached once the tool's URL is known."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


async def test_award_killed_mid_request_lands_whole_or_not_at_all(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    board = Board()
    with serve(board) as lms_url, server(settings) as tool:
        course = CourseLms(tool_url=tool.url, base=lms_url, page_size=50)
        course.members = [
            member(0, "Instructor", user_id="facilitator-1"),
            *(member(n) for n in range(1, LEARNERS + 1)),
        ]
        tripwire = Tripwire(course.app())
        board.app = tripwire
        district_id = await factories.district_with_platform(
            session_factory, settings, course.registration()
        )
        browser = Browser(tool.url)
        try:
            params = await browser.login(course)  # type: ignore[arg-type]
            id_token = course.id_token(params["nonce"], sub="facilitator-1", roles=[INSTRUCTOR])
            launched = await browser.launch(id_token, params["state"])
            assert launched.status_code == 303, launched.text
            token = parse_qs(urlsplit(launched.headers["location"]).query)["session"][0]
            page_url = f"{tool.url}/app/facilitator"

            def award_form(csrf_token: str) -> dict[str, Any]:
                return {
                    "csrf": csrf_token,
                    "member": [m["user_id"] for m in course.members[1:]],
                    "title": "Crash course",
                    "clock_hours": "2",
                    "completed_on": "2026-03-01",
                    "category": "literacy",
                }

            async def award_killed() -> None:
                """The page (one roster read), then the award, which the tripwire kills."""
                first = await browser.client.get(page_url, params={"session": token})
                assert first.status_code == 200, first.text
                form = award_form(csrf(first.text))
                try:
                    answer = await browser.client.post(
                        page_url, params={"session": token}, data=form
                    )
                    raise AssertionError(f"answered after the kill: {answer.status_code}")
                except httpx.HTTPError:
                    pass
                assert tool.killed()
                assert tripwire.countdown == 0

            # Killed while the award reads the roster again: before its transaction.
            before = await tags(session_factory, district_id)
            known = await teachers(session_factory, district_id)  # the facilitator, launched
            tripwire.arm("/memberships", 2, tool.kill)
            await award_killed()
            assert await records(session_factory, district_id) == 0
            assert await teachers(session_factory, district_id) == known  # no roster member
            assert await tags(session_factory, district_id) == before

            # Killed mid-write (PostgreSQL): teachers, wallets and a first record written, the
            # transaction waiting to update the rollups. None of it may land.
            if settings.database_url.startswith("postgres"):
                tool.start()
                first = await browser.client.get(page_url, params={"session": token})
                form = award_form(csrf(first.text))

                async def post_award() -> httpx.Response:
                    return await browser.client.post(page_url, params={"session": token}, data=form)

                written = ("teacher", "wallet", "record")
                await killed_mid_write(settings, tool, "rollup_cell", written, post_award)
                assert await records(session_factory, district_id) == 0
                assert await teachers(session_factory, district_id) == known
                assert await tags(session_factory, district_id) == before

            # Killed while the scores go to the gradebook: after the commit, so all of it.
            tool.start()
            tripwire.arm("/lineitems", 1, tool.kill)
            await award_killed()
            assert await records(session_factory, district_id) == LEARNERS
            assert await teachers(session_factory, district_id) == known + LEARNERS
            awarded = (await tags(session_factory, district_id)).count("record:lms_award:create")
            assert awarded == 1
            assert course.scores == []
        finally:
            await browser.close()
