"""Coverage benchmark: the GraphQL API over HTTP beside the same look-ups as raw SQL.

One run (about three minutes with the defaults):

1. drops and recreates the database `gridsteward_bench` in the project's local PostGIS cluster
   (.gridsteward/pg) and migrates it;
2. generates a synthetic city in SQL (benchmarks/synthetic_city.py): 2,000 grids in 40
   communities, 100,000 buildings, 26,000 building groups, unique addresses on 500 roads;
   VACUUM ANALYZE;
3. starts the real server, `gridsteward serve --workers 2`, on a free port;
4. measures, each for a fixed time with N concurrent clients in a separate load process:
   a. coverage(point) over HTTP, b. coverage(address) over HTTP, c. the point look-up as raw
   SQL through psycopg, d. the address look-up as raw SQL through psycopg; then the same four
   with one client (unloaded latency);
5. prints a Markdown table and writes it between the coverage markers of docs/benchmarks.md;
6. stops the server and the load process (also on errors, Ctrl-C and SIGTERM). The benchmark
   database is left in place (`--skip-load` reuses it).

What the raw SQL side includes: exactly the statements the API sends (domain.coverage's,
compiled by SQLAlchemy for psycopg), through the same driver, on one connection per client
in autocommit mode: for a point, the one coverage statement, which also returns the grid,
building and building group rows (all columns, geometries as EWKB) that the GraphQL query's
fields show; for an address, the exact-key statement (with the same rows), and when it misses
the statement that sets the pg_trgm floor, the fuzzy candidates (scored with
geo.address.similarity against the same threshold) and the chosen building's rows. The
address key is computed before the clock starts. Not included: HTTP, GraphQL parsing and
execution, SQLAlchemy sessions and pool (pre-ping, BEGIN/ROLLBACK), the ORM.

The load generator: a separate process per phase (it never shares an event loop with the
server, but the machine's cores are shared by all three parties: server workers, PostgreSQL
and the client). On a 2-core machine every CPU cycle
the client spends is taken from the server, so the default client is a minimal HTTP/1.1
keep-alive client on asyncio streams and uvloop (measured: 0.2 ms CPU per request, httpx 3 ms);
`--client httpx` uses httpx.AsyncClient instead. The CPU each party used during every phase
is measured from /proc and printed, so the client's share is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from benchmarks import synthetic_city as city
from geo.address import address_key, similarity
from geo.sql import degrees_for_metres

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
BENCH_DATABASE = "gridsteward_bench"
PROTECTED_DATABASES = frozenset({"gridsteward", "gridsteward_test", "postgres", "template0",
                                 "template1"})
START_MARK, END_MARK = "<!-- coverage:start -->", "<!-- coverage:end -->"

POINT_QUERY = ("query($p: PointInput!){ coverage(point:$p){ grid{ id } building{ id } "
               "buildingGroup{ id } } }")
ADDRESS_QUERY = ("query($a: String!){ coverage(address:$a){ grid{ id } building{ id } "
                 "buildingGroup{ id } } }")

TARGET_RATIO = 5.0  # HTTP point p50 <= 5 x raw SQL point p50
TARGET_POINT_RPS = 500.0
TARGET_ADDRESS_P50_MS = 10.0


# --- the SQL the API sends ---------------------------------------------------------------------


Statement = tuple[str, dict[str, Any]]  # SQL for psycopg, and the values it always binds


def _compiled(statement: Any) -> Statement:
    """What SQLAlchemy sends through psycopg for `statement`: its SQL (%(name)s parameters,
    geometries as ST_AsEWKB) and the values it binds itself, such as a LIMIT."""
    from sqlalchemy.dialects.postgresql import psycopg as dialect
    compiled = statement.compile(dialect=dialect.dialect())
    return str(compiled), {k: v for k, v in compiled.params.items() if v is not None}


def _api_statements() -> dict[str, Statement]:
    from domain import coverage
    floor, _ = _compiled(coverage._TRIGRAM_FLOOR)
    return {
        "cover_point": _compiled(coverage._COVER_POINT),
        "exact_address": _compiled(coverage._EXACT_ADDRESS),
        # The API sets the floor with SET LOCAL in its transaction; these connections are in
        # autocommit mode, where only a plain SET has an effect: the same one statement.
        "trigram_floor": (floor.replace("SET LOCAL", "SET"), {}),
        "fuzzy_address": _compiled(coverage._FUZZY_ADDRESS),
        "building_by_id": _compiled(coverage._BUILDING_BY_ID),
    }


# --- load generation (runs in a separate process) ----------------------------------------------


@dataclass(frozen=True)
class LoadSpec:
    """One measured phase."""

    name: str
    mode: str  # http | sql-point | sql-address
    target: str  # http://host:port for http, a psycopg conninfo for sql-*
    payloads: list[Any]  # JSON bodies (bytes) | (lon, lat) | address keys
    concurrency: int
    warmup: float
    duration: float
    client: str = "raw"  # raw | httpx (http only)
    nearest_metres: float = 30.0
    threshold: float = 0.8
    server_pid: int | None = None
    database: str = BENCH_DATABASE
    stats_conninfo: str | None = None  # where to read pg_stat_database from
    stagger: float = 0.0  # seconds between the starts of two clients


@dataclass
class LoadResult:
    """What one phase measured (only requests started and finished inside the window)."""

    name: str
    concurrency: int
    seconds: float
    latencies_ms: list[float]
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    nulls: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    server_split: list[float] = field(default_factory=list)  # cores per server process

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


class _Recorder:
    def __init__(self, warm_until: float, stop_at: float) -> None:
        self.warm_until, self.stop_at = warm_until, stop_at
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


def run_load(spec: LoadSpec) -> LoadResult:
    """Entry point of the load process."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(_load(spec))
    return uvloop.run(_load(spec))


async def _load(spec: LoadSpec) -> LoadResult:
    workers: list[Callable[[int, _Recorder], Awaitable[None]]] = []
    closers: list[Callable[[], Awaitable[None]]] = []
    if spec.mode == "http" and spec.client == "httpx":
        client = httpx.AsyncClient(
            base_url=spec.target, timeout=30.0,
            limits=httpx.Limits(max_connections=spec.concurrency,
                                max_keepalive_connections=spec.concurrency))
        closers.append(client.aclose)
        workers = [_httpx_worker(client, spec) for _ in range(spec.concurrency)]
    elif spec.mode == "http":
        workers = [_raw_http_worker(spec) for _ in range(spec.concurrency)]
    else:
        conns = [await psycopg.AsyncConnection.connect(spec.target, autocommit=True)
                 for _ in range(spec.concurrency)]
        closers += [conn.close for conn in conns]
        statements = _api_statements()
        make = _sql_point_worker if spec.mode == "sql-point" else _sql_address_worker
        workers = [make(conn, spec, statements) for conn in conns]
    stats = psycopg.connect(spec.stats_conninfo, autocommit=True) \
        if spec.stats_conninfo else None
    if stats is not None:
        async def close_stats() -> None:
            stats.close()
        closers.append(close_stats)
    started = time.perf_counter()
    recorder = _Recorder(started + spec.warmup, started + spec.warmup + spec.duration)
    marks: dict[str, CpuSnapshot] = {}

    async def snapshot(at: float, label: str) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        marks[label] = cpu_snapshot(spec.server_pid, spec.database, stats)

    try:
        await asyncio.gather(snapshot(recorder.warm_until, "start"),
                             snapshot(recorder.stop_at, "end"),
                             *(work(i, recorder) for i, work in enumerate(workers)))
    finally:
        for close in closers:
            await close()
    cpu = cpu_use(marks["start"], marks["end"], spec.duration)
    split = sorted(((v - marks["start"].server.get(pid, 0.0)) / spec.duration
                    for pid, v in marks["end"].server.items()), reverse=True)
    return LoadResult(name=spec.name, concurrency=spec.concurrency, seconds=spec.duration,
                      latencies_ms=recorder.latencies, errors=recorder.errors,
                      error_samples=recorder.samples, nulls=recorder.nulls, cpu=cpu,
                      server_split=[round(v, 2) for v in split if v >= 0.01])


def _check_graphql(status: int, body: bytes) -> tuple[str | None, bool]:
    """(error, coverage is null) for one HTTP answer."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}", False
    try:
        doc = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}", False
    if not isinstance(doc, dict) or "errors" in doc or "data" not in doc:
        return f"GraphQL errors: {json.dumps(doc, ensure_ascii=False)[:300]}", False
    data = doc["data"]
    return None, not isinstance(data, dict) or data.get("coverage", ...) is None


def _raw_http_worker(spec: LoadSpec) -> Callable[[int, _Recorder], Awaitable[None]]:
    parts = urlsplit(spec.target)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            "Content-Length: ").encode()

    async def work(index: int, rec: _Recorder) -> None:
        payloads, step = spec.payloads, spec.concurrency
        writer: asyncio.StreamWriter | None = None
        await asyncio.sleep(index * spec.stagger)
        try:
            while (started := time.perf_counter()) < rec.stop_at:
                body: bytes = payloads[index % len(payloads)]
                index += step
                error: str | None
                null, close = False, False
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port)
                    writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
                    status, answer, close = await _read_response(reader)
                    error, null = _check_graphql(status, answer)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    error, close = f"{type(exc).__name__}: {exc}", True
                rec.record(started, time.perf_counter(), error, null)
                if close and writer is not None:
                    writer.close()
                    writer = None
                if error is not None:
                    await asyncio.sleep(0.01)  # a refused connection must not spin
        finally:
            if writer is not None:
                writer.close()
    return work


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server closes the connection: HTTP/1.1, just enough."""
    lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = value == b"close"
    if not chunked:
        return status, await reader.readexactly(length), close
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")
    return status, b"".join(chunks), close


def _httpx_worker(client: httpx.AsyncClient,
                  spec: LoadSpec) -> Callable[[int, _Recorder], Awaitable[None]]:
    headers = {"Content-Type": "application/json"}

    async def work(index: int, rec: _Recorder) -> None:
        payloads, step = spec.payloads, spec.concurrency
        await asyncio.sleep(index * spec.stagger)
        while (started := time.perf_counter()) < rec.stop_at:
            body: bytes = payloads[index % len(payloads)]
            index += step
            error: str | None
            null = False
            try:
                response = await client.post("/graphql", content=body, headers=headers)
                error, null = _check_graphql(response.status_code, response.content)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            rec.record(started, time.perf_counter(), error, null)
    return work


def _sql_point_worker(conn: psycopg.AsyncConnection[Any], spec: LoadSpec,
                      statements: dict[str, Statement]
                      ) -> Callable[[int, _Recorder], Awaitable[None]]:
    sql, fixed = statements["cover_point"]

    async def work(index: int, rec: _Recorder) -> None:
        payloads, step = spec.payloads, spec.concurrency
        while (started := time.perf_counter()) < rec.stop_at:
            lon, lat = payloads[index % len(payloads)]
            index += step
            error: str | None = None
            null = False
            try:
                params = {**fixed, "lon": lon, "lat": lat, "metres": spec.nearest_metres,
                          "deg": degrees_for_metres(spec.nearest_metres, lat)}
                row = await (await conn.execute(sql, params)).fetchone()
                assert row is not None
                grid_id, building_id, _group_id, _distance, community_id = row[:5]
                null = grid_id is None and building_id is None and community_id is None
            except psycopg.Error as exc:
                error = f"{type(exc).__name__}: {exc}"
            rec.record(started, time.perf_counter(), error, null)
    return work


def _sql_address_worker(conn: psycopg.AsyncConnection[Any], spec: LoadSpec,
                        statements: dict[str, Statement]
                        ) -> Callable[[int, _Recorder], Awaitable[None]]:
    (exact, exact_fixed), (floor, _) = statements["exact_address"], statements["trigram_floor"]
    (fuzzy, fuzzy_fixed), (by_id, by_id_fixed) = (statements["fuzzy_address"],
                                                  statements["building_by_id"])

    async def work(index: int, rec: _Recorder) -> None:
        payloads, step = spec.payloads, spec.concurrency
        while (started := time.perf_counter()) < rec.stop_at:
            key: str = payloads[index % len(payloads)]
            index += step
            error: str | None = None
            row: Any = None
            try:
                row = await (await conn.execute(exact, {**exact_fixed, "key": key})).fetchone()
                if row is None:
                    await conn.execute(floor)
                    candidates = await (await conn.execute(
                        fuzzy, {**fuzzy_fixed, "key": key})).fetchall()
                    scored = [(similarity(key, c[1]), -c[0]) for c in candidates]
                    best = max(scored, default=None)
                    if best is not None and best[0] >= spec.threshold:
                        row = await (await conn.execute(
                            by_id, {**by_id_fixed, "id": -best[1]})).fetchone()
            except psycopg.Error as exc:
                error = f"{type(exc).__name__}: {exc}"
            rec.record(started, time.perf_counter(), error, row is None)
    return work


# --- CPU accounting from /proc -----------------------------------------------------------------


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far, per process of the server and per PostgreSQL backend
    connected to the benchmark database; by this process; by the whole machine."""

    server: dict[int, float]
    postgres: dict[int, float]
    everyone: dict[int, float]  # every process
    client: float
    busy: float
    sessions: int  # database sessions ever opened (pg_stat_database.sessions)


def cpu_snapshot(server_pid: int | None, database: str,
                 stats: psycopg.Connection[Any] | None) -> CpuSnapshot:
    tick = float(os.sysconf("SC_CLK_TCK"))
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    backends: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            rest = stat[stat.rfind(")") + 2:].split()
            pid = int(entry)
            parents[pid] = int(rest[1])
            used[pid] = (int(rest[11]) + int(rest[12])) / tick
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            if cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline:
                backends.add(pid)
    server: set[int] = set()
    if server_pid is not None:
        server = {server_pid}
        grew = True
        while grew:
            children = {pid for pid, ppid in parents.items() if ppid in server} - server
            server |= children
            grew = bool(children)
    sessions = 0
    if stats is not None:
        row = stats.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                            (database,)).fetchone()
        sessions = int(row[0]) if row else 0
    return CpuSnapshot(server={pid: used[pid] for pid in server if pid in used},
                       postgres={pid: used[pid] for pid in backends}, everyone=used,
                       client=time.process_time(), busy=machine_busy_seconds(),
                       sessions=sessions)


def cpu_use(start: CpuSnapshot, end: CpuSnapshot, seconds: float) -> dict[str, float]:
    """Cores used between two snapshots. Per process, so that a process which starts during
    the window counts from zero; one that exits during it is missed: short-lived processes
    (PostgreSQL's parallel query workers among them) and the kernel are "unattributed"."""
    def delta(a: dict[int, float], b: dict[int, float]) -> float:
        return sum(v - a.get(pid, 0.0) for pid, v in b.items())
    ours = {*end.server, *end.postgres, os.getpid()}
    others = {pid: v for pid, v in end.everyone.items() if pid not in ours}
    use = {"server": delta(start.server, end.server) / seconds,
           "postgres": delta(start.postgres, end.postgres) / seconds,
           "client": (end.client - start.client) / seconds,
           "other": delta(start.everyone, others) / seconds,
           "busy": (end.busy - start.busy) / seconds,
           "new sessions/s": (end.sessions - start.sessions) / seconds}
    use["unattributed"] = max(0.0, use["busy"] - sum(
        use[k] for k in ("server", "postgres", "client", "other")))
    return use


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (/proc/stat; guest time is
    already inside user time)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / float(os.sysconf("SC_CLK_TCK"))


def wait_for_quiet(limit: float, threshold: float) -> float:
    """Wait (at most `limit` s) until the machine, between phases, uses less than
    `threshold` cores: other sessions' work on shared cores skews every figure. Returns the
    cores last seen busy."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - before
        if busy < threshold or time.monotonic() >= deadline:
            return busy


# --- the database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    sqlalchemy_url: str  # postgresql+psycopg://...
    conninfo: str  # postgresql://... for psycopg
    name: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        scheme, sep, rest = url.partition("://")
        if not sep or not scheme.startswith("postgres"):
            raise SystemExit(f"benchmark: not a postgresql:// URL: {url}")
        name = urlsplit(url).path.lstrip("/")
        return cls(f"postgresql+psycopg://{rest}", f"postgresql://{rest}", name)

    def admin_conninfo(self) -> str:
        parts = urlsplit(self.conninfo)
        return urlunsplit(parts._replace(path="/postgres"))


def local_database() -> Database:
    from server.localdb import ensure_local_cluster
    cluster = ensure_local_cluster(ROOT / ".gridsteward" / "pg", databases=(BENCH_DATABASE,))
    return Database.from_url(cluster.url(BENCH_DATABASE))


def recreate(db: Database) -> None:
    if db.name in PROTECTED_DATABASES or "bench" not in db.name:
        raise SystemExit(f"benchmark: refusing to drop database {db.name!r} (its name must "
                         "contain 'bench')")
    with psycopg.connect(db.admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db.name}"')


@dataclass(frozen=True)
class Sizes:
    communities: int
    grids: int
    buildings: int
    point_only: int
    building_groups: int
    roads: int
    database_mb: float


def sizes(conn: psycopg.Connection[Any]) -> Sizes:
    row = conn.execute("""
        SELECT (SELECT count(*) FROM community), (SELECT count(*) FROM grid),
               (SELECT count(*) FROM building),
               (SELECT count(*) FROM building WHERE footprint IS NULL),
               (SELECT count(*) FROM building_group),
               (SELECT count(DISTINCT rtrim(address_key, '0123456789号')) FROM building),
               pg_database_size(current_database()) / 1048576.0""").fetchone()
    assert row is not None
    return Sizes(communities=int(row[0]), grids=int(row[1]), buildings=int(row[2]),
                 point_only=int(row[3]), building_groups=int(row[4]), roads=int(row[5]),
                 database_mb=float(row[6]))


def versions(conn: psycopg.Connection[Any]) -> dict[str, str]:
    row = conn.execute("SELECT current_setting('server_version'), postgis_lib_version(), "
                       "postgis_geos_version()").fetchone()
    assert row is not None
    found = {"Python": platform.python_version(), "PostgreSQL": row[0],
             "PostGIS": f"{row[1]} (GEOS {row[2]})"}
    for package in ("strawberry-graphql", "starlette", "uvicorn", "SQLAlchemy", "psycopg"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(db: Database, *, workers: int, extra_env: dict[str, str]
                   ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`gridsteward serve` on a free port until the block ends, however it ends."""
    port = free_port()
    script = Path(sys.executable).parent / "gridsteward"
    argv = ([str(script)] if script.exists() else [sys.executable, "-m", "server.cli"])
    env = {**os.environ, "DATABASE_URL": db.conninfo, "GRIDSTEWARD_ENV": "dev",
           "SECRET_KEY": secrets.token_urlsafe(36)[:48], **extra_env}
    handle, name = tempfile.mkstemp(prefix="gridsteward-bench-server-", suffix=".log")
    log = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            process = subprocess.Popen(
                [*argv, "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(workers)],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process, log, workers)
            yield base, process
        finally:
            _stop(process)
    finally:
        log.unlink(missing_ok=True)


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path,
                   workers: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            # every worker must have started its application, not just one
            started = log.read_text(errors="replace").count("Application startup complete")
            if started >= workers and httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer /healthz within 60 s:\n"
                       f"{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # our own session: the server's workers
            process.wait(timeout=5)


# --- checks and the run ------------------------------------------------------------------------


def _body(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables},
                      ensure_ascii=False).encode("utf-8")


def _node_id(type_name: str, pk: int) -> str:
    from schema.ids import encode_id
    return encode_id(type_name, pk)


def check_answers(base: str, points: Sequence[city.PointCase],
                  addresses: Sequence[city.AddressCase]) -> str:
    """Known answers before measuring: a point inside a footprint resolves to that building,
    a point on a park's empty ground to a grid and no building, a point outside the city to
    null, an exact-key address variant to its building."""
    checked = 0
    with httpx.Client(base_url=base, timeout=10) as client:
        def ask(query: str, variables: dict[str, Any]) -> Any:
            response = client.post("/graphql", content=_body(query, variables),
                                   headers={"Content-Type": "application/json"})
            doc = response.json()
            if response.status_code != 200 or "errors" in doc:
                raise RuntimeError(f"check failed: {response.status_code} {doc}")
            return doc["data"]["coverage"]

        for case in [p for p in points if p.kind == "inside"][:25]:
            got = ask(POINT_QUERY, {"p": {"lon": case.lon, "lat": case.lat}})
            want = _node_id("Building", case.building_id or 0)
            if got is None or got["building"]["id"] != want:
                raise RuntimeError(f"point {case} resolved to {got}, expected {want}")
            checked += 1
        for case in [p for p in points if p.kind == "empty"][:10]:
            got = ask(POINT_QUERY, {"p": {"lon": case.lon, "lat": case.lat}})
            if got is None or got["grid"] is None or got["building"] is not None:
                raise RuntimeError(f"empty ground {case} resolved to {got}, expected a grid "
                                   "and no building")
            checked += 1
        for case in [p for p in points if p.kind == "outside"][:5]:
            if (got := ask(POINT_QUERY, {"p": {"lon": case.lon, "lat": case.lat}})) is not None:
                raise RuntimeError(f"point outside the city {case} resolved to {got}")
            checked += 1
        for acase in [a for a in addresses if a.building_id is not None][:25]:
            got = ask(ADDRESS_QUERY, {"a": acase.text})
            want = _node_id("Building", acase.building_id or 0)
            if got is None or got["building"]["id"] != want:
                raise RuntimeError(f"address {acase} resolved to {got}, expected {want}")
            checked += 1
    return f"{checked} known answers checked before measuring (all correct)"


@dataclass
class Report:
    args: argparse.Namespace
    started_utc: str
    machine: dict[str, str]
    versions: dict[str, str]
    sizes: Sizes
    generation: city.Generated | None
    checks: str
    main: dict[str, LoadResult]
    probe: dict[str, LoadResult]
    mix: dict[str, str]


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout
    load = Path("/proc/loadavg").read_text().split()[:3]
    return {"nproc": nproc.strip() or str(os.cpu_count()), "cpu": model,
            "ram": f"{mem_kb / 1048576:.1f} GiB", "kernel": platform.release(),
            "load average before the run": " ".join(load)}


def _phase_process(spec: LoadSpec, results: Any) -> None:
    """Body of the load process: one phase, its result (or its failure) on the queue."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        results.put(run_load(spec))
    except Exception as exc:  # reported by the parent
        results.put(f"{type(exc).__name__}: {exc}")


def _run_in_load_process(context: Any, spec: LoadSpec) -> LoadResult:
    """run_load(spec) in a fresh process, which is terminated whatever happens here."""
    results = context.Queue()
    process = context.Process(target=_phase_process, args=(spec, results), daemon=True)
    process.start()
    try:
        result = results.get(timeout=spec.warmup + spec.duration + 120)
        process.join(timeout=10)
    finally:
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
    if isinstance(result, str):
        raise RuntimeError(f"load process failed: {result}")
    assert isinstance(result, LoadResult)
    return result


def run_phase(context: Any, spec: LoadSpec, quiet: tuple[float, float]) -> LoadResult:
    if quiet[0] > 0 and (busy := wait_for_quiet(*quiet)) >= quiet[1]:
        print(f"  (the machine is busy with other work: {busy:.2f} cores before the phase)")
    print(f"  {spec.name}, {spec.concurrency} clients, {spec.warmup:g} s warm-up + "
          f"{spec.duration:g} s ...", end="", flush=True)
    result = _run_in_load_process(context, spec)
    cpu = result.cpu
    split = _split(result)
    print(f" {result.rps:,.0f} req/s, p50 {result.p50:.2f} ms, p99 {result.p99:.2f} ms, "
          f"errors {result.errors}; cores: server {cpu['server']:.2f}{split}, PostgreSQL "
          f"{cpu['postgres']:.2f}, client {cpu['client']:.2f}, other processes "
          f"{cpu['other']:.2f}, unattributed {cpu['unattributed']:.2f}; "
          f"new DB sessions {cpu['new sessions/s']:.1f}/s", flush=True)
    for sample in result.error_samples:
        print(f"    error: {sample}")
    return result


def _mix(cases: Sequence[Any]) -> str:
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.kind] = counts.get(case.kind, 0) + 1
    return ", ".join(f"{kind} {100 * n / len(cases):.0f} %" for kind, n in counts.items())


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM unwind through the finally blocks that stop the server, even when
    # the shell started us with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    started_utc = subprocess.run(["date", "-u"], capture_output=True, text=True,
                                 check=False).stdout.strip()
    host = machine()  # before the run: its load average is other people's work
    db = Database.from_url(args.database_url) if args.database_url else local_database()
    generation: city.Generated | None = None
    if not args.skip_load:
        from domain.migrate import upgrade_database
        layout = city.CityLayout.plan(args.grids, args.buildings)
        print(f"database {db.name}: drop, create, migrate", flush=True)
        recreate(db)
        upgrade_database(db.sqlalchemy_url)
        print(f"generating {layout.communities} communities, {layout.grids} grids, "
              f"{layout.buildings:,} buildings, {layout.building_groups:,} groups, "
              f"{layout.roads} roads ...", flush=True)
        generation = city.generate(db.conninfo, layout)
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in generation.seconds.items())
        print(f"  generated in {generation.total_seconds:.1f} s ({steps})", flush=True)
    rng = random.Random(args.seed)
    with psycopg.connect(db.conninfo) as conn:
        found = sizes(conn)
        found_versions = versions(conn)
        buildings = city.sample_buildings(conn, min(args.cases, found.buildings))
        grids = city.sample_grids(conn, min(2000, found.grids))
    layout = city.CityLayout.plan(found.grids, found.buildings)
    points = city.point_cases(buildings, grids, layout, args.cases, rng)
    addresses = city.address_cases(buildings, args.cases, rng)
    settings_env = {**os.environ, **args.server_env}
    nearest = float(settings_env.get("NEAREST_BUILDING_METRES", 30.0))
    threshold = float(settings_env.get("ADDRESS_MATCH_THRESHOLD", 0.8))
    point_bodies = [_body(POINT_QUERY, {"p": {"lon": p.lon, "lat": p.lat}}) for p in points]
    address_bodies = [_body(ADDRESS_QUERY, {"a": a.text}) for a in addresses]
    point_params = [(p.lon, p.lat) for p in points]
    address_keys = [address_key(a.text) for a in addresses]

    context = multiprocessing.get_context("spawn")
    main_results: dict[str, LoadResult] = {}
    probe_results: dict[str, LoadResult] = {}
    with running_server(db, workers=args.workers, extra_env=args.server_env) as (base, srv):
        print(f"server: {base} ({args.workers} workers, pid {srv.pid})", flush=True)
        checks = check_answers(base, points, addresses)
        print(f"  {checks}", flush=True)

        def phases(concurrency: int, warmup: float, duration: float) -> dict[str, LoadResult]:
            common: dict[str, Any] = {"concurrency": concurrency, "warmup": warmup,
                                      "duration": duration, "server_pid": srv.pid,
                                      "database": db.name, "stats_conninfo": db.conninfo,
                                      "stagger": min(args.stagger,
                                                     0.5 * warmup / max(1, concurrency))}
            specs = [
                LoadSpec("point, HTTP", "http", base, point_bodies, client=args.client,
                         **common),
                LoadSpec("point, raw SQL", "sql-point", db.conninfo, point_params,
                         nearest_metres=nearest, **common),
                LoadSpec("address, HTTP", "http", base, address_bodies, client=args.client,
                         **common),
                LoadSpec("address, raw SQL", "sql-address", db.conninfo, address_keys,
                         threshold=threshold, **common),
            ]
            quiet = (args.quiet_wait, args.quiet_threshold)
            return {spec.name: run_phase(context, spec, quiet) for spec in specs}

        print(f"measuring with {args.concurrency} concurrent clients:", flush=True)
        main_results = phases(args.concurrency, args.warmup, args.duration)
        if args.probe_duration > 0:
            print(f"measuring with {args.probe_concurrency} client(s):", flush=True)
            probe_results = phases(args.probe_concurrency, min(args.warmup, 1.0),
                                   args.probe_duration)
    report = Report(args=args, started_utc=started_utc, machine=host,
                    versions=found_versions, sizes=found, generation=generation,
                    checks=checks, main=main_results, probe=probe_results,
                    mix={"point": _mix(points), "address": _mix(addresses)})
    text = render(report)
    print()
    print(text)
    if not args.no_docs:
        write_docs(Path(args.docs), text)
        print(f"\nwritten to {args.docs}")
    failed = sum(r.errors for r in [*main_results.values(), *probe_results.values()])
    return 1 if failed else 0


# --- the report --------------------------------------------------------------------------------


def _ratio(a: LoadResult | None, b: LoadResult | None) -> float:
    if a is None or b is None or not b.p50 or math.isnan(b.p50):
        return math.nan
    return a.p50 / b.p50


def _pass(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def _split(result: LoadResult) -> str:
    """How the server's CPU divides among its processes (uvicorn's workers)."""
    if len(result.server_split) < 2:
        return ""
    return " (" + " + ".join(f"{v:.2f}" for v in result.server_split) + ")"


def _table(results: dict[str, LoadResult]) -> list[str]:
    lines = ["| look-up | clients | requests/s | p50 ms | p99 ms | errors | requests | "
             "null answers | CPU cores: server / PostgreSQL / client / other processes / "
             "unattributed | new DB sessions/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in results.values():
        cpu = r.cpu
        lines.append(
            f"| {r.name} | {r.concurrency} | {r.rps:,.0f} | {r.p50:.2f} | {r.p99:.2f} | "
            f"{r.errors} | {r.requests:,} | {100 * r.nulls / max(1, r.requests):.0f} % | "
            f"{cpu.get('server', 0):.2f}{_split(r)} / {cpu.get('postgres', 0):.2f} / "
            f"{cpu.get('client', 0):.2f} / {cpu.get('other', 0):.2f} / "
            f"{cpu.get('unattributed', 0):.2f} | "
            f"{cpu.get('new sessions/s', 0):.1f} |")
    return lines


def render(report: Report) -> str:
    a = report.args
    s = report.sizes
    m = report.main
    hp, sp = m.get("point, HTTP"), m.get("point, raw SQL")
    ha, sa = m.get("address, HTTP"), m.get("address, raw SQL")
    point_ratio, address_ratio = _ratio(hp, sp), _ratio(ha, sa)
    gen = report.generation
    lines = [
        "## Coverage",
        "",
        "Which building group covers a point or an address: `coverage(point:)` and "
        "`coverage(address:)` through the real server over HTTP, beside the same look-ups as "
        "raw SQL through psycopg, on a synthetic city (`benchmarks/synthetic_city.py`, built "
        "in SQL in its own database `gridsteward_bench`). Run it (about three minutes; "
        "`--help` lists the options, `--skip-load` reuses the city):",
        "",
        "```sh",
        ".venv/bin/python -m benchmarks.coverage",
        "```",
        "",
        f"### Run of {report.started_utc}",
        "",
        f"- **Machine**: {report.machine['nproc']} cores ({report.machine['cpu']}), "
        f"{report.machine['ram']} RAM, Linux {report.machine['kernel']}; load average "
        f"before the run {report.machine['load average before the run']}. Server, "
        "PostgreSQL and the load generator share these cores.",
        "- **Versions**: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()) + ".",
        f"- **Data**: {s.communities} communities, {s.grids:,} grids, {s.buildings:,} buildings "
        f"({s.point_only:,} without footprint), {s.building_groups:,} building groups, "
        f"{s.roads} roads; database {s.database_mb:.0f} MB."
        + (f" Generated in SQL in {gen.total_seconds:.1f} s ("
           + ", ".join(f"{k} {v:.1f} s" for k, v in gen.seconds.items()) + ")."
           if gen else " (reused: `--skip-load`)."),
        f"- **Parameters**: `--duration {a.duration:g} --warmup {a.warmup:g} --concurrency "
        f"{a.concurrency} --stagger {a.stagger:g} --probe-concurrency "
        f"{a.probe_concurrency} --probe-duration "
        f"{a.probe_duration:g} --workers {a.workers} --client {a.client} --cases {a.cases} "
        f"--seed {a.seed} --quiet-wait {a.quiet_wait:g} --quiet-threshold "
        f"{a.quiet_threshold:g}`"
        + (" with server environment " + ", ".join(f"`{k}={v}`"
                                                   for k, v in a.server_env.items())
           if a.server_env else "")
        + f"; `gridsteward serve --workers {a.workers}`, default settings "
        "(DB_POOL_SIZE 10 per worker), anonymous requests.",
        f"- **Points**: {report.mix['point']}. **Addresses**: {report.mix['address']}.",
        f"- **Checks**: {report.checks}; every HTTP answer is checked (status 200, no "
        "`errors`).",
        "- **Method**: closed loop, each client sends its next request when the last is "
        "answered; only requests started after the warm-up and finished within the window "
        "count; HTTP clients open their connections `--stagger` seconds apart (all at once, "
        "uvicorn's first worker to wake accepts them all and the other idles: see the "
        "per-process split of the server's CPU in parentheses). One load process per phase, "
        "separate from the server: a minimal HTTP/1.1 keep-alive "
        "client on asyncio + uvloop (`--client raw`), because on 2 shared cores every cycle "
        "the client burns is taken from the server (its share is the *client* CPU column). "
        "Raw SQL = the statements of `domain/coverage.py` as SQLAlchemy compiles them (one "
        "for a point, returning the grid, building and group rows too; for an address the "
        "exact-key one, and on a miss the trigram floor, the fuzzy candidates and the chosen "
        "building's rows), one autocommit psycopg connection per client; the address key is "
        "computed before the clock starts; fuzzy candidates are scored with "
        "`geo.address.similarity`. CPU is "
        "read per process from /proc: *other processes* = long-lived processes that are not "
        "part of the benchmark (other work on a shared machine, which skews the figures); "
        "*unattributed* = short-lived processes, PostgreSQL's parallel query workers among "
        "them, and the kernel. *New DB sessions/s* from `pg_stat_database`.",
        "",
        f"{a.concurrency} concurrent clients, {a.duration:g} s each:",
        "",
        *_table(m),
        "",
    ]
    if report.probe:
        pp = _ratio(report.probe.get("point, HTTP"), report.probe.get("point, raw SQL"))
        pa = _ratio(report.probe.get("address, HTTP"), report.probe.get("address, raw SQL"))
        lines += [f"{a.probe_concurrency} client(s), {a.probe_duration:g} s each (latency "
                  "without queueing):", "", *_table(report.probe), "",
                  f"Ratios with {a.probe_concurrency} client(s): HTTP point p50 / raw SQL "
                  f"point p50 = **{pp:.1f}×**; HTTP address p50 / raw SQL address p50 = "
                  f"**{pa:.1f}×**.", ""]
    lines += [
        f"Ratios with {a.concurrency} clients: HTTP point p50 / raw SQL point p50 = "
        f"**{point_ratio:.1f}×**; HTTP address p50 / raw SQL address p50 = "
        f"**{address_ratio:.1f}×**.",
        "",
        f"Targets (measured with {a.concurrency} concurrent clients):",
        "",
        f"- point coverage p50 ≤ {TARGET_RATIO:g}× raw SQL p50: "
        f"{point_ratio:.1f}× — {_pass(point_ratio <= TARGET_RATIO)}",
        f"- point coverage ≥ {TARGET_POINT_RPS:g} requests/s: "
        f"{hp.rps if hp else math.nan:,.0f}/s — "
        f"{_pass(hp is not None and hp.rps >= TARGET_POINT_RPS)}",
        f"- address coverage p50 ≤ {TARGET_ADDRESS_P50_MS:g} ms: "
        f"{ha.p50 if ha else math.nan:.2f} ms — "
        f"{_pass(ha is not None and ha.p50 <= TARGET_ADDRESS_P50_MS)}",
    ]
    errors = sum(r.errors for r in [*m.values(), *report.probe.values()])
    if errors:
        lines += ["", f"**{errors} failed requests** (see the console output)."]
    return "\n".join(lines)


_INTRO = """# Benchmarks

Each section below is written by its benchmark (`benchmarks/`) between its markers; re-running
a benchmark replaces its own section only.
"""


def write_docs(path: Path, section: str) -> None:
    block = f"{START_MARK}\n{section}\n{END_MARK}"
    old = path.read_text(encoding="utf-8") if path.exists() else _INTRO
    if START_MARK in old and END_MARK in old:
        head, _, rest = old.partition(START_MARK)
        _, _, tail = rest.partition(END_MARK)
        new = head + block + tail
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.coverage",
        description="Coverage benchmark: builds a synthetic city in gridsteward_bench, "
        "starts `gridsteward serve` and measures coverage by point and by address over HTTP "
        "beside the same look-ups as raw SQL through psycopg; writes docs/benchmarks.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--grids", type=int, default=2000,
                        help="grids (rounded up to whole communities of 50)")
    parser.add_argument("--buildings", type=int, default=100_000, help="buildings")
    parser.add_argument("--duration", type=float, default=15.0,
                        help="seconds measured per look-up kind")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of load before each measurement, not counted")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="concurrent clients (HTTP connections / database connections)")
    parser.add_argument("--probe-concurrency", type=int, default=1,
                        help="clients of the second, low-load round (unloaded latency)")
    parser.add_argument("--probe-duration", type=float, default=5.0,
                        help="seconds per look-up kind of the low-load round; 0 skips it")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--stagger", type=float, default=0.05,
                        help="seconds between the first requests of two HTTP clients (within "
                        "the warm-up): a burst of keep-alive connections at once is all "
                        "accepted by one uvicorn worker; 0 opens them at once")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="HTTP load client: raw = minimal HTTP/1.1 keep-alive client on "
                        "asyncio streams (cheapest on CPU), httpx = httpx.AsyncClient")
    parser.add_argument("--database-url", default=None,
                        help="benchmark database (dropped and recreated unless --skip-load; "
                        "its name must contain 'bench'); default: gridsteward_bench in the "
                        "local cluster .gridsteward/pg")
    parser.add_argument("--skip-load", action="store_true",
                        help="reuse the existing benchmark database and its city")
    parser.add_argument("--cases", type=int, default=20_000,
                        help="distinct points and addresses the clients cycle through")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed of the cases")
    parser.add_argument("--quiet-wait", type=float, default=20.0,
                        help="before each phase, wait up to this many seconds for other "
                        "processes to leave the CPUs alone; 0 does not wait")
    parser.add_argument("--quiet-threshold", type=float, default=0.25,
                        help="cores busy (over 1 s) below which the machine counts as quiet")
    parser.add_argument("--server-env", type=_env_pair, action="append", default=[],
                        metavar="NAME=VALUE",
                        help="extra environment for the server (e.g. DB_POOL_SIZE=20)")
    parser.add_argument("--docs", default=str(DOCS), help="Markdown file to update")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args(argv)
    args.server_env = dict(args.server_env)
    return args


if __name__ == "__main__":
    # Run as the importable module, so that the load process (spawned) can unpickle the
    # phase specifications and results by their real names.
    from benchmarks.coverage import main as _main
    sys.exit(_main())
