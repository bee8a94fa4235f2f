"""Dispatch benchmark: submit → DISPATCHED through real `gridsteward worker` processes, on
RabbitMQ and then on Redis, in one run.

    .venv/bin/python -m benchmarks.dispatch [--help]

One run (about fifteen minutes on a 2-core machine with the defaults, most of it the bursts):
recreates `gridsteward_bench_dispatch` in the local cluster with a small synthetic city
(benchmarks/synthetic_city.py) staffed so that every dispatch finds a candidate
(benchmarks/stewards.py); then, for each broker, on a private broker with `gridsteward worker`
and `gridsteward serve`: (a) latency at a steady rate over HTTP, (b) a burst submitted while
the workers run, (c) the same burst left waiting for a worker started afterwards
(benchmarks/dispatch_load.py); checks every request was dispatched exactly once; prints the
figures side by side and writes them between the dispatch markers of docs/benchmarks.md
unless `--no-docs` (benchmarks/dispatch_report.py, whose Method paragraph says what is
measured how).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import psycopg

from benchmarks import synthetic_city as city
from benchmarks.dispatch_load import (
    Sample,
    Submit,
    Watch,
    burst,
    complaints,
    domain_submitter,
    http_submitter,
    run_phase,
    steady,
)
from benchmarks.dispatch_report import BrokerRun, console_line, cpu_per_request, render
from benchmarks.harness import command, cpu, load, processes
from benchmarks.harness.processes import BROKERS, Database, Running
from benchmarks.harness.project import settings
from benchmarks.stewards import Report, add_stewards, reports

BENCH_DATABASE = "gridsteward_bench_dispatch"
RESET = "TRUNCATE service_request, request_event, outbound_message CASCADE"
PARAMETERS = ("brokers", "rate", "count", "warmup", "burst", "burst_concurrency", "burst_via",
              "processes", "threads", "server_workers", "grids", "buildings",
              "stewards_per_group", "seed", "quiet_wait", "quiet_threshold", "worker_env",
              "server_env")


def prepare(db: Database, args: argparse.Namespace) -> None:
    """A fresh, migrated database with the city and its stewards."""
    layout = city.CityLayout.plan(args.grids, args.buildings)
    print(f"database {db.name}: drop, create, migrate; {layout.grids} grids, "
          f"{layout.buildings:,} buildings, {layout.building_groups:,} groups, "
          f"{args.stewards_per_group} stewards per group")
    processes.recreate(db)
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


class Bench:
    """One broker's run: the database, the broker's URL and the options."""

    def __init__(self, args: argparse.Namespace, db: Database, broker: str,
                 broker_url: str) -> None:
        self.args, self.db, self.broker_url = args, db, broker_url
        self.run = BrokerRun(broker)

    def worker(self) -> contextlib.AbstractContextManager[Running]:
        env = {"DATABASE_URL": self.db.conninfo, "BROKER_URL": self.broker_url,
               "OUTBOUND_CHANNEL": "log", **self.args.worker_env}
        return processes.running_worker(env, processes=self.args.processes,
                                        threads=self.args.threads)

    @contextlib.asynccontextmanager
    async def submitter(self, base: str | None, *,
                        timeout: float = 120.0) -> AsyncIterator[Submit]:
        """Over HTTP to `base`, or the API's submit + enqueue in this process."""
        if base is None:
            async with domain_submitter(self.db.sqlalchemy_url, self.broker_url,
                                        self.args.burst_concurrency) as submit:
                yield submit
            return
        async with load.raw_poster(base, timeout=timeout) as post:
            yield http_submitter(post)

    def measure(self, name: str, label: str, send: Callable[[], Awaitable[list[Sample]]],
                watch: Watch, before: Callable[[], None] = lambda: None) -> None:
        """One phase on empty request tables and a quiet machine: `before()`, then `send()`
        measured until everything it sent is dispatched; the console lines."""
        with psycopg.connect(self.db.conninfo, autocommit=True) as conn:
            conn.execute(RESET)
            conn.execute("VACUUM ANALYZE service_request, request_event, outbound_message")
        cpu.wait_for_quiet(self.args.quiet_wait, self.args.quiet_threshold)
        print(f"  {label} ...", end="", flush=True)
        before()
        with complaints() as lines:
            phase = asyncio.run(run_phase(name, self.db.conninfo, send,
                                          timeout=self.args.timeout, watch=watch))
            watch.settle(phase, lines)
        self.run.phases[name] = phase
        print(" " + console_line(self.run, name, self.args.warmup))
        c = phase.cpu
        print("    CPU ms per request: " + ", ".join(
            f"{k} {v:.1f}" for k, v in cpu_per_request(phase).items())
            + f"; machine busy {c['busy']:.2f} cores, other processes {c['other']:.2f}")
        if phase.trouble:
            print(f"    {len(phase.trouble)} warnings or errors, e.g.:")
            for line in phase.trouble[:3]:
                print(f"      {line[:300]}")

    def steady(self, worker: Running, base: str, server_pid: int,
               cases: Sequence[Report]) -> None:
        async def send() -> list[Sample]:
            async with self.submitter(base, timeout=60.0) as submit:
                return await steady(submit, cases, self.args.rate)
        self.measure("steady", f"(a) {len(cases)} submissions over HTTP at "
                     f"{self.args.rate:g}/s", send, Watch(self.db.name, worker, server_pid))

    def burst(self, worker: Running, base: str | None, server_pid: int | None,
              cases: Sequence[Report]) -> None:
        a = self.args

        async def send() -> list[Sample]:
            async with self.submitter(base) as submit:
                return await burst(submit, cases, a.burst_concurrency)
        self.measure("burst", f"(b) burst of {len(cases):,} submissions ({a.burst_via}, "
                     f"{a.burst_concurrency} at a time)", send,
                     Watch(self.db.name, worker, server_pid))

    def backlog(self, cases: Sequence[Report]) -> None:
        """(c) The burst lands while no worker runs (submitted and enqueued as in (b)); then
        the worker starts and clears the backlog: the workers' own dispatch rate, not bounded
        by how fast this machine can also submit."""
        samples: list[Sample] = []
        watch = Watch(self.db.name, None, None)  # from before the worker starts: boot counts

        async def submit_all() -> None:
            async with self.submitter(None) as submit:
                samples.extend(await burst(submit, cases, self.args.burst_concurrency))

        def before() -> None:
            asyncio.run(submit_all())
            cpu.wait_for_quiet(self.args.quiet_wait, self.args.quiet_threshold)
        with contextlib.ExitStack() as stack:
            async def send() -> list[Sample]:
                self.run.worker_started = time.time()
                watch.worker = await asyncio.to_thread(stack.enter_context, self.worker())
                return samples
            self.measure("backlog", f"(c) backlog of {len(cases):,} submissions "
                         f"({self.args.burst_concurrency} at a time, no worker running), then "
                         "the worker", send, watch, before)


def run_broker(args: argparse.Namespace, db: Database, broker: str,
               cases: Sequence[Report]) -> BrokerRun:
    steady_cases = cases[:args.warmup + args.count]
    burst_cases = cases[args.warmup + args.count:]
    with BROKERS[broker]() as url:
        print(f"{broker}: {url.rsplit('@', 1)[-1]}")
        bench = Bench(args, db, broker, url)
        with bench.worker() as worker:
            print(f"  worker pid {worker.pid}: {args.processes} processes x {args.threads} "
                  "threads, running the periodic jobs")
            with processes.running_server(db, workers=args.server_workers,
                                          env={"BROKER_URL": url, **args.server_env}) as (
                    base, server):
                if args.count:
                    bench.steady(worker, base, server.pid, steady_cases)
                if args.burst and args.burst_via == "http":
                    bench.burst(worker, base, server.pid, burst_cases)
            if args.burst and args.burst_via == "domain":
                bench.burst(worker, None, None, burst_cases)
        if args.burst and args.backlog:
            bench.backlog(burst_cases)
    return bench.run


def _worker_settings(args: argparse.Namespace) -> str:
    effective = settings(**args.worker_env)
    return (f"SWEEP_INTERVAL_SECONDS {effective.sweep_interval_seconds}, "
            f"DISPATCH_STALE_SECONDS {effective.dispatch_stale_seconds}, OUTBOUND_CHANNEL "
            "log (dispatch notices are delivered by the deliver_messages actor, up to 50 a "
            "message, to the log)"
            + ("; worker environment " + ", ".join(f"`{k}={v}`"
                                                   for k, v in args.worker_env.items())
               if args.worker_env else ""))


def main(argv: Sequence[str] | None = None) -> int:
    run = command.start(options(), argv)
    args = run.args
    args.parameters = command.options_text(args, PARAMETERS) + "".join(
        flag for flag, on in ((" --no-backlog", not args.backlog),
                              (" --skip-load", args.skip_load)) if on)
    db = processes.bench_database(BENCH_DATABASE, args.database_url)
    if not args.skip_load:
        prepare(db, args)
    with psycopg.connect(db.conninfo) as conn:
        data = describe_data(conn)
        run.versions = {**command.versions(conn, "dramatiq", "pika", "redis"),
                        **processes.broker_versions()}
        cases = reports(conn, args.warmup + args.count + args.burst, random.Random(args.seed))
    print(data)
    runs = [run_broker(args, db, broker, cases) for broker in args.brokers]
    run.machine["load average after the run"] = command.load_average()
    command.publish(render(run, data, _worker_settings(args), runs), name="dispatch",
                    args=args)
    ok = all(p.outcome.exactly_once and not p.errors and not p.timed_out
             for r in runs for p in r.phases.values())
    return 0 if ok else 1


def options() -> argparse.ArgumentParser:
    parser = command.parser("dispatch", __doc__)
    add = parser.add_argument
    add("--brokers", nargs="+", choices=sorted(BROKERS), default=["rabbitmq", "redis"],
        help="brokers to run on, in order")
    add("--rate", type=float, default=10.0, help="(a) submissions per second over HTTP")
    add("--count", type=int, default=300, help="(a) measured submissions (0 skips (a))")
    add("--warmup", type=int, default=20,
        help="(a) submissions sent first at the same rate, not counted")
    add("--burst", type=int, default=10_000,
        help="(b) and (c) submissions in the burst (0 skips both)")
    add("--burst-concurrency", type=int, default=8, help="(b) concurrent submitters")
    add("--burst-via", choices=("domain", "http"), default="http",
        help="(b) over HTTP to the API (issue 14's target), or the API's submit + enqueue "
        "in this process")
    add("--no-backlog", dest="backlog", action="store_false",
        help="skip (c): the burst submitted with no worker running, then the worker started")
    add("--processes", type=int, default=2, help="worker processes")
    add("--threads", type=int, default=4, help="threads per worker process")
    add("--server-workers", type=int, default=1, help="uvicorn worker processes of the API")
    add("--worker-env", type=command.env_pair, action="append", default=[],
        metavar="NAME=VALUE", help="extra environment for the worker")
    add("--timeout", type=float, default=600.0,
        help="seconds to wait for a phase's requests to be dispatched")
    city.add_options(parser, grids=100, buildings=2400)
    add("--stewards-per-group", type=int, default=4, help="ACTIVE stewards per building group")
    add("--seed", type=int, default=20261124, help="random seed")
    command.add_common(parser, database=BENCH_DATABASE)
    return parser


if __name__ == "__main__":
    from benchmarks.dispatch import main as _main
    sys.exit(_main())
