"""CPU per GraphQL request inside the API process, without a network: the ASGI application
(Starlette, the middleware, strawberry, the resolvers, SQLAlchemy, psycopg) driven in-process,
one request after another, on the coverage benchmark's city.

    .venv/bin/python -m benchmarks.request_cpu [--requests 3000] [--profile pyinstrument|cprofile]

Measures the process's CPU time (user + system, `time.process_time`) over `--requests`
requests of each case (point coverage, address coverage), after a warm-up, and prints
microseconds of CPU per request; PostgreSQL's share is not in it (another process). With
`--profile`, runs the point case again under pyinstrument (the call tree) or cProfile (on CPU
time: the `--top` functions with the most time of their own, then with the most in all) and
prints it. It needs the city that
`python -m benchmarks.coverage` or `benchmarks.peer` built (gridsteward_bench).

What it is for: the step-by-step measure of the hot path's cost (issue #14, point 3); the
side-by-side figures of record come from benchmarks.peer, over HTTP and under load.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

import psycopg
import uvloop
from starlette.types import Message

from benchmarks import synthetic_city as city
from benchmarks.coverage import ADDRESS_QUERY, BENCH_DATABASE, POINT_QUERY
from benchmarks.harness import processes
from benchmarks.harness.project import settings


class InProcess:
    """The ASGI app of `server.app.create_app`, started (its lifespan run) and called
    directly with one HTTP request at a time."""

    def __init__(self, database_url: str) -> None:
        from server.app import create_app  # the composition root: only here, lazily

        self.app = create_app(settings(DATABASE_URL=database_url))
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._state: dict[str, Any] = {}

    async def __aenter__(self) -> InProcess:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self._state}

        async def send(message: Message) -> None:
            await self._from_app.put(message)

        self._lifespan = asyncio.create_task(self.app(scope, self._to_app.get, send))
        await self._to_app.put({"type": "lifespan.startup"})
        started = await self._from_app.get()
        if started["type"] != "lifespan.startup.complete":
            raise SystemExit(f"request_cpu: the app did not start: {started}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._from_app.get()
        if self._lifespan is not None:
            await self._lifespan

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """POST /graphql with this JSON body: the status and the answer's bytes."""
        scope: dict[str, Any] = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": "/graphql", "raw_path": b"/graphql",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 40000),
                 "server": ("127.0.0.1", 8000), "state": dict(self._state),
                 "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]}
        sent = False
        status, chunks = 0, []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send_back(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send_back)
        return status, b"".join(chunks)


def bodies(conninfo: str, count: int, seed: int) -> dict[str, list[bytes]]:
    """Request bodies of each case, drawn as the coverage benchmark draws its cases."""
    rng = random.Random(seed)
    with psycopg.connect(conninfo) as conn:
        buildings = city.sample_buildings(conn, count)
        grids = city.sample_grids(conn, min(2000, count))
        sizes = conn.execute("SELECT (SELECT count(*) FROM grid), "
                             "(SELECT count(*) FROM building)").fetchone()
    assert sizes is not None
    layout = city.CityLayout.plan(int(sizes[0]), int(sizes[1]))
    points = city.point_cases(buildings, grids, layout, count, rng)
    addresses = city.address_cases(buildings, count, rng)
    return {
        "point": [json.dumps({"query": POINT_QUERY,
                              "variables": {"p": {"lon": p.lon, "lat": p.lat}}}).encode()
                  for p in points],
        "address": [json.dumps({"query": ADDRESS_QUERY, "variables": {"a": a.text}}).encode()
                    for a in addresses],
    }


async def cpu_per_request(client: InProcess, cases: Sequence[bytes], requests: int) -> float:
    """Microseconds of this process's CPU per request over `requests` requests; every
    answer must be 200 without errors."""
    start = time.process_time()
    for i in range(requests):
        status, answer = await client.post(cases[i % len(cases)])
        if status != 200 or b'"errors"' in answer:
            raise SystemExit(f"request_cpu: answer {status}: {answer[:300]!r}")
    return (time.process_time() - start) / requests * 1e6


async def run(args: argparse.Namespace) -> None:
    db = processes.bench_database(BENCH_DATABASE, args.database_url)
    cases = bodies(db.conninfo, args.cases, args.seed)
    async with InProcess(db.sqlalchemy_url) as client:
        for name, given in cases.items():
            await cpu_per_request(client, given, args.warmup)
            figures = [await cpu_per_request(client, given, args.requests)
                       for _ in range(args.repeat)]
            shown = ", ".join(f"{f:,.0f}" for f in figures)
            print(f"{name}: {min(figures):,.0f} µs CPU per request (best of {args.repeat}: "
                  f"{shown}), {args.requests:,} requests each")
        if args.profile:
            await profile(client, cases["point"], args)


async def profile(client: InProcess, cases: Sequence[bytes], args: argparse.Namespace) -> None:
    """The point case once more under the chosen profiler, printed."""
    if args.profile == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        await cpu_per_request(client, cases, args.requests)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    prof = cProfile.Profile(time.process_time)  # CPU: waiting on PostgreSQL is not counted
    prof.enable()
    await cpu_per_request(client, cases, args.requests)
    prof.disable()
    stats = pstats.Stats(prof, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.request_cpu", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per case")
    parser.add_argument("--warmup", type=int, default=500, help="requests before measuring")
    parser.add_argument("--cases", type=int, default=2000, help="distinct points, addresses")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--profile", choices=("pyinstrument", "cprofile"))
    parser.add_argument("--top", type=int, default=25,
                        help="functions cProfile prints, by own and by cumulative time")
    parser.add_argument("--database-url", help="default: gridsteward_bench, local cluster")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = options().parse_args(argv)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # as uvicorn runs
        runner.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
