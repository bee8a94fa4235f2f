"""What one `submitServiceRequest` costs: CPU of the API process and of PostgreSQL per
submission, and the statements it sends, on the dispatch benchmark's database (load it first
with `python -m benchmarks.dispatch`; this reuses it and empties its request tables).

    .venv/bin/python -m benchmarks.submit_profile [--count N] [--mode http|inprocess]
        [--profile out.html]

`http` (the default): a real `gridsteward serve --workers 1` with no worker running; N
submissions over HTTP, `--concurrency` at a time, as phase (b) of the dispatch benchmark
sends them; CPU per submission of the server process, of its PostgreSQL backends and of this
client, read from /proc. `inprocess`: the same application in this process behind httpx's
ASGI transport, to count statements per submission (SQLAlchemy's cursor events) and, with
`--profile`, to record it with pyinstrument (an HTML file). Dispatch is enqueued to a private
RabbitMQ virtual host in both, as the API does; nothing consumes it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Engine

from benchmarks.dispatch import BENCH_DATABASE, RESET
from benchmarks.dispatch_load import Sample, burst, http_submitter
from benchmarks.harness import cpu, load, processes
from benchmarks.harness.processes import Database
from benchmarks.stewards import reports


def _reset(db: Database) -> None:
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute(RESET)
        conn.execute("VACUUM ANALYZE service_request, request_event, outbound_message")


def _cases(db: Database, count: int, seed: int) -> list[Any]:
    with psycopg.connect(db.conninfo) as conn:
        return reports(conn, count, random.Random(seed))


def _failed(samples: Sequence[Sample]) -> int:
    bad = [s for s in samples if s.error is not None]
    if bad:
        print(f"  {len(bad)} failed, e.g. {bad[0].error}")
    return len(bad)


def over_http(db: Database, args: argparse.Namespace) -> int:
    """CPU per submission of a real server process and its PostgreSQL backends."""
    cases = _cases(db, args.warmup + args.count, args.seed)
    with processes.rabbitmq_vhost() as broker, processes.running_server(
            db, workers=1, env={"BROKER_URL": broker, **dict(args.server_env)}) as (
            base, server):
        async def send(chunk: Sequence[Any]) -> list[Sample]:
            async with load.raw_poster(base, timeout=60) as post:
                return await burst(http_submitter(post), chunk, args.concurrency)
        _reset(db)
        asyncio.run(send(cases[:args.warmup]))
        spy = None
        if args.profile:  # py-spy, collapsed stacks of the server process
            spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record",
                                    "--pid", str(server.pid), "--format", "raw", "--rate",
                                    "250", "--output", args.profile],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        threads = _threads(server.pid)
        start = cpu.snapshot()
        t0 = time.perf_counter()
        samples = asyncio.run(send(cases[args.warmup:]))
        seconds = time.perf_counter() - t0
        end = cpu.snapshot()
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
        parties = cpu.parties(end, database=db.name, server=server.pid)
        used = {name: cpu.used(start, end, pids) for name, pids in parties.items()}
        n = len(samples)
        print(f"{n} submissions over HTTP, {args.concurrency} at a time: {n / seconds:.0f}/s; "
              f"CPU ms per submission: API server {used['server'] * 1e3 / n:.2f}, "
              f"PostgreSQL {used['postgres'] * 1e3 / n:.2f}, "
              f"API + PostgreSQL {(used['server'] + used['postgres']) * 1e3 / n:.2f}, "
              f"client {used['client'] * 1e3 / n:.2f}; machine busy "
              f"{(end.busy - start.busy) / seconds:.2f} cores")
        after = _threads(server.pid)
        print("  API server threads, CPU ms per submission: " + ", ".join(
            f"{tid}: {(after[tid] - threads.get(tid, 0.0)) * 1e3 / n:.2f}"
            for tid in sorted(after, key=lambda t: threads.get(t, 0.0) - after[t])[:4]))
        return _failed(samples)


def _threads(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of the process `pid` (the event loop is the first)."""
    used = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        rest = stat[stat.rfind(")") + 2:].split()
        used[int(task.name)] = (int(rest[11]) + int(rest[12])) / cpu.TICK
    return used


def in_process(db: Database, args: argparse.Namespace) -> int:
    """Statements per submission, and a pyinstrument profile, of the app in this process."""
    from benchmarks.harness.project import settings
    from server.app import create_app

    statements: collections.Counter[str] = collections.Counter()

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements[" ".join(statement.split())[:110]] += 1
    event.listen(Engine, "before_cursor_execute", count)
    cases = _cases(db, args.warmup + args.count, args.seed)
    with processes.rabbitmq_vhost() as broker:
        config = settings(DATABASE_URL=db.conninfo, BROKER_URL=broker, RATE_LIMIT_STORE="off",
                          **dict(args.server_env))
        app = create_app(config)

        async def run() -> list[Sample]:
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                submit = http_submitter(load.httpx_poster(client))
                await burst(submit, cases[:args.warmup], args.concurrency)
                statements.clear()
                profiler = None
                if args.profile:
                    from pyinstrument import Profiler
                    profiler = Profiler(interval=0.0002, async_mode="disabled")
                    profiler.start()
                t0, c0 = time.perf_counter(), time.process_time()
                samples = await burst(submit, cases[args.warmup:], args.concurrency)
                c1, t1 = time.process_time(), time.perf_counter()
                if profiler is not None:
                    profiler.stop()
                    with open(args.profile, "w") as out:
                        out.write(profiler.output_html() if args.profile.endswith(".html")
                                  else profiler.output_text(show_all=False))
                n = len(samples)
                print(f"{n} submissions in process: {n / (t1 - t0):.0f}/s, this process "
                      f"(app and httpx client) {(c1 - c0) * 1e3 / n:.2f} ms CPU each")
                return samples
        _reset(db)
        samples = asyncio.run(run())
    n = max(1, len(samples))
    print(f"statements per submission: {sum(statements.values()) / n:.2f}")
    for text, times in statements.most_common():
        print(f"  {times / n:5.2f}  {text}")
    return _failed(samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.submit_profile",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--mode", choices=("http", "inprocess"), default="http")
    add("--count", type=int, default=2000, help="measured submissions")
    add("--warmup", type=int, default=200, help="submissions sent first, not measured")
    add("--concurrency", type=int, default=8, help="submissions at a time")
    add("--seed", type=int, default=20261201)
    add("--profile", help="write a profile here: http: py-spy's collapsed stacks of the "
        "server (its CPU figures then include py-spy's pauses); inprocess: pyinstrument "
        "(HTML for .html, else text)")
    add("--server-env", action="append", default=[], type=lambda s: tuple(s.split("=", 1)),
        metavar="NAME=VALUE", help="extra settings of the API")
    add("--database-url", help=f"default: {BENCH_DATABASE} in the local cluster")
    args = parser.parse_args(argv)
    db = processes.bench_database(BENCH_DATABASE, args.database_url)
    failed = (over_http if args.mode == "http" else in_process)(db, args)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
