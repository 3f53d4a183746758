"""The OneRoster 1.2 REST source: `ler-plugin roster import --oneroster-url` in a real process
against a OneRoster server written from the spec, served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ler_plugin.roster.sources import SAMPLE
from tests.lti.advantage.lms import serve
from tests.roster.cli import Install
from tests.roster.oneroster_server import BASE, OneRosterServer, from_bundle
from tests.roster.test_oneroster_csv import assert_counts, import_bundle, staff

pytestmark = pytest.mark.asyncio(loop_scope="session")
SECRET = "s3cret-of-the-district"


@pytest.fixture
def server() -> Iterator[OneRosterServer]:
    made = OneRosterServer(client_id="wallet", client_secret=SECRET)
    with serve(made.app()) as url:
        made.url = url
        made.orgs, made.users = from_bundle(SAMPLE, url + BASE)
        yield made


def api_import(
    install: Install, server: OneRosterServer, *extra: str, ok: bool = True, secret: str = SECRET
):  # type: ignore[no-untyped-def]
    return install.run(
        "roster",
        "import",
        "--district",
        install.district,
        "--oneroster-url",
        server.url + BASE,
        "--token-url",
        server.url + "/token",
        "--client-id",
        "wallet",
        "--client-secret-env",
        "ROSTER_SECRET",
        *extra,
        ok=ok,
        ROSTER_SECRET=secret,
    )


async def test_the_api_gives_the_same_staff_as_the_csv_bundle(
    district: Install, server: OneRosterServer
) -> None:
    first = api_import(district, server)
    assert_counts(
        first.stdout,
        {
            "schools created": 3,
            "staff created": 12,
            "school assignments added": 12,
            "refused rows": 0,
        },
    )
    # Paged as the server pages: it caps limit at 4, so 16 users take 4 pages and one token.
    assert server.requests.count("POST /token") == 1
    assert [r for r in server.requests if r.startswith("GET /users")] == [
        f"GET /users?limit=500&offset={n}" for n in (0, 4, 8, 12)
    ]
    via_api = await staff(district)
    again = api_import(district, server)
    assert_counts(again.stdout, {"staff created": 0, "staff updated": 0, "staff unchanged": 12})
    # The same people from the bundle the server was built from: nothing to change either.
    from_csv = import_bundle(district, SAMPLE)
    assert_counts(
        from_csv.stdout,
        {
            "staff created": 0,
            "staff updated": 0,
            "staff unchanged": 12,
            "school assignments added": 0,
        },
    )
    assert await staff(district) == via_api


async def test_a_changed_server_changes_only_what_changed(
    district: Install, server: OneRosterServer
) -> None:
    api_import(district, server)
    ben = next(u for u in server.users if u["sourcedId"] == "usr-t-0002")
    ben["familyName"] = "Okafor-Lee"
    server.users = [u for u in server.users if u["sourcedId"] != "usr-t-0009"]
    changed = api_import(district, server)
    assert_counts(
        changed.stdout, {"staff updated": 1, "staff deactivated": 1, "staff unchanged": 10}
    )
    people = await staff(district)
    assert people["usr-t-0002"][0] == "Ben Okafor-Lee"
    assert people["usr-t-0009"][1] is False


async def test_refusals_are_clear_and_write_nothing(
    district: Install, server: OneRosterServer
) -> None:
    wrong = api_import(district, server, ok=False, secret="not-the-secret")
    assert wrong.returncode == 1
    assert "token_refused" in wrong.stderr and "Traceback" not in wrong.stderr
    missing = district.run(
        "roster",
        "import",
        "--district",
        district.district,
        "--oneroster-url",
        server.url + BASE,
        "--token-url",
        server.url + "/token",
        "--client-id",
        "wallet",
        "--client-secret-env",
        "NOT_SET",
        ok=False,
    )
    assert missing.returncode == 2 and "NOT_SET" in missing.stderr
    # Every request goes through the guarded fetcher: a private address is refused before it is asked.
    private = district.run(
        "roster",
        "import",
        "--district",
        district.district,
        "--oneroster-url",
        "http://10.1.2.3" + BASE,
        "--token-url",
        "http://10.1.2.3/token",
        "--client-id",
        "wallet",
        "--client-secret-env",
        "ROSTER_SECRET",
        ok=False,
        ROSTER_SECRET=SECRET,
    )
    assert private.returncode == 1 and "blocked_address" in private.stderr
    assert await staff(district) == {}
