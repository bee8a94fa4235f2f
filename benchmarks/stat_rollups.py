"""The statistics at a larger city, from the roll-ups and from the raw rows (issue 14,
point 5): requestStats and satisfaction for a community, a subdistrict's worth of
communities and the whole city, over a month and a year, both ways on the same database;
then the quarter's assessment snapshot in a child process (time, peak RSS).

    .venv/bin/python -m benchmarks.stat_rollups [--scale 2] [--skip-load] [--runs 5]

Uses the city benchmark's database at `--scale` (benchmarks/city_build.py:
gridsteward_bench_city_2x for --scale 2), rebuilt unless --skip-load (the build loads
without triggers, then `rollup_rebuild()` fills the roll-ups). Wall time of the domain
function in this process, median of `--runs` after one warm-up; prints a Markdown table
(docs/benchmarks.md, "Statistics from roll-ups"). Kept apart from benchmarks/city_reads.py,
which measures every read.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from benchmarks import city_build
from benchmarks.city_reads import END, PERIOD
from benchmarks.harness.project import make_async_engine, session_factory
from domain.access import Territories, Viewer
from domain.requests import queries
from domain.spatial.directory import Scope
from domain.surveys import satisfaction as sat
from domain.surveys.assessment import assess_period

ADMIN = Viewer(admin=True)
WINDOWS = {"month": (END - timedelta(days=30), END), "year": (END - timedelta(days=365), END),
           "month, ragged": (END - timedelta(days=30, minutes=17), END - timedelta(minutes=41))}


async def _median(runs: int, work: Callable[[], Awaitable[Any]]) -> float:
    await work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(url: str, runs: int) -> list[tuple[str, float, float]]:
    """(read, ms from roll-ups, ms from raw rows), each checked equal."""
    engine = make_async_engine(url, pool_size=2)
    out = []
    try:
        async with session_factory(engine)() as session:
            ids = [int(i) for i in (await session.execute(text(
                "SELECT id FROM community ORDER BY id"))).scalars()]
            tenth = frozenset(ids[:max(1, len(ids) // 10)])
            territory = Viewer(account_id=1, territories=Territories(community_ids=tenth),
                               communities=tenth)
            who = {"community": (ADMIN, Scope(community_id=ids[0])),
                   f"subdistrict ({len(tenth)} communities)": (territory, Scope()),
                   "city": (ADMIN, Scope())}
            for name, (viewer, scope) in who.items():
                for period, (since, until) in WINDOWS.items():
                    args: dict[str, Any] = {"viewer": viewer, "scope": scope, "since": since,
                                            "until": until}
                    assert (await queries.request_stats(session, now=END, **args)
                            == await queries.exact_request_stats(session, now=END, **args))
                    fast = await _median(runs, functools.partial(
                        queries.request_stats, session, now=END, **args))
                    slow = await _median(runs, functools.partial(
                        queries.exact_request_stats, session, now=END, **args))
                    out.append((f"requestStats, {name}, {period}", fast, slow))
                    fast = await _median(runs, functools.partial(
                        sat.satisfaction, session, **args))
                    slow = await _median(runs, functools.partial(
                        sat.exact_satisfaction_row, session, **args))
                    out.append((f"satisfaction, {name}, {period}", fast, slow))
    finally:
        await engine.dispose()
    return out


async def _snapshot(url: str) -> dict[str, Any]:
    engine = make_async_engine(url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            started = time.perf_counter()
            members = await assess_period(session, period=PERIOD, now=END)
            await session.commit()
            seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {"seconds": seconds, "members": members,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_snapshot(args.child))))
        return
    db = city_build.prepare(args.scale, rebuild=not args.skip_load)  # the city benchmark's
    city_build.build(db.conninfo, city_build.Size(args.scale), END)
    print(f"measured {datetime.now():%Y-%m-%d %H:%M}")
    print("| read | roll-ups ms | raw rows ms |\n|---|---:|---:|")
    for name, fast, slow in asyncio.run(measure(db.sqlalchemy_url, args.runs)):
        print(f"| {name} | {fast:,.1f} | {slow:,.1f} |", flush=True)
    child = subprocess.run([sys.executable, "-m", "benchmarks.stat_rollups", "--child",
                            db.sqlalchemy_url], capture_output=True, text=True, check=True)
    snap = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"| assessment snapshot {PERIOD} ({snap['members']:,} members) | "
          f"{snap['seconds'] * 1000:,.0f} | peak RSS {snap['peak_rss_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
