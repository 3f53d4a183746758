from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.badges.ob2_host import BadgeSite, Host


@pytest.fixture
def site() -> Iterator[BadgeSite]:
    """An OB 2.0 issuer serving hosted badges from 127.0.0.1 for the duration of a test."""
    with Host() as host:
        yield BadgeSite(host)
