"""The autocommit connections of the hot reads (domain.infra.autocommit_pool), on the real
database: reused while healthy, replaced when in doubt, bounded, closed with the engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from domain.infra import autocommit_pool
from domain.infra.autocommit_pool import AutocommitPool
from domain.infra.db import NO_JIT, dispose_engine, libpq_url, make_async_engine, outage


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AutocommitPool]:
    made = AutocommitPool(libpq_url(database_url), options=NO_JIT, size=2)
    yield made
    await made.close()


async def _backend(connection: Any) -> int:
    row = await (await connection.execute("SELECT pg_backend_pid()")).fetchone()
    return int(row[0])


async def test_a_healthy_connection_is_reused_in_autocommit_mode(pool: AutocommitPool) -> None:
    async with pool.connection() as first:
        pid = await _backend(first)
        assert first.autocommit
        setting = await (await first.execute("SHOW jit")).fetchone()
        assert setting == ("off",)  # the engine's options
    async with pool.connection() as again:
        assert await _backend(again) == pid


async def test_a_connection_left_in_a_transaction_is_closed(pool: AutocommitPool) -> None:
    async with pool.connection() as first:
        pid = await _backend(first)
        await first.execute("BEGIN")
    assert first.closed
    async with pool.connection() as other:
        assert await _backend(other) != pid


async def test_an_idle_connection_that_died_is_replaced(pool: AutocommitPool,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        database_url: str) -> None:
    async with pool.connection() as first:
        pid = await _backend(first)
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url),
                                                     autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    monkeypatch.setattr(autocommit_pool, "PING_AFTER_IDLE_SECONDS", 0.0)
    async with pool.connection() as second:
        assert await _backend(second) != pid


async def test_no_more_than_size_at_once(pool: AutocommitPool) -> None:
    entered = asyncio.Event()
    release = asyncio.Event()
    inside: list[int] = []

    async def hold() -> None:
        async with pool.connection():
            inside.append(1)
            if len(inside) == 2:
                entered.set()
            await release.wait()
            inside.pop()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    await entered.wait()

    async def third() -> int:
        async with pool.connection():
            return len(inside)

    waiting = asyncio.create_task(third())
    await asyncio.sleep(0)
    assert not waiting.done()
    release.set()
    assert await waiting < 2
    await asyncio.gather(*holders)


async def test_a_database_that_cannot_be_reached_fails_at_once_as_an_outage() -> None:
    nowhere = AutocommitPool("postgresql://nobody@127.0.0.1:1/none", options=NO_JIT, size=1)
    with pytest.raises(psycopg.OperationalError) as raised:
        async with nowhere.connection():
            pass
    assert outage(raised.value) is not None


async def test_the_engine_closes_its_pool(database_url: str) -> None:
    engine = make_async_engine(database_url, pool_size=1)
    pool = autocommit_pool.pool_of(engine)
    async with pool.connection() as connection:
        await connection.execute("SELECT 1")
    await dispose_engine(engine)
    assert connection.closed
    with pytest.raises(psycopg.InterfaceError) as raised:
        async with pool.connection():
            pass
    assert outage(raised.value) is not None


async def test_a_connection_broken_in_use_takes_the_idle_ones_with_it(
        pool: AutocommitPool, database_url: str) -> None:
    async with pool.connection() as first, pool.connection() as second:
        pids = [await _backend(first), await _backend(second)]
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url),
                                                     autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE pid = ANY(%s)", (pids,))
    with pytest.raises(psycopg.OperationalError):
        async with pool.connection() as dead:  # used a moment ago: no ping
            await dead.execute("SELECT 1")
    async with pool.connection() as fresh:
        assert await _backend(fresh) not in pids
