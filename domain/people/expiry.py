"""Purging what sign-in leaves behind once it is of no use: sign-in codes past their expiry
(a code works five minutes; a spent or voided one never again) and refresh tokens past
theirs (an expired token is refused whatever it is, so reuse detection loses nothing).
Sessions stay: access tokens and the audit trail name them.

Run by a periodic job (workers.schedule), in batches of PURGE_BATCH rows, each its own
transaction; safe to run twice at once (the second finds fewer rows or none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

#: Rows one purge transaction deletes at most, per table.
PURGE_BATCH = 5000

_DELETE = {table: text(f"""
    DELETE FROM {table} WHERE id IN (
        SELECT id FROM {table} WHERE expires_at < :now ORDER BY id LIMIT :batch
        FOR UPDATE SKIP LOCKED)""") for table in ("sign_in_code", "refresh_token")}


@dataclass(frozen=True)
class Purged:
    """How many rows a purge deleted."""

    codes: int
    refresh_tokens: int


async def _purge(sessions: async_sessionmaker[AsyncSession], table: str, now: datetime,
                 batch: int) -> int:
    deleted = 0
    while True:
        async with sessions() as session, session.begin():
            result = await session.execute(_DELETE[table], {"now": now, "batch": batch})
        count = int(result.rowcount)  # type: ignore[attr-defined]
        deleted += count
        if count < batch:
            return deleted


async def purge_expired(sessions: async_sessionmaker[AsyncSession], *, now: datetime,
                        batch: int = PURGE_BATCH) -> Purged:
    """Delete the sign-in codes and refresh tokens expired as of `now`."""
    return Purged(codes=await _purge(sessions, "sign_in_code", now, batch),
                  refresh_tokens=await _purge(sessions, "refresh_token", now, batch))
