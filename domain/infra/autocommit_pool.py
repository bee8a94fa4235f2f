"""psycopg connections in autocommit mode for the hottest reads (domain.infra.rows'
`autocommit_connection`), pooled beside each engine's own pool and made to its settings.

Taking a connection from SQLAlchemy's pool and giving it back, switching it to autocommit and
back, cost a coverage request ~40 µs of CPU in the API and its checkin a rollback call; these
connections stay in autocommit mode and come out of a plain list (~5 µs). They follow the
engine's settings: the same database and `options` (domain.infra.db.make_async_engine), at
most as many as its pool holds (2 × DB_POOL_SIZE), kept open once made, pinged before use
after PING_AFTER_IDLE_SECONDS idle (and replaced when the ping fails; a connection found
broken after use closes the idle ones too, as a restart broke them all), made on demand so a
database that cannot be reached fails the read at once (an outage, domain.infra.db.outage),
and a read waits at most POOL_TIMEOUT_SECONDS for a free one (TimeoutError, an outage too),
as SQLAlchemy's pool does. `dispose_engine` (domain.infra.db) closes them with the engine.
They are RegisteredConnections (domain.infra.registered_connection): their socket's reader
stays on the event loop between statements.

psycopg_pool was measured too (~9 µs a checkout), but it makes connections in background
tasks, so a read meeting a database that is down waits its whole timeout instead of failing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg.pq import TransactionStatus

from domain.infra.registered_connection import RegisteredConnection

#: A connection used this recently is handed out without a ping (as domain.infra.db's).
PING_AFTER_IDLE_SECONDS = 0.5
#: How long a read waits for a free connection when all are taken (SQLAlchemy's default).
POOL_TIMEOUT_SECONDS = 30.0

Connection = psycopg.AsyncConnection[Any]


class AutocommitPool:
    """Up to `size` autocommit connections to `conninfo` (libpq), made with `options`."""

    def __init__(self, conninfo: str, *, options: str, size: int) -> None:
        self.conninfo, self.options, self.size = conninfo, options, size
        self._idle: list[tuple[Connection, float]] = []
        self._slots = asyncio.Semaphore(size)
        self.closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection for the block, given back (or closed, when the block left it in
        doubt: a statement cancelled midway, a broken connection) when it ends."""
        if self.closed:
            raise psycopg.InterfaceError("the autocommit pool is closed")
        if self._slots.locked():
            async with asyncio.timeout(POOL_TIMEOUT_SECONDS):
                await self._slots.acquire()
        else:
            await self._slots.acquire()
        try:
            connection = await self._take()
            try:
                yield connection
            finally:
                await self._give_back(connection)
        finally:
            self._slots.release()

    async def _take(self) -> Connection:
        while self._idle:
            connection, since = self._idle.pop()  # the most recently used: warm caches
            if connection.closed:
                continue
            if time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
                return connection
            try:
                await connection.execute("SELECT 1")
                return connection
            except psycopg.Error:
                await connection.close()
        return await RegisteredConnection.connect(self.conninfo, autocommit=True,
                                                  options=self.options)

    async def _give_back(self, connection: Connection) -> None:
        status = connection.info.transaction_status
        if connection.closed or status is TransactionStatus.UNKNOWN:
            # Broken: a restart or a cut most likely took the idle ones too (as SQLAlchemy's
            # pool renews every connection older than a failure).
            await connection.close()
            await self._close_idle()
        elif self.closed or status is not TransactionStatus.IDLE:
            await connection.close()
        else:
            self._idle.append((connection, time.monotonic()))

    async def _close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await connection.close()

    async def close(self) -> None:
        """Close the idle connections; those in use close when they come back."""
        self.closed = True
        await self._close_idle()


#: Each engine's pool (by its sync Engine, which the AsyncEngine wraps).
_POOLS: WeakKeyDictionary[Any, AutocommitPool] = WeakKeyDictionary()


def attach(engine: Any, pool: AutocommitPool) -> None:
    """Make `pool` the autocommit pool of `engine` (an AsyncEngine)."""
    _POOLS[engine.sync_engine] = pool


def pool_of(engine: Any) -> AutocommitPool:
    """The autocommit pool of `engine` (an AsyncEngine from make_async_engine)."""
    return _POOLS[engine.sync_engine]


async def close_pool(engine: Any) -> None:
    """Close `engine`'s autocommit pool, if it has one (a read after it fails as an outage)."""
    pool = _POOLS.get(engine.sync_engine)
    if pool is not None:
        await pool.close()
