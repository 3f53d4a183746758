"""The district systems a roster is read from. Each is a `Source`: `read` gives a `Roster` of
plain rows, and `service.apply` does the rest, the same for every source."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ler_plugin.config import Settings
from ler_plugin.fetch import FetchPolicy, guarded_async_client
from ler_plugin.roster import edfi, oneroster_csv, oneroster_rest
from ler_plugin.roster.errors import RosterError
from ler_plugin.roster.remote import Client
from ler_plugin.roster.rows import Progress, Roster

SAMPLE = Path(__file__).with_name("sample")


class Source(Protocol):
    async def read(self, progress: Progress | None = None) -> Roster: ...


@dataclass(frozen=True)
class OneRosterCsv:
    """A OneRoster 1.2 (or 1.1) CSV bundle: a folder or a zip."""

    path: Path

    async def read(self, progress: Progress | None = None) -> Roster:
        return await asyncio.to_thread(oneroster_csv.read, self.path, progress)


def remote_policy(settings: Settings) -> FetchPolicy:
    """A whole roster is thousands of pages from one server: no per-run request budget, pages
    of up to 20 MB, a minute each."""
    return FetchPolicy.from_settings(
        settings, max_requests=sys.maxsize, max_bytes=20 * 1024 * 1024, timeout=60.0
    )


@dataclass(frozen=True)
class OneRosterRest:
    """A OneRoster 1.2 rostering API (`…/ims/oneroster/rostering/v1p2`), OAuth 2.0 client
    credentials at `token_url`."""

    url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    policy: FetchPolicy = field(default_factory=FetchPolicy)

    async def read(self, progress: Progress | None = None) -> Roster:
        async with guarded_async_client(self.policy) as http:
            client = Client(
                http, self.token_url, self.client_id, self.client_secret, oneroster_rest.SCOPE
            )
            return await oneroster_rest.read(client, self.url, progress)


@dataclass(frozen=True)
class EdFi:
    """An Ed-Fi ODS/API 7: its base URL (the root document names the token and data URLs)."""

    url: str
    client_id: str
    client_secret: str = field(repr=False)
    policy: FetchPolicy = field(default_factory=FetchPolicy)

    async def read(self, progress: Progress | None = None) -> Roster:
        async with guarded_async_client(self.policy) as http:
            response = await http.get(self.url, headers={"Accept": "application/json"})
            await response.aread()
            if response.status_code >= 400:
                raise RosterError(
                    "server_error", f"{self.url} answered HTTP {response.status_code}", status=502
                )
            try:
                root = response.json()
            except ValueError:
                raise RosterError("not_edfi", f"{self.url} did not answer JSON") from None
            token_url, data_url = edfi.urls(root, self.url)
            client = Client(http, token_url, self.client_id, self.client_secret)
            return await edfi.read(client, data_url, progress)


def sample() -> OneRosterCsv:
    """The OneRoster 1.2 bundle shipped for the demo: the demo district's three schools, its
    nine teachers (same emails), a principal, a district administrator and three students."""
    return OneRosterCsv(SAMPLE)
