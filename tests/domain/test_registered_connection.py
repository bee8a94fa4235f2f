"""The hot reads' psycopg connection that keeps its socket's reader on the event loop
(domain.infra.registered_connection), on the real database and on both event loops the
project runs on (asyncio in tests and tools, uvloop under uvicorn)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest
import uvloop
from psycopg.pq import TransactionStatus

from domain.infra.db import libpq_url
from domain.infra.registered_connection import RegisteredConnection

Scenario = Callable[["Counting"], Awaitable[None]]
Runs = Callable[[Scenario], None]


@pytest.fixture(params=[asyncio.new_event_loop, uvloop.new_event_loop],
                ids=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest, database_url: str) -> Runs:
    """Runs a scenario on a new connection, on a loop of the parameter's kind."""

    async def connected(scenario: Scenario) -> None:
        made = await Counting.connect(libpq_url(database_url), autocommit=True)
        try:
            await scenario(made)
        finally:
            await made.close()

    def runner(scenario: Scenario) -> None:
        with asyncio.Runner(loop_factory=request.param) as on_loop:
            on_loop.run(connected(scenario))

    return runner


async def _one(connection: Any, sql: str, params: Any = None) -> Any:
    row = await (await connection.execute(sql, params, prepare=True)).fetchone()
    return row[0]


class Counting(RegisteredConnection):
    """Counts the reader's wake-ups and its registrations."""

    wakes = 0
    registrations = 0

    def _wake(self) -> None:
        self.wakes += 1
        super()._wake()

    async def _readable(self, interval: float) -> int:
        if self._registered is None:
            self.registrations += 1
        return await super()._readable(interval)


def test_statements_answer_with_the_reader_kept(run: Runs) -> None:
    async def scenario(connection: Counting) -> None:
        answers = [await _one(connection, "SELECT %(n)s::int * 2", {"n": n}) for n in range(200)]
        assert answers == [n * 2 for n in range(200)]
        assert connection.registrations == 1
        assert connection.wakes >= 200

    run(scenario)


def test_a_socket_the_server_closed_while_idle_leaves_the_loop(run: Runs,
                                                               database_url: str) -> None:
    async def scenario(connection: Counting) -> None:
        pid = await _one(connection, "SELECT pg_backend_pid()")
        wakes = connection.wakes
        async with await psycopg.AsyncConnection.connect(libpq_url(database_url),
                                                         autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.3)  # the readable socket wakes the reader, nobody waiting
        assert connection.wakes == wakes + 1  # and once: it left the loop
        with pytest.raises(psycopg.OperationalError):  # not a wait for ever (uvloop's
            async with asyncio.timeout(10):  # reader never fires on a socket in error)
                await _one(connection, "SELECT 1")

    run(scenario)


def test_a_cancelled_statement_is_cancelled_in_the_server(run: Runs) -> None:
    async def scenario(connection: Counting) -> None:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await connection.execute("SELECT pg_sleep(10)")
        assert time.monotonic() - started < 5
        assert connection.info.transaction_status is TransactionStatus.IDLE
        assert await _one(connection, "SELECT 3") == 3

    run(scenario)


def test_a_statement_whose_backend_dies_fails(run: Runs, database_url: str) -> None:
    async def scenario(connection: Counting) -> None:
        pid = await _one(connection, "SELECT pg_backend_pid()")

        async def terminate() -> None:
            await asyncio.sleep(0.2)
            async with await psycopg.AsyncConnection.connect(libpq_url(database_url),
                                                             autocommit=True) as admin:
                await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        killer = asyncio.create_task(terminate())
        with pytest.raises(psycopg.OperationalError):
            async with asyncio.timeout(10):
                await connection.execute("SELECT pg_sleep(5)")
        await killer

    run(scenario)


def test_a_closed_connections_socket_number_serves_the_next(run: Runs,
                                                            database_url: str) -> None:
    async def scenario(connection: Counting) -> None:
        assert await _one(connection, "SELECT 1") == 1
        socket = connection.pgconn.socket
        await connection.close()
        second = await RegisteredConnection.connect(libpq_url(database_url), autocommit=True)
        try:
            assert second.pgconn.socket == socket  # the number the first one registered
            async with asyncio.timeout(5):
                assert await _one(second, "SELECT 2") == 2
        finally:
            await second.close()

    run(scenario)


def test_a_statement_larger_than_the_socket_buffer(run: Runs) -> None:
    async def scenario(connection: Counting) -> None:
        text = "x" * 20_000_000  # sent in several writes: psycopg's wait takes the rest
        assert await _one(connection, "SELECT length(%s)", (text,)) == len(text)
        assert await _one(connection, "SELECT 5") == 5

    run(scenario)
