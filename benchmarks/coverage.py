"""Coverage benchmark: the GraphQL API over HTTP beside the same look-ups as raw SQL.

One run (about five minutes with the defaults):

1. drops and recreates the database `gridsteward_bench` in the project's local PostGIS cluster
   (.gridsteward/pg) and migrates it;
2. generates a synthetic city in SQL (benchmarks/synthetic_city.py): 2,000 grids in 40
   communities, 100,000 buildings, 26,000 building groups, unique addresses on 500 roads;
   VACUUM ANALYZE;
3. starts the real server, `gridsteward serve --workers 2`, on a free port;
4. measures, each for a fixed time in a separate load process (benchmarks/coverage_load.py):
   a. coverage(point) over HTTP, b. the point look-up as raw SQL through psycopg,
   c. coverage(address) over HTTP, d. the address look-up as raw SQL; first in a closed loop
   of N concurrent clients (throughput), then with one client (unloaded latency), then at a
   steady rate, open loop (latency at a given load: benchmarks/steady_rate.py);
5. prints a Markdown table (benchmarks/coverage_report.py) and writes it between the
   coverage markers of docs/benchmarks.md;
6. stops the server and the load process (also on errors, Ctrl-C and SIGTERM). The benchmark
   database is left in place (`--skip-load` reuses it).

What the raw SQL side includes, and the HTTP client: benchmarks/coverage_clients.py. The load
generator is a separate process per phase (it never shares an event loop with the server, but
the machine's cores are shared by all three parties: server workers, PostgreSQL and the
client); the CPU each party used during every phase is measured from /proc and printed, so the
client's share is visible.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from benchmarks import command
from benchmarks import synthetic_city as city
from benchmarks.coverage_load import BENCH_DATABASE, LoadResult, LoadSpec, run_load
from benchmarks.coverage_report import Report, Sizes, render, split_text
from benchmarks.cpu_use import wait_for_quiet
from geo.address import address_key

ROOT = Path(__file__).resolve().parent.parent
PROTECTED_DATABASES = frozenset({"gridsteward", "gridsteward_test", "postgres", "template0",
                                 "template1"})

POINT_QUERY = ("query($p: PointInput!){ coverage(point:$p){ grid{ id } building{ id } "
               "buildingGroup{ id } } }")
ADDRESS_QUERY = ("query($a: String!){ coverage(address:$a){ grid{ id } building{ id } "
                 "buildingGroup{ id } } }")

#: Connections each steady-rate phase opens before its schedule starts (more when needed).
STEADY_PREOPEN = 4


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
    from schema.common.ids import encode_id
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
    load = f"{spec.rate:g} requests/s" if spec.rate else f"{spec.concurrency} clients"
    print(f"  {spec.name}, {load}, {spec.warmup:g} s warm-up + {spec.duration:g} s ...",
          end="", flush=True)
    result = _run_in_load_process(context, spec)
    cpu = result.cpu
    split = split_text(result)
    print(f" {result.rps:,.0f} req/s, p50 {result.p50:.2f} ms, p99 {result.p99:.2f} ms, "
          f"errors {result.errors}; cores: server {cpu['server']:.2f}{split}, PostgreSQL "
          f"{cpu['postgres']:.2f}, client {cpu['client']:.2f}, other processes "
          f"{cpu['other']:.2f}, unattributed {cpu['unattributed']:.2f}; "
          f"new DB sessions {cpu['new sessions/s']:.1f}/s"
          + (f"; start lag p50 {result.lag_p50:.2f} ms" if spec.rate else ""), flush=True)
    for sample in result.error_samples:
        print(f"    error: {sample}")
    return result


def _mix(cases: Sequence[Any]) -> str:
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.kind] = counts.get(case.kind, 0) + 1
    return ", ".join(f"{kind} {100 * n / len(cases):.0f} %" for kind, n in counts.items())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command.unwind_on_signals()
    started_utc = command.started_utc()
    host = machine()  # before the run: its load average is other people's work
    db = Database.from_url(args.database_url) if args.database_url else local_database()
    generation: city.Generated | None = None
    if not args.skip_load:
        from migrations.runner import upgrade_database
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
    steady_results: dict[str, LoadResult] = {}
    with running_server(db, workers=args.workers, extra_env=args.server_env) as (base, srv):
        print(f"server: {base} ({args.workers} workers, pid {srv.pid})", flush=True)
        checks = check_answers(base, points, addresses)
        print(f"  {checks}", flush=True)

        def phases(concurrency: int, warmup: float, duration: float,
                   rate: float = 0.0) -> dict[str, LoadResult]:
            common: dict[str, Any] = {"concurrency": concurrency, "warmup": warmup,
                                      "duration": duration, "server_pid": srv.pid,
                                      "database": db.name, "stats_conninfo": db.conninfo,
                                      "stagger": min(args.stagger,
                                                     0.5 * warmup / max(1, concurrency)),
                                      "rate": rate}
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
        if args.steady_rate > 0 and args.steady_duration > 0:
            print(f"measuring at a steady {args.steady_rate:g} requests/s:", flush=True)
            steady_results = phases(STEADY_PREOPEN, args.warmup, args.steady_duration,
                                    rate=args.steady_rate)
    report = Report(args=args, started_utc=started_utc, machine=host,
                    versions=found_versions, sizes=found, generation=generation,
                    checks=checks, main=main_results, probe=probe_results,
                    mix={"point": _mix(points), "address": _mix(addresses)},
                    steady=steady_results)
    command.publish(render(report), name="coverage", docs=None if args.no_docs else args.docs)
    failed = sum(r.errors for r in [*main_results.values(), *probe_results.values(),
                                    *steady_results.values()])
    return 1 if failed else 0


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
    parser.add_argument("--steady-rate", type=float, default=100.0,
                        help="requests a second of the steady-rate round (open loop: each "
                        "starts on schedule, answered or not; latency from its scheduled "
                        "start); 0 skips it")
    parser.add_argument("--steady-duration", type=float, default=15.0,
                        help="seconds measured per look-up kind at the steady rate")
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
    parser.add_argument("--server-env", type=command.env_pair, action="append", default=[],
                        metavar="NAME=VALUE",
                        help="extra environment for the server (e.g. DB_POOL_SIZE=20)")
    parser.add_argument("--docs", default=str(command.DOCS), help="Markdown file to update")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args(argv)
    args.server_env = dict(args.server_env)
    return args


if __name__ == "__main__":
    # Run as the importable module, so that the load process (spawned) can unpickle the
    # phase specifications and results by their real names.
    from benchmarks.coverage import main as _main
    sys.exit(_main())
