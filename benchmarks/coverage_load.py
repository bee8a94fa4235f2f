"""One measured phase of the coverage benchmark, run in a load process of its own: the
clients (HTTP, or the same look-ups as raw SQL), the loop that drives them, what it measured.

- closed loop (`rate` 0): `concurrency` clients; only requests started after the warm-up and
  finished within the window count;
- steady rate (`rate` > 0): latency from each request's scheduled start; every request
  scheduled after the warm-up counts, however late its answer.

The raw SQL side sends exactly the statements the API sends (domain.spatial.coverage's,
compiled by SQLAlchemy for psycopg; the address key computed before the clock starts) on
autocommit connections of the same driver: not HTTP, GraphQL, SQLAlchemy's sessions and pool,
the ORM.
The report's Method paragraph (benchmarks/coverage_report.py) says the same for readers.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg

from benchmarks.harness import cpu, load
from benchmarks.harness.load import Answer, Connector
from benchmarks.harness.project import (
    coverage_statements,
    degrees_for_metres,
    house_number_signature,
    similarity,
)
from benchmarks.harness.report import percentile


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
    conninfo: str  # the benchmark database (its sessions, its backends' CPU)
    client: str = "raw"  # raw | httpx (http only)
    nearest_metres: float = 30.0
    threshold: float = 0.8
    server_pid: int | None = None
    stagger: float = 0.0  # seconds between the first connections (HTTP)
    rate: float = 0.0  # requests a second, open loop; 0: closed loop
    #: How an HTTP answer is judged (a module-level function, so that the spec pickles);
    #: None: as GridSteward's `coverage` (check_coverage).
    check: load.Check | None = None


@dataclass
class LoadResult:
    """What one phase measured."""

    name: str
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    nulls: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    server_split: list[float] = field(default_factory=list)  # cores per server process
    rate: float = 0.0  # offered requests a second (steady rate); 0: closed loop
    lags_ms: list[float] = field(default_factory=list)  # steady rate: start - schedule
    warm_until: float = 0.0
    stop_at: float = math.inf

    def record(self, started: float, ended: float, error: str | None, null: bool) -> None:
        """An answer, if the request started after the warm-up and ended by `stop_at`."""
        if started < self.warm_until or ended > self.stop_at:
            return
        if error is not None:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(error[:300])
            return
        self.latencies_ms.append((ended - started) * 1000.0)
        self.nulls += null

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

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 0.99)


def run_load(spec: LoadSpec) -> LoadResult:
    """Entry point of the load process."""
    return load.run_event_loop(_load(spec))


async def _load(spec: LoadSpec) -> LoadResult:
    closers: list[Callable[[], Awaitable[None]]] = []
    pool = load.Pool(_connector(spec, closers))
    stats = psycopg.connect(spec.conninfo, autocommit=True)
    database = urlsplit(spec.conninfo).path.lstrip("/")
    try:
        await pool.preopen(spec.concurrency, spec.stagger if spec.mode == "http" else 0.0)
        started = time.perf_counter()
        result = LoadResult(spec.name, spec.concurrency, spec.duration, rate=spec.rate,
                            warm_until=started + spec.warmup)
        stop_at = result.warm_until + spec.duration
        marks: dict[str, tuple[cpu.Snapshot, int]] = {}

        async def mark(at: float, label: str) -> None:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            row = stats.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                                (database,)).fetchone()
            marks[label] = (cpu.snapshot(), int(row[0]) if row else 0)

        async def one(k: int, scheduled: float | None = None) -> bool:
            began = time.perf_counter()
            if scheduled is not None and scheduled >= result.warm_until:
                result.lags_ms.append((began - scheduled) * 1000.0)
            error, null = await pool.ask(spec.payloads[k % len(spec.payloads)])
            result.record(began if scheduled is None else scheduled, time.perf_counter(),
                          error, null)
            if error is not None and scheduled is None:
                await asyncio.sleep(0.01)  # a refused connection must not spin
            return True

        if spec.rate > 0:  # late answers count too
            phase: Awaitable[Any] = load.open_loop(
                one, rate=spec.rate, count=int((stop_at - started) * spec.rate),
                begin=started, grace=30.0)
        else:
            result.stop_at = stop_at
            phase = load.closed_loop(one, clients=spec.concurrency, until=stop_at)
        *_, answered = await asyncio.gather(mark(result.warm_until, "start"),
                                            mark(stop_at, "end"), phase)
        for _ in range(answered.count(None)):
            result.record(stop_at, time.perf_counter(), "no answer within 30 s", False)
        await pool.close()  # after the last CPU snapshot
    finally:
        for close in closers:
            await close()
        stats.close()
    _cpu(spec, database, result, marks["start"], marks["end"])
    return result


def _cpu(spec: LoadSpec, database: str, result: LoadResult, start: tuple[cpu.Snapshot, int],
         end: tuple[cpu.Snapshot, int]) -> None:
    """Cores used by the server, its database's backends, this load process, other processes
    and the rest between two marks; new database sessions a second; and each server
    process's share, largest first."""
    parties = cpu.parties(end[0], database=database, server=spec.server_pid)
    result.cpu = cpu.cores(start[0], end[0], parties)
    result.cpu["new sessions/s"] = (end[1] - start[1]) / result.cpu["seconds"]
    split = sorted((cpu.used(start[0], end[0], [pid]) / result.cpu["seconds"]
                    for pid in parties["server"]), reverse=True)
    result.server_split = [round(v, 2) for v in split if v >= 0.01]


def _connector(spec: LoadSpec, closers: list[Callable[[], Awaitable[None]]]
               ) -> Connector[Any]:
    if spec.mode == "http" and spec.client == "httpx":
        limit = max(spec.concurrency, 64 if spec.rate else 0)
        client = httpx.AsyncClient(
            base_url=spec.target, timeout=30.0,
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit))
        closers.append(client.aclose)
        return load.httpx_client(client, spec.check or check_coverage)
    if spec.mode == "http":
        return load.raw_http(spec.target, spec.check or check_coverage)
    if spec.mode == "sql-point":
        return sql_point(spec.target, spec.nearest_metres)
    return sql_address(spec.target, spec.threshold)


def check_coverage(status: int, body: bytes) -> Answer:
    """(error, coverage is null) for one HTTP answer."""
    error, data = load.graphql_data(status, body)
    return error, error is None and data.get("coverage", ...) is None


# --- raw SQL -----------------------------------------------------------------------------------

SqlConnection = psycopg.AsyncConnection[Any]


def _sql(conninfo: str, ask: Callable[[SqlConnection, Any], Awaitable[Answer]]
         ) -> Connector[SqlConnection]:
    async def open_() -> SqlConnection:
        return await psycopg.AsyncConnection.connect(conninfo, autocommit=True)

    async def close(conn: SqlConnection) -> None:
        await conn.close()

    return Connector(open_, ask, close)


def sql_point(conninfo: str, nearest_metres: float) -> Connector[SqlConnection]:
    """The API's point statement; payloads are (lon, lat)."""
    sql = coverage_statements.point_statement()

    async def ask(conn: SqlConnection, point: tuple[float, float]) -> Answer:
        lon, lat = point
        params = {"lon": lon, "lat": lat, "metres": nearest_metres,
                  "deg": degrees_for_metres(nearest_metres, lat)}
        row = await (await conn.execute(sql, params, prepare=True)).fetchone()
        assert row is not None
        grid_id, building_id, _group_id, _distance, community_id = row[:5]
        return None, grid_id is None and building_id is None and community_id is None

    return _sql(conninfo, ask)


def sql_address(conninfo: str, threshold: float) -> Connector[SqlConnection]:
    """The API's address statements; payloads are normalised keys."""
    exact = coverage_statements.building_statement("key")
    fuzzy = coverage_statements.FUZZY_ADDRESS
    by_id = coverage_statements.building_statement("id")

    async def ask(conn: SqlConnection, key: str) -> Answer:
        row = await (await conn.execute(exact, {"key": key}, prepare=True)).fetchone()
        if row is not None:
            return None, False
        params = {"key": key, "numbers": house_number_signature(key)}
        candidates = await (await conn.execute(fuzzy, params, prepare=True)).fetchall()
        best = max(((similarity(key, c[1]), -c[0]) for c in candidates), default=None)
        if best is None or best[0] < threshold:
            return None, True
        row = await (await conn.execute(by_id, {"id": -best[1]}, prepare=True)).fetchone()
        return None, row is None

    return _sql(conninfo, ask)
