"""Dispatch benchmark: submit → DISPATCHED through real `gridsteward worker` processes, on
RabbitMQ and then on Redis, in one run.

    .venv/bin/python -m benchmarks.dispatch [--help]

One run (about fifteen minutes on a 2-core machine with the defaults, most of it the bursts):

1. drops and recreates `gridsteward_bench_dispatch` in the project's local PostGIS cluster
   (.gridsteward/pg), migrates it, and fills it in SQL: a small synthetic city
   (benchmarks/synthetic_city.py) staffed with ACTIVE stewards in every building group and a
   grid worker in every grid (benchmarks/stewards.py), so every dispatch finds a candidate;
2. for each broker: a private broker (a fresh RabbitMQ virtual host, an empty Redis database),
   `gridsteward worker` on it and `gridsteward serve` beside it, then
   a. latency: `submitServiceRequest` over HTTP at a modest steady rate; p50 and p99 of the
      time from the call's start until the DISPATCHED event is committed (LISTEN on
      `gridsteward_request_events`, see benchmarks/dispatch_load.py);
   b. throughput: a burst of 10,000 submissions through the API's own submit + enqueue
      (or over HTTP with `--burst-via http`); dispatches per second from the first
      submission to the last DISPATCHED event, submitting and dispatching on the same cores;
   c. the workers' own rate: the same burst submitted and enqueued while no worker runs,
      then the worker started; dispatches per second from the first DISPATCHED event to
      the last;
   and checks that every request was dispatched exactly once;
3. prints the figures side by side and writes them between the dispatch markers of
   docs/benchmarks.md (benchmarks/dispatch_report.py). Everything it started is stopped,
   also on errors, Ctrl-C and SIGTERM; the database is left (`--skip-load` reuses it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import secrets
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import psycopg

from benchmarks import command, cpu_use
from benchmarks import synthetic_city as city
from benchmarks.coverage import Database, machine, recreate, running_server
from benchmarks.coverage import versions as base_versions
from benchmarks.dispatch_load import (
    Phase,
    Sample,
    burst,
    domain_submitter,
    http_submitter,
    run_phase,
    steady,
)
from benchmarks.dispatch_report import (
    BrokerRun,
    Context,
    console_line,
    cpu_per_request,
    render,
)
from benchmarks.phase_watch import Complaints, Watch
from benchmarks.stewards import Report, add_stewards, reports
from benchmarks.worker_stack import (
    RunningWorker,
    rabbitmq_version,
    rabbitmq_vhost,
    redis_database,
    redis_version,
    running_worker,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "gridsteward_bench_dispatch"
BROKERS: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "rabbitmq": rabbitmq_vhost, "redis": redis_database}
RESET = "TRUNCATE service_request, request_event, outbound_message CASCADE"


def local_database() -> Database:
    from server.localdb import ensure_local_cluster
    cluster = ensure_local_cluster(ROOT / ".gridsteward" / "pg", databases=())
    return Database.from_url(cluster.url(BENCH_DATABASE))


def prepare(db: Database, args: argparse.Namespace) -> None:
    """A fresh, migrated database with the city and its stewards."""
    from migrations.runner import upgrade_database
    layout = city.CityLayout.plan(args.grids, args.buildings)
    print(f"database {db.name}: drop, create, migrate; {layout.grids} grids, "
          f"{layout.buildings:,} buildings, {layout.building_groups:,} groups, "
          f"{args.stewards_per_group} stewards per group", flush=True)
    recreate(db)
    upgrade_database(db.sqlalchemy_url)
    city.generate(db.conninfo, layout)
    add_stewards(db.conninfo, args.stewards_per_group)


def describe_data(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("""SELECT (SELECT count(*) FROM community), (SELECT count(*) FROM grid),
        (SELECT count(*) FROM building), (SELECT count(*) FROM building_group),
        (SELECT count(*) FROM member WHERE 'STEWARD' = ANY(roles)),
        (SELECT count(*) FROM grid_worker)""").fetchone()
    assert row is not None
    return (f"{row[0]} communities, {row[1]:,} grids, {row[2]:,} buildings, {row[3]:,} "
            f"building groups; {row[4]:,} ACTIVE stewards ({row[4] / max(1, row[3]):.0f} per "
            f"group, the first with every skill, the others each skill with probability "
            f"0.6), {row[5]:,} grid workers. Submissions are points inside random buildings' "
            "footprints, in random categories, with a contact phone.")


def all_versions(conn: psycopg.Connection[Any]) -> dict[str, str]:
    found = base_versions(conn)
    for package in ("dramatiq", "pika", "redis"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[f"{package} (Python)"] = metadata.version(package)
    found["RabbitMQ"] = rabbitmq_version()
    found["Redis"] = redis_version()
    return found


def reset(db: Database) -> None:
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute(RESET)
        conn.execute("VACUUM ANALYZE service_request, request_event, outbound_message")


def _quiet(args: argparse.Namespace) -> None:
    if args.quiet_wait > 0:
        busy = cpu_use.wait_for_quiet(args.quiet_wait, args.quiet_threshold)
        if busy >= args.quiet_threshold:
            print(f"  (the machine is busy with other work: {busy:.2f} cores before the "
                  "phase)", flush=True)


def _measure(run: BrokerRun, name: str, watch: Watch, phase: Phase,
             complaints: Complaints) -> None:
    run.cpu[name] = watch.cores()
    run.sweeper[name] = watch.sweeper_triggers()
    run.trouble[name] = [*watch.trouble(), *complaints.lines]
    setattr(run, name, phase)


def steady_phase(args: argparse.Namespace, db: Database, base: str, worker: RunningWorker,
                 server_pid: int, cases: Sequence[Report], run: BrokerRun) -> None:
    reset(db)
    _quiet(args)
    print(f"  (a) {len(cases)} submissions over HTTP at {args.rate:g}/s ...", end="",
          flush=True)
    watch = Watch(db, worker, server_pid)

    async def go() -> Phase:
        async with httpx.AsyncClient(base_url=base, timeout=60.0) as client:
            submit = http_submitter(client)
            return await run_phase("steady", "http", db.conninfo,
                                   lambda: steady(submit, cases, args.rate),
                                   timeout=args.timeout, on_start=watch.begin,
                                   on_end=watch.finish)
    with Complaints().attached() as complaints:
        phase = asyncio.run(go())
    _measure(run, "steady", watch, phase, complaints)
    print(" " + console_line(phase, args.warmup), flush=True)
    _print_cpu(run, "steady")
    _print_trouble(run.trouble["steady"])


def burst_phase(args: argparse.Namespace, db: Database, base: str | None,
                worker: RunningWorker, server_pid: int | None, broker_url: str,
                cases: Sequence[Report], run: BrokerRun) -> None:
    reset(db)
    _quiet(args)
    print(f"  (b) burst of {len(cases):,} submissions ({args.burst_via}, "
          f"{args.burst_concurrency} at a time) ...", end="", flush=True)
    watch = Watch(db, worker, server_pid)

    async def go() -> Phase:
        if args.burst_via == "http":
            assert base is not None
            limits = httpx.Limits(max_connections=args.burst_concurrency)
            async with httpx.AsyncClient(base_url=base, timeout=120.0,
                                         limits=limits) as client:
                submit = http_submitter(client)
                return await run_phase(
                    "burst", "http", db.conninfo,
                    lambda: burst(submit, cases, args.burst_concurrency),
                    timeout=args.timeout, on_start=watch.begin, on_end=watch.finish)
        async with domain_submitter(db.sqlalchemy_url, broker_url,
                                    args.burst_concurrency) as submit:
            return await run_phase(
                "burst", "domain", db.conninfo,
                lambda: burst(submit, cases, args.burst_concurrency),
                timeout=args.timeout, on_start=watch.begin, on_end=watch.finish)
    with Complaints().attached() as complaints:
        phase = asyncio.run(go())
    _measure(run, "burst", watch, phase, complaints)
    print(" " + console_line(phase), flush=True)
    _print_cpu(run, "burst")
    _print_trouble(run.trouble["burst"])


def backlog_phase(args: argparse.Namespace, db: Database, broker_url: str,
                  cases: Sequence[Report], run: BrokerRun) -> None:
    """(c) The burst lands while no worker runs (submitted and enqueued as in (b)); then the
    worker starts and clears the backlog: the workers' own dispatch rate, not bounded by
    how fast this machine can also submit."""
    reset(db)
    _quiet(args)
    print(f"  (c) backlog of {len(cases):,} submissions ({args.burst_concurrency} at a time, "
          "no worker running), then the worker ...", end="", flush=True)

    async def submit_all() -> list[Sample]:
        async with domain_submitter(db.sqlalchemy_url, broker_url,
                                    args.burst_concurrency) as submit:
            return await burst(submit, cases, args.burst_concurrency)
    samples = asyncio.run(submit_all())
    _quiet(args)
    watch = Watch(db, None, None)  # from before the worker starts: its boot counts too
    with contextlib.ExitStack() as stack, Complaints().attached() as complaints:

        async def start_worker() -> list[Sample]:
            run.extra["backlog worker started"] = time.time()
            watch.attach(await asyncio.to_thread(stack.enter_context, running_worker(
                worker_env(db, broker_url, args), processes=args.processes,
                threads=args.threads)))
            return samples
        phase = asyncio.run(run_phase("backlog", "domain", db.conninfo, start_worker,
                                      timeout=args.timeout, on_start=watch.begin,
                                      on_end=watch.finish))
        _measure(run, "backlog", watch, phase, complaints)
    print(" " + console_line(phase), flush=True)
    _print_cpu(run, "backlog")
    _print_trouble(run.trouble["backlog"])


def _print_cpu(run: BrokerRun, phase: str) -> None:
    per = cpu_per_request(run, phase)
    cpu = run.cpu[phase]
    print("    CPU ms per request: " + ", ".join(f"{k} {v:.1f}" for k, v in per.items())
          + f"; machine busy {cpu['busy']:.2f} cores, other processes {cpu['other']:.2f}",
          flush=True)


def _print_trouble(lines: list[str]) -> None:
    if lines:
        print(f"    {len(lines)} warnings or errors, e.g.:", flush=True)
        for line in lines[:3]:
            print(f"      {line[:300]}", flush=True)


def worker_env(db: Database, broker_url: str, args: argparse.Namespace) -> dict[str, str]:
    return {"DATABASE_URL": db.conninfo, "BROKER_URL": broker_url, "GRIDSTEWARD_ENV": "dev",
            "SECRET_KEY": secrets.token_urlsafe(36), "OUTBOUND_CHANNEL": "log",
            **args.worker_env}


@contextlib.contextmanager
def _maybe_server(db: Database, broker_url: str, args: argparse.Namespace,
                  needed: bool) -> Iterator[tuple[str | None, int | None]]:
    if not needed:
        yield None, None
        return
    env = {"BROKER_URL": broker_url, **args.server_env}
    with running_server(db, workers=args.server_workers, extra_env=env) as (base, process):
        yield base, process.pid


def run_broker(args: argparse.Namespace, db: Database, broker: str,
               cases: Sequence[Report]) -> BrokerRun:
    run = BrokerRun(broker)
    steady_cases = cases[:args.warmup + args.count]
    burst_cases = cases[args.warmup + args.count:]
    with BROKERS[broker]() as url:
        print(f"{broker}: {url.rsplit('@', 1)[-1]}", flush=True)
        with running_worker(worker_env(db, url, args), processes=args.processes,
                            threads=args.threads) as worker:
            print(f"  worker pid {worker.pid}: {args.processes} processes x {args.threads} "
                  "threads, and the sweeper", flush=True)
            with _maybe_server(db, url, args, True) as (base, server_pid):
                assert base is not None and server_pid is not None
                if args.count:
                    steady_phase(args, db, base, worker, server_pid, steady_cases, run)
                if args.burst and args.burst_via == "http":
                    burst_phase(args, db, base, worker, server_pid, url, burst_cases, run)
            if args.burst and args.burst_via == "domain":
                burst_phase(args, db, None, worker, None, url, burst_cases, run)
        if args.burst and args.backlog:
            backlog_phase(args, db, url, burst_cases, run)
    return run


def _worker_settings(args: argparse.Namespace) -> str:
    from server.settings import Settings

    def setting(name: str, alias: str) -> str:
        return args.worker_env.get(alias, str(Settings.model_fields[name].default))
    return (f"SWEEP_INTERVAL_SECONDS {setting('sweep_interval_seconds', 'SWEEP_INTERVAL_SECONDS')}"
            f", DISPATCH_STALE_SECONDS "
            f"{setting('dispatch_stale_seconds', 'DISPATCH_STALE_SECONDS')}, OUTBOUND_CHANNEL "
            "log (dispatch notices are delivered by the deliver_messages actor, up to 50 a "
            "message, to the log)"
            + ("; worker environment " + ", ".join(f"`{k}={v}`"
                                                   for k, v in args.worker_env.items())
               if args.worker_env else ""))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command.unwind_on_signals()
    started_utc = command.started_utc()
    host = machine()
    db = Database.from_url(args.database_url) if args.database_url else local_database()
    if not args.skip_load:
        prepare(db, args)
    rng = random.Random(args.seed)
    with psycopg.connect(db.conninfo) as conn:
        data = describe_data(conn)
        found_versions = all_versions(conn)
        cases = reports(conn, args.warmup + args.count + args.burst, rng)
    print(data, flush=True)
    runs = [run_broker(args, db, broker, cases) for broker in args.brokers]
    host["load average after the run"] = " ".join(
        Path("/proc/loadavg").read_text().split()[:3])
    ctx = Context(args=args, started_utc=started_utc, machine=host, versions=found_versions,
                  data=data, worker_settings=_worker_settings(args))
    command.publish(render(ctx, runs), name="dispatch",
                    docs=None if args.no_docs else args.docs)
    ok = all(p.outcome.exactly_once and not p.errors and not p.timed_out
             for r in runs for p in (r.steady, r.burst) if p is not None)
    return 0 if ok else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dispatch",
        description="Dispatch benchmark: submit → DISPATCHED latency at a steady rate and "
        "dispatches/s over a burst, through real `gridsteward worker` processes on RabbitMQ "
        "and on Redis; writes docs/benchmarks.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--brokers", nargs="+", choices=sorted(BROKERS),
                        default=["rabbitmq", "redis"], help="brokers to run on, in order")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="(a) submissions per second over HTTP")
    parser.add_argument("--count", type=int, default=300,
                        help="(a) measured submissions (0 skips (a))")
    parser.add_argument("--warmup", type=int, default=20,
                        help="(a) submissions sent first at the same rate, not counted")
    parser.add_argument("--burst", type=int, default=10_000,
                        help="(b) submissions in the burst (0 skips (b))")
    parser.add_argument("--burst-concurrency", type=int, default=8,
                        help="(b) concurrent submitters")
    parser.add_argument("--burst-via", choices=("domain", "http"), default="domain",
                        help="(b) the API's submit + enqueue in this process, or over HTTP")
    parser.add_argument("--no-backlog", dest="backlog", action="store_false",
                        help="skip (c): the burst submitted with no worker running, then "
                        "the worker started")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument("--server-workers", type=int, default=1,
                        help="uvicorn worker processes of the API")
    parser.add_argument("--worker-env", type=command.env_pair, action="append", default=[],
                        metavar="NAME=VALUE", help="extra environment for the worker")
    parser.add_argument("--server-env", type=command.env_pair, action="append", default=[],
                        metavar="NAME=VALUE", help="extra environment for the API")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for a phase's requests to be dispatched")
    parser.add_argument("--grids", type=int, default=100,
                        help="grids of the synthetic city (whole communities of 50)")
    parser.add_argument("--buildings", type=int, default=2400, help="buildings")
    parser.add_argument("--stewards-per-group", type=int, default=4,
                        help="ACTIVE stewards per building group")
    parser.add_argument("--seed", type=int, default=20261124, help="random seed")
    parser.add_argument("--database-url", default=None,
                        help="benchmark database (dropped and recreated unless --skip-load; "
                        "its name must contain 'bench'); default: gridsteward_bench_dispatch "
                        "in the local cluster .gridsteward/pg")
    parser.add_argument("--skip-load", action="store_true",
                        help="reuse the benchmark database, its city and its stewards")
    parser.add_argument("--quiet-wait", type=float, default=20.0,
                        help="before each phase, wait up to this many seconds for the "
                        "machine to be quiet; 0 does not wait")
    parser.add_argument("--quiet-threshold", type=float, default=0.25,
                        help="cores busy (over 1 s) below which the machine counts as quiet")
    parser.add_argument("--docs", default=str(command.DOCS), help="Markdown file to update")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args(argv)
    args.worker_env = dict(args.worker_env)
    args.server_env = dict(args.server_env)
    args.parameters = parameters(args)
    return args


def parameters(args: argparse.Namespace) -> str:
    """The effective options of this run, defaults included."""
    words = ["--brokers", *args.brokers]
    for name in ("rate", "count", "warmup", "burst", "burst_concurrency", "burst_via",
                 "processes", "threads", "server_workers", "grids", "buildings",
                 "stewards_per_group", "seed", "quiet_wait", "quiet_threshold"):
        value = getattr(args, name)
        words += ["--" + name.replace("_", "-"),
                  f"{value:g}" if isinstance(value, float) else str(value)]
    for flag, pairs in (("--worker-env", args.worker_env), ("--server-env", args.server_env)):
        for key, value in pairs.items():
            words += [flag, f"{key}={value}"]
    if not args.backlog:
        words.append("--no-backlog")
    if args.skip_load:
        words.append("--skip-load")
    return shlex.join(words)


if __name__ == "__main__":
    from benchmarks.dispatch import main as _main
    sys.exit(_main())
