"""Reads at a larger city: the statistics, assessments, loaders and map features that broke on
the city of issue #9, measured with EXPLAIN ANALYZE and through the schema in this process.

    .venv/bin/python -m benchmarks.city_reads [--scale 2] [--skip-load] [--timeout 120]

Builds (unless --skip-load) its own database, gridsteward_bench_reads in the local cluster:
the coverage benchmark's synthetic city times `--scale` (2,000 grids and 100,000 buildings a
unit), three stewards a building group and a grid worker a grid (benchmarks/stewards.py),
and 200,000 requests a unit over 12 months with their timelines and surveys
(benchmarks/city_history.py). Then it measures, each statement under `--timeout`:

- requestStats for one community and for the whole city over the 12 months (EXPLAIN ANALYZE
  of the statement domain.requests.queries sends);
- mapFeatures' BUILDINGS layer for one community's box (EXPLAIN ANALYZE), and mapFeatures of
  all five layers for that box and for the whole city through the schema (bytes, or the
  error code);
- the member DataLoader given every member id at once;
- the quarter's assessment snapshot (domain.surveys.assessment.assess_period), then
  `assessments` of the whole city through the schema, in a child process whose address space
  is capped (`--memory-mb`) so that a read that grows without bound fails there, not here.

Prints a Markdown table; docs/benchmarks.md ("Reads at a larger city") keeps the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks import city_history, stewards, synthetic_city
from benchmarks.harness import processes
from benchmarks.harness.project import (
    NO_JIT,
    BBox,
    Context,
    Loaders,
    Scope,
    Viewer,
    assess_period,
    build_schema,
    libpq_url,
    make_async_engine,
    map_features,
    request_stats,
    session_factory,
    settings,
    upgrade_database,
)

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "gridsteward_bench_reads"
END = datetime(2026, 10, 1, tzinfo=UTC)  # 12 months of history end here
PERIOD = "2026-Q3"
ADMIN = Viewer(admin=True)
_MAP_QUERY = """query ($bbox: BBoxInput!) { mapFeatures(bbox: $bbox,
    layers: [COMMUNITIES, GRIDS, BUILDINGS, BUILDING_GROUPS, OPEN_REQUESTS]) }"""


def build(url: str, scale: int) -> dict[str, float]:
    """The city, its members and a year of requests; seconds per step."""
    conninfo = libpq_url(url)
    layout = synthetic_city.CityLayout.plan(2000 * scale, 100_000 * scale)
    seconds = {f"city: {k}": v for k, v in
               synthetic_city.generate(conninfo, layout, sample=200).seconds.items()}
    started = time.perf_counter()
    stewards.add_stewards(conninfo, per_group=3)
    seconds["members"] = time.perf_counter() - started
    seconds.update(city_history.add_history(conninfo, requests=200_000 * scale, end=END))
    return seconds


async def _statements(engine: AsyncEngine, read: Callable[[Any], Awaitable[Any]]
                      ) -> list[tuple[str, Any]]:
    """The statements `read(session)` sends, captured while each is cut short at once."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if not statement.lstrip().upper().startswith("SET"):
            sent.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with session_factory(engine)() as session:
            await session.execute(text("SET statement_timeout = 1"))
            with contextlib.suppress(DBAPIError):
                await read(session)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    return sent


def _scans(plan: dict[str, Any]) -> list[str]:
    """The scans of a plan tree, as "Seq Scan on building" or "Index Scan using x"."""
    here = []
    if "Scan" in plan["Node Type"]:
        where = (f"using {plan['Index Name']}" if "Index Name" in plan
                 else f"on {plan.get('Relation Name', '?')}")
        here.append(f"{plan['Node Type']} {where}")
    for child in plan.get("Plans", []):
        here.extend(_scans(child))
    return here


def explain(conninfo: str, statement: str, params: Any, timeout_s: int) -> dict[str, Any]:
    """EXPLAIN ANALYZE: execution ms and the scans, or a timeout."""
    with psycopg.connect(conninfo, options=NO_JIT) as conn:  # as the application's sessions
        conn.execute(f"SET statement_timeout = {timeout_s * 1000}")
        try:
            row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement,
                               params).fetchone()
        except psycopg.errors.QueryCanceled:
            return {"ms": None, "scans": [f"no answer in {timeout_s} s"]}
    assert row is not None
    plan = row[0][0]
    return {"ms": plan["Execution Time"], "scans": sorted(set(_scans(plan["Plan"])))}


async def _explained(engine: AsyncEngine, conninfo: str, timeout_s: int,
                     read: Callable[[Any], Awaitable[Any]]) -> dict[str, Any]:
    statement, params = (await _statements(engine, read))[-1]
    return explain(conninfo, statement, params, timeout_s)


def _community_box(conninfo: str, community_id: int) -> BBox:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT ST_XMin(boundary), ST_YMin(boundary), ST_XMax(boundary), "
                           "ST_YMax(boundary) FROM community WHERE id = %s",
                           (community_id,)).fetchone()
    assert row is not None
    return BBox(*row)


def _city_box(conninfo: str) -> BBox:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                           "(SELECT ST_Extent(boundary)::geometry AS e FROM community) x"
                           ).fetchone()
    assert row is not None
    return BBox(*row)


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    try:
        value = await work()
    except Exception as exc:  # a figure of the benchmark, not a failure of it
        value = exc
    return time.perf_counter() - started, value


async def measure(url: str, timeout_s: int) -> dict[str, Any]:
    """Every read of the module docstring; figures by name."""
    conninfo = libpq_url(url)
    engine = make_async_engine(url, pool_size=2)
    since, out = END - timedelta(days=365), {}
    try:
        for name, scope in (("community", Scope(community_id=1)), ("city", Scope())):
            out[f"requestStats, {name}, 12 months"] = await _explained(
                engine, conninfo, timeout_s, functools.partial(
                    request_stats, viewer=ADMIN, scope=scope, since=since, until=END, now=END))
        box = _community_box(conninfo, 1)
        out["mapFeatures BUILDINGS, one community"] = await _explained(
            engine, conninfo, timeout_s, lambda s: map_features(
                s, bbox=box, layers=["BUILDINGS"], viewer=ADMIN))
        schema, sessions = build_schema(), session_factory(engine)
        for name, where in (("one community", box), ("whole city", _city_box(conninfo))):
            seconds, result = await _timed(functools.partial(
                schema.execute, _MAP_QUERY, variable_values={"bbox": vars(where)},
                context_value=Context(sessions=sessions, settings=settings(), viewer=ADMIN)))
            out[f"mapFeatures, five layers, {name}"] = _graphql_figures(seconds, result)
        with psycopg.connect(conninfo) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM member ORDER BY id")]
        seconds, rows = await _timed(lambda: Loaders(sessions).member.load_many(ids))
        out[f"member loader, {len(ids):,} ids"] = {
            "ms": seconds * 1000, "scans": [_outcome(rows, len(ids))]}
        async with session_factory(engine)() as session:
            seconds, count = await _timed(lambda: assess_period(session, period=PERIOD,
                                                                now=END))
            await session.commit()
        out[f"assessment snapshot {PERIOD}"] = {"ms": seconds * 1000,
                                                "scans": [f"{count} members"]}
    finally:
        await engine.dispose()
    return out


def _outcome(rows: Any, expected: int) -> str:
    if isinstance(rows, Exception):
        return f"failed: {type(rows).__name__}: {str(rows).splitlines()[0][:90]}"
    return f"{sum(r is not None for r in rows):,} of {expected:,} found"


def _graphql_figures(seconds: float, result: Any) -> dict[str, Any]:
    if isinstance(result, Exception):
        return {"ms": seconds * 1000, "scans": [f"failed: {type(result).__name__}"]}
    if result.errors:
        first = result.errors[0]
        return {"ms": seconds * 1000, "scans": [
            f"{len(result.errors):,} error(s): {(first.extensions or {}).get('code')} "
            f"{first.message[:90]}"]}
    size = len(json.dumps(result.data))
    return {"ms": seconds * 1000, "scans": [f"answered {size / 1e6:.1f} MB"]}


_ASSESSMENTS_PAGED = """query ($after: ID) { assessments(period: "PERIOD", first: 500,
    after: $after) { score rank member { id name } } }""".replace("PERIOD", PERIOD)
_ASSESSMENTS_ALL = """{ assessments(period: "PERIOD") { score rank member { id name } } }
""".replace("PERIOD", PERIOD)


async def _assessments_child(url: str, paged: bool) -> dict[str, Any]:
    """Every assessment of the city through the schema, page after page when `paged`."""
    engine = make_async_engine(url, pool_size=2)
    schema, sessions = build_schema(), session_factory(engine)
    entries, pages, after, started = 0, 0, None, time.perf_counter()
    try:
        while True:
            result = await schema.execute(
                _ASSESSMENTS_PAGED if paged else _ASSESSMENTS_ALL,
                variable_values={"after": after},
                context_value=Context(sessions=sessions, settings=settings(), viewer=ADMIN))
            if result.errors:
                return {"error": f"{len(result.errors):,} error(s): "
                                 f"{result.errors[0].message[:120]} (peak RSS {_peak_mb():.0f} MB)"}
            assert result.data is not None
            page = result.data["assessments"]
            entries, pages = entries + len(page), pages + 1
            if not paged or len(page) < 500:
                break
            after = page[-1]["member"]["id"]
    finally:
        await engine.dispose()
    return {"entries": entries, "pages": pages, "seconds": time.perf_counter() - started,
            "peak_rss_mb": _peak_mb()}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def assessments_in_child(url: str, *, paged: bool, memory_mb: int,
                         timeout_s: int) -> dict[str, Any]:
    """`_assessments_child` in a child process with at most `memory_mb` of address space."""
    def cap() -> None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    argv = [sys.executable, "-m", "benchmarks.city_reads", "--child", url]
    if paged:
        argv.append("--paged")
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s * 3,
                              preexec_fn=cap, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer in {timeout_s * 3} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"child exited {done.returncode} after "
                         f"{time.perf_counter() - started:.0f} s (cap {memory_mb} MB): "
                         f"{last[:120]}"}
    return dict(json.loads(lines[-1]))


def table(figures: dict[str, Any]) -> str:
    lines = ["| read | EXPLAIN ANALYZE or wall ms | what it did |", "|---|---:|---|"]
    for name, value in figures.items():
        ms = "—" if value.get("ms") is None else f"{value['ms']:,.1f}"
        lines.append(f"| {name} | {ms} | {'; '.join(value['scans'])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per statement")
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--paged", action="store_true", help="page through assessments")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_assessments_child(args.child, args.paged))))
        return
    db = processes.bench_database(DATABASE)
    if args.skip_load:
        upgrade_database(db.sqlalchemy_url)
    else:
        processes.recreate(db)
    url = db.sqlalchemy_url
    if not args.skip_load:
        for step, seconds in build(url, args.scale).items():
            print(f"built {step}: {seconds:.1f} s", flush=True)
    figures = asyncio.run(measure(url, args.timeout))
    child = assessments_in_child(url, paged=args.paged, memory_mb=args.memory_mb,
                                 timeout_s=args.timeout)
    figures["assessments, whole city" + (", every page" if args.paged else "")] = {
        "ms": child["seconds"] * 1000 if "seconds" in child else None,
        "scans": [child.get("error") or f"{child['entries']:,} entries in "
                  f"{child['pages']} page(s); peak RSS {child['peak_rss_mb']:.0f} MB"]}
    print(table(figures))


if __name__ == "__main__":
    main()
