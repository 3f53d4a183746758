"""Fixed-window rate limits kept in the database, so every worker process shares them.

One row per (key, window): an upsert that adds one and returns the count. Keys name what is
limited and who asks (``token:client:abc``, ``launch:ip:203.0.113.9``).
"""

from __future__ import annotations

import math
import time

from sqlalchemy import BigInteger, Integer, String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ler_plugin.db import Base, upsert_insert
from ler_plugin.errors import LerError


class RateLimited(LerError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("rate_limited", message)
        self.retry_after = retry_after


class RateCounter(Base):
    """Requests counted per key in one fixed time window; old windows are swept."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_index: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    # Unix time when the window ends; rows past it are only history.
    ends_at: Mapped[int] = mapped_column(BigInteger, index=True)


async def hit(session: AsyncSession, key: str, *, limit: int, per_seconds: int) -> int:
    """Count one request for ``key``; raise `RateLimited` past ``limit`` in the window."""
    now = time.time()
    window = int(now // per_seconds)
    statement = (
        upsert_insert(session, RateCounter)
        .values(key=key, window_index=window, hits=1, ends_at=(window + 1) * per_seconds)
        .on_conflict_do_update(
            index_elements=["key", "window_index"], set_={"hits": RateCounter.hits + 1}
        )
        .returning(RateCounter.hits)
    )
    hits = int((await session.execute(statement)).scalar_one())
    if hits > limit:
        retry = max(1, math.ceil((window + 1) * per_seconds - now))
        raise RateLimited(f"too many requests: try again in {retry} s", retry)
    return hits


async def sweep(session: AsyncSession) -> int:
    """Drop the counters of windows that have ended."""
    result = await session.execute(
        delete(RateCounter).where(RateCounter.ends_at < int(time.time()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
