"""One measured phase of the coverage benchmark, run in a load process of its own.

Two ways to load the server:
- closed loop (`rate` 0): `concurrency` clients, each sending its next request when the last
  is answered; throughput, and latency including the queue those clients build (its p50 is
  about concurrency ÷ throughput); only requests started after the warm-up and finished
  within the window count;
- steady rate (`rate` > 0): open loop, requests start every 1/rate s whether or not earlier
  ones were answered, latency from the scheduled start (benchmarks/steady_rate.py); every
  request scheduled within the window counts, however late its answer.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from benchmarks import coverage_clients as clients
from benchmarks import cpu_use
from benchmarks.figures import percentile
from benchmarks.steady_rate import Connector, Schedule, run_steady

BENCH_DATABASE = "gridsteward_bench"


@dataclass(frozen=True)
class LoadSpec:
    """One measured phase."""

    name: str
    mode: str  # http | sql-point | sql-address
    target: str  # http://host:port for http, a psycopg conninfo for sql-*
    payloads: list[Any]  # JSON bodies (bytes) | (lon, lat) | address keys
    concurrency: int  # closed loop: clients; steady rate: connections opened beforehand
    warmup: float
    duration: float
    client: str = "raw"  # raw | httpx (http only)
    nearest_metres: float = 30.0
    threshold: float = 0.8
    server_pid: int | None = None
    database: str = BENCH_DATABASE
    stats_conninfo: str | None = None  # where to read pg_stat_database from
    stagger: float = 0.0  # seconds between the starts of two clients (HTTP)
    rate: float = 0.0  # requests a second, open loop; 0: closed loop


@dataclass
class LoadResult:
    """What one phase measured."""

    name: str
    concurrency: int
    seconds: float
    latencies_ms: list[float]
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    nulls: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    server_split: list[float] = field(default_factory=list)  # cores per server process
    rate: float = 0.0  # offered requests a second (steady rate); 0: closed loop
    lags_ms: list[float] = field(default_factory=list)  # steady rate: start - schedule

    @property
    def lag_p50(self) -> float:
        """How late this client began a request, p50 (steady rate; part of its latency)."""
        return percentile(self.lags_ms, 0.50)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


class _Recorder:
    """Latencies of requests started after `warm_until` and answered by `stop_at`."""

    def __init__(self, warm_until: float, stop_at: float) -> None:
        self.warm_until, self.stop_at = warm_until, stop_at
        self.lags: list[float] = []
        self.latencies: list[float] = []
        self.errors = 0
        self.samples: list[str] = []
        self.nulls = 0

    def record(self, started: float, ended: float, error: str | None, null: bool) -> None:
        if started < self.warm_until or ended > self.stop_at:
            return
        if error is not None:
            self.errors += 1
            if len(self.samples) < 5:
                self.samples.append(error[:300])
            return
        self.latencies.append((ended - started) * 1000.0)
        self.nulls += null

    def record_lag(self, scheduled: float, began: float) -> None:
        if scheduled >= self.warm_until:
            self.lags.append((began - scheduled) * 1000.0)


def run_load(spec: LoadSpec) -> LoadResult:
    """Entry point of the load process."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(_load(spec))
    return uvloop.run(_load(spec))


def _connector(spec: LoadSpec, closers: list[Callable[[], Awaitable[None]]]
               ) -> Connector[Any]:
    if spec.mode == "http" and spec.client == "httpx":
        limit = max(spec.concurrency, 64 if spec.rate else 0)
        client = httpx.AsyncClient(
            base_url=spec.target, timeout=30.0,
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit))
        closers.append(client.aclose)
        return clients.httpx_client(client)
    if spec.mode == "http":
        return clients.raw_http(spec.target)
    if spec.mode == "sql-point":
        return clients.sql_point(spec.target, spec.nearest_metres)
    return clients.sql_address(spec.target, spec.threshold)


async def _load(spec: LoadSpec) -> LoadResult:
    closers: list[Callable[[], Awaitable[None]]] = []
    connector = _connector(spec, closers)
    stats = psycopg.connect(spec.stats_conninfo, autocommit=True) \
        if spec.stats_conninfo else None
    stagger = spec.stagger if spec.mode == "http" else 0.0
    started = time.perf_counter()
    warm_until = started + spec.warmup
    stop_at = warm_until + spec.duration
    marks: dict[str, _Mark] = {}

    async def snapshot(at: float, label: str) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        marks[label] = _mark(stats, spec.database)

    if spec.rate > 0:
        recorder = _Recorder(warm_until, math.inf)  # late answers count too
        load = run_steady(connector, spec.payloads, Schedule(spec.rate, started, stop_at),
                          recorder, preopen=spec.concurrency, stagger=stagger)
    else:
        recorder = _Recorder(warm_until, stop_at)
        load = _closed_loop(connector, spec, recorder, stagger)
    try:
        *_, left_open = await asyncio.gather(snapshot(warm_until, "start"),
                                             snapshot(stop_at, "end"), load)
        for conn in left_open:  # after the last CPU snapshot: see run_steady
            await connector.close(conn)
    finally:
        for close in closers:
            await close()
        if stats is not None:
            stats.close()
    return _result(spec, recorder, marks)


@dataclass(frozen=True)
class _Mark:
    """CPU seconds of every process (benchmarks/cpu_use.py) and the database sessions ever
    opened (pg_stat_database.sessions), at one moment."""

    cpu: cpu_use.Snapshot
    sessions: int


def _mark(stats: psycopg.Connection[Any] | None, database: str) -> _Mark:
    sessions = 0
    if stats is not None:
        row = stats.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                            (database,)).fetchone()
        sessions = int(row[0]) if row else 0
    return _Mark(cpu_use.snapshot(), sessions)


def _cpu(spec: LoadSpec, start: _Mark, end: _Mark) -> tuple[dict[str, float], list[float]]:
    """Cores used by the server, its database's backends, this load process, other processes
    and the rest between two marks; and each server process's share, largest first."""
    server = cpu_use.tree(end.cpu, [spec.server_pid]) if spec.server_pid else set()
    use = cpu_use.cores(start.cpu, end.cpu, {
        "server": server, "postgres": cpu_use.backends_of(end.cpu, spec.database),
        "client": {os.getpid()}})
    use["new sessions/s"] = (end.sessions - start.sessions) / use["seconds"]
    split = sorted(((end.cpu.used[pid] - start.cpu.used.get(pid, 0.0)) / use["seconds"]
                    for pid in server if pid in end.cpu.used), reverse=True)
    return use, split


def _result(spec: LoadSpec, recorder: _Recorder, marks: dict[str, _Mark]) -> LoadResult:
    cpu, split = _cpu(spec, marks["start"], marks["end"])
    return LoadResult(name=spec.name, concurrency=spec.concurrency, seconds=spec.duration,
                      latencies_ms=recorder.latencies, errors=recorder.errors,
                      error_samples=recorder.samples, nulls=recorder.nulls, cpu=cpu,
                      server_split=[round(v, 2) for v in split if v >= 0.01],
                      rate=spec.rate, lags_ms=recorder.lags)


async def _closed_loop(connector: Connector[Any], spec: LoadSpec, rec: _Recorder,
                       stagger: float) -> list[Any]:
    """`spec.concurrency` clients, each on its own connection, `stagger` s apart; returns the
    connections still open (see run_steady)."""
    conns = await asyncio.gather(*(_client(connector, spec.payloads, i, spec.concurrency,
                                           i * stagger, rec)
                                   for i in range(spec.concurrency)))
    return [conn for conn in conns if conn is not None]


async def _client(connector: Connector[Any], payloads: list[Any], index: int, step: int,
                  delay: float, rec: _Recorder) -> Any:
    """One closed-loop client: payloads index, index + step, ... until the window ends;
    returns its connection, still open."""
    await asyncio.sleep(delay)
    conn: Any = None
    try:
        while (started := time.perf_counter()) < rec.stop_at:
            payload = payloads[index % len(payloads)]
            index += step
            error: str | None = None
            null = False
            try:
                if conn is None:
                    conn = await connector.open()
                error, null = await connector.ask(conn, payload)
            except Exception as exc:  # a refused or dropped connection is the server's answer
                error = f"{type(exc).__name__}: {exc}"
            rec.record(started, time.perf_counter(), error, null)
            if error is not None:
                if conn is not None:
                    await connector.close(conn)
                conn = None
                await asyncio.sleep(0.01)  # a refused connection must not spin
    except BaseException:
        if conn is not None:
            await connector.close(conn)
        raise
    return conn
