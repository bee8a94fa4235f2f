"""Open-loop load at a steady rate, for latency that means something on a small machine.

A closed loop of N clients measures queueing: its p50 is about N ÷ throughput whatever one
request costs. Here requests start on a fixed schedule (`rate` a second) whether or not the
earlier ones have been answered, each on an idle connection (a new one when none is idle),
and each latency runs from the request's *scheduled* start, so a stall of the server or of
this client delays every request behind it in the figures too (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

C = TypeVar("C")

#: Connections one phase may hold at once: beyond this, requests wait for an idle one (and
#: their wait counts in their latency).
MAX_CONNECTIONS = 256


class Recorder(Protocol):
    """What a steady run reports to: every answer (scheduled start, end, error, null answer),
    and how late each request really began (this client's own share of its latency: timers,
    event loop)."""

    def record(self, started: float, ended: float, error: str | None, null: bool) -> None: ...

    def record_lag(self, scheduled: float, began: float) -> None: ...


@dataclass(frozen=True)
class Connector(Generic[C]):
    """How to open a connection, ask one question on it ((error, answer is null)) and close it."""

    open: Callable[[], Awaitable[C]]
    ask: Callable[[C, Any], Awaitable[tuple[str | None, bool]]]
    close: Callable[[C], Awaitable[None]]


@dataclass(frozen=True)
class Schedule:
    """Requests every 1/`rate` s from `begin` until `stop_at` (perf_counter seconds)."""

    rate: float
    begin: float
    stop_at: float

    def times(self) -> list[float]:
        count = max(0, int((self.stop_at - self.begin) * self.rate))
        return [self.begin + k / self.rate for k in range(count)]


class _Connections(Generic[C]):
    """Idle connections, used in turn (first in, first out: keep-alive connections that landed
    on different server processes share the work)."""

    def __init__(self, connector: Connector[C]) -> None:
        self.connector = connector
        self.idle: asyncio.Queue[C] = asyncio.Queue()
        self.opened = 0

    async def take(self) -> C:
        if self.idle.empty() and self.opened < MAX_CONNECTIONS:
            self.opened += 1
            try:
                return await self.connector.open()
            except BaseException:
                self.opened -= 1
                raise
        return await self.idle.get()

    async def give_back(self, conn: C, broken: bool) -> None:
        if broken:
            self.opened -= 1
            await self.connector.close(conn)
        else:
            self.idle.put_nowait(conn)

    def drain(self) -> list[C]:
        return [self.idle.get_nowait() for _ in range(self.idle.qsize())]


async def run_steady(connector: Connector[C], payloads: Sequence[Any], schedule: Schedule,
                     recorder: Recorder, *, preopen: int = 4, stagger: float = 0.0,
                     grace: float = 30.0) -> list[C]:
    """Send payloads in turn on `schedule`; record every request; wait up to `grace` seconds
    after the last start for answers (one still missing then is recorded as an error).
    Returns the open connections, for the caller to close once it has read the CPU its
    server processes used (a closed PostgreSQL backend takes its CPU time with it)."""
    pool = _Connections(connector)
    for _ in range(preopen):  # apart, so that uvicorn's processes each accept some
        await pool.give_back(await pool.take(), broken=False)
        await asyncio.sleep(stagger)
    tasks: list[asyncio.Task[None]] = []
    for k, at in enumerate(schedule.times()):
        while (left := at - time.perf_counter()) > 0:  # a timer may fire a little early
            await asyncio.sleep(left)
        payload = payloads[k % len(payloads)]
        tasks.append(asyncio.create_task(_one(pool, payload, at, recorder)))
    _, late = await asyncio.wait(tasks, timeout=grace) if tasks else (set(), set())
    for task in late:
        task.cancel()
        recorder.record(schedule.stop_at, time.perf_counter(), f"no answer within {grace:g} s",
                        False)
    return pool.drain()


async def _one(pool: _Connections[C], payload: Any, scheduled: float,
               recorder: Recorder) -> None:
    """One request: an idle connection, the question, the record (latency from `scheduled`)."""
    recorder.record_lag(scheduled, time.perf_counter())
    error: str | None = None
    null, broken = False, True
    conn: C | None = None
    try:
        conn = await pool.take()
        error, null = await pool.connector.ask(conn, payload)
        broken = error is not None
    except Exception as exc:  # a refused or dropped connection is the server's answer
        error = f"{type(exc).__name__}: {exc}"
    recorder.record(scheduled, time.perf_counter(), error, null)
    if conn is not None:
        await pool.give_back(conn, broken)
