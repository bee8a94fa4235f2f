"""PostgreSQL advisory locks that keep a periodic job to one process at a time, across every
worker machine sharing the database.

The lock is session-level (`pg_try_advisory_lock`) on a connection of its own, so it stays held
while the job commits transaction after transaction on other connections (a survey batch
commits chunk by chunk). If the process dies, PostgreSQL drops its connection and the lock with
it, so a crashed holder never blocks the others for long. Behind PgBouncer this needs session
pooling (which docs/deployment.md already asks for).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("gridsteward.lock")


def lock_key(name: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of `name`, the same in every process."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def advisory_lock(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Try, without waiting, to take the lock `name` until the block ends; yields whether it
    was taken (when not, another process holds it and the caller should skip its turn)."""
    key = lock_key(name)
    async with engine.connect() as conn:
        taken = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                          {"key": key})).scalar_one())
        await conn.commit()  # the lock outlives the transaction; no transaction idles open
        try:
            yield taken
        finally:
            if taken:
                await _release(conn, key, name)


async def _release(conn: AsyncConnection, key: int, name: str) -> None:
    """Unlock; if that fails, close the connection rather than pool it, so a connection
    that may still hold the lock is never handed to someone else."""
    try:
        released = bool((await conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                                             {"key": key})).scalar_one())
        await conn.commit()
    except Exception:
        log.warning("could not release advisory lock %s; closing its connection", name,
                    exc_info=True)
        released = False
    if not released:
        await conn.invalidate()
