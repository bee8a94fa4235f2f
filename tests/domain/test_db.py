"""Engines and sessions: the pool keeps its connections; a transaction holds its statements
together; autocommit lets each stand alone."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import psycopg
from sqlalchemy import text

from domain.infra.db import PING_AFTER_IDLE_SECONDS, autocommit, make_async_engine, transaction

XID = text("SELECT txid_current()")


async def test_the_pool_keeps_every_connection_it_opens(database_url: str) -> None:
    """Up to twice the pool size at once, and none is closed on its way back (closing and
    reopening them under load costs a PostgreSQL backend each time)."""
    engine = make_async_engine(database_url, pool_size=2)
    try:
        async with AsyncExitStack() as stack:
            for _ in range(4):
                await stack.enter_async_context(engine.connect())
        pool: Any = engine.sync_engine.pool
        assert pool.checkedin() == 4
    finally:
        await engine.dispose()


async def test_autocommit_statements_each_commit_alone(sessions: Any) -> None:
    async with autocommit(sessions) as session:
        first = (await session.execute(XID)).scalar_one()
        second = (await session.execute(XID)).scalar_one()
    assert second > first


async def test_a_transaction_holds_its_statements_together(sessions: Any) -> None:
    async with transaction(sessions) as session:
        first = (await session.execute(XID)).scalar_one()
        second = (await session.execute(XID)).scalar_one()
    assert second == first


async def test_the_pool_gets_its_connections_back_transactional(sessions: Any) -> None:
    """Autocommit belongs to the session, not to the pooled connection it borrowed."""
    async with autocommit(sessions) as session:
        connection = await (await session.connection()).get_raw_connection()
        driver = connection.driver_connection
        assert driver is not None and driver.autocommit
    assert not driver.autocommit


async def test_a_connection_dropped_while_idle_is_replaced(database_url: str) -> None:
    """The server restarted, or a firewall cut the connection while it sat in the pool: the
    ping before its next use notices, and the session gets a fresh one."""
    engine = make_async_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await psycopg.AsyncConnection.connect(
            database_url.replace("+psycopg", ""), autocommit=True)
        async with admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(PING_AFTER_IDLE_SECONDS + 0.1)
        async with engine.connect() as conn:
            again = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != pid
    finally:
        await engine.dispose()


async def test_sessions_run_without_jit(sessions: Any) -> None:
    """JIT compiling a city-wide read took longer than the read (docs/benchmarks.md)."""
    async with sessions() as session:
        assert (await session.execute(text("SHOW jit"))).scalar_one() == "off"
