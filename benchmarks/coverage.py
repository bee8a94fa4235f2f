"""Coverage benchmark: the GraphQL API over HTTP beside the same look-ups as raw SQL.

One run (about five minutes with the defaults): recreates `gridsteward_bench` in the local
cluster and builds a synthetic city in it (benchmarks/synthetic_city.py; `--skip-load` reuses
it), starts `gridsteward serve`, checks known answers, then measures coverage by point and by
address over HTTP and as raw SQL (benchmarks/coverage_load.py), each phase in a load process
of its own: in a closed loop of N clients, with one client, and at a steady rate. The report
(benchmarks/coverage_report.py, its Method paragraph says what is measured how) is printed
and written between the coverage markers of docs/benchmarks.md unless `--no-docs`.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from benchmarks import synthetic_city as city
from benchmarks.coverage_load import LoadResult, LoadSpec, run_load
from benchmarks.coverage_report import Report, render, split_text
from benchmarks.harness import command, cpu, load, processes
from benchmarks.harness.project import address_key, encode_id, settings

BENCH_DATABASE = "gridsteward_bench"
POINT_QUERY = ("query($p: PointInput!){ coverage(point:$p){ grid{ id } building{ id } "
               "buildingGroup{ id } } }")
ADDRESS_QUERY = ("query($a: String!){ coverage(address:$a){ grid{ id } building{ id } "
                 "buildingGroup{ id } } }")
#: Connections each steady-rate phase opens before its schedule starts (more when needed).
STEADY_PREOPEN = 4

_SIZES = """
    SELECT (SELECT count(*) FROM community), (SELECT count(*) FROM grid),
           (SELECT count(*) FROM building),
           (SELECT count(*) FROM building WHERE footprint IS NULL),
           (SELECT count(*) FROM building_group),
           (SELECT count(DISTINCT rtrim(address_key, '0123456789号')) FROM building),
           pg_database_size(current_database()) / 1048576.0"""
_SIZE_NAMES = ("communities", "grids", "buildings", "point_only", "building_groups", "roads",
               "database_mb")


def check_answers(base: str, points: Sequence[city.PointCase],
                  addresses: Sequence[city.AddressCase]) -> str:
    """Known answers before measuring: a point inside a footprint resolves to that building,
    a point on a park's empty ground to a grid and no building, a point outside the city to
    null, an exact-key address variant to its building."""
    def building(want: int | None) -> Callable[[Any], bool]:
        wanted = encode_id("Building", want or 0)
        return lambda got: bool(got and got["building"] and got["building"]["id"] == wanted)

    def empty_ground(got: Any) -> bool:
        return bool(got and got["grid"] and got["building"] is None)

    def at(kind: str, n: int) -> list[city.PointCase]:
        return [p for p in points if p.kind == kind][:n]

    def point(p: city.PointCase) -> dict[str, Any]:
        return {"p": {"lon": p.lon, "lat": p.lat}}
    known = [a for a in addresses if a.building_id is not None][:25]
    cases: list[tuple[Any, str, dict[str, Any], Callable[[Any], bool]]] = [
        (p, POINT_QUERY, point(p), building(p.building_id)) for p in at("inside", 25)]
    cases += [(p, POINT_QUERY, point(p), empty_ground) for p in at("empty", 10)]
    cases += [(p, POINT_QUERY, point(p), lambda got: got is None) for p in at("outside", 5)]
    cases += [(a, ADDRESS_QUERY, {"a": a.text}, building(a.building_id)) for a in known]
    with httpx.Client(base_url=base, timeout=10) as client:
        for case, query, variables, expected in cases:
            response = client.post("/graphql", content=load.graphql_body(query, variables),
                                   headers={"Content-Type": "application/json"})
            error, data = load.graphql_data(response.status_code, response.content)
            if error or not expected(data.get("coverage")):
                raise RuntimeError(f"check failed: {case} resolved to {data} {error or ''}")
    return f"{len(cases)} known answers checked before measuring (all correct)"


def run_phase(spec: LoadSpec, args: argparse.Namespace) -> LoadResult:
    cpu.wait_for_quiet(args.quiet_wait, args.quiet_threshold)
    what = f"{spec.rate:g} requests/s" if spec.rate else f"{spec.concurrency} clients"
    print(f"  {spec.name}, {what}, {spec.warmup:g} s warm-up + {spec.duration:g} s ...",
          end="", flush=True)
    result = load.in_load_process(run_load, spec, timeout=spec.warmup + spec.duration + 120)
    c = result.cpu
    print(f" {result.rps:,.0f} req/s, p50 {result.p50:.2f} ms, p99 {result.p99:.2f} ms, "
          f"errors {result.errors}; cores: server {c['server']:.2f}{split_text(result)}, "
          f"PostgreSQL {c['postgres']:.2f}, client {c['client']:.2f}, other processes "
          f"{c['other']:.2f}, unattributed {c['unattributed']:.2f}; "
          f"new DB sessions {c['new sessions/s']:.1f}/s"
          + (f"; start lag p50 {result.lag_p50:.2f} ms" if spec.rate else ""))
    for sample in result.error_samples:
        print(f"    error: {sample}")
    return result


def _mix(cases: Sequence[Any]) -> str:
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.kind] = counts.get(case.kind, 0) + 1
    return ", ".join(f"{kind} {100 * n / len(cases):.0f} %" for kind, n in counts.items())


def build_city(db: processes.Database, args: argparse.Namespace) -> city.Generated:
    layout = city.CityLayout.plan(args.grids, args.buildings)
    print(f"database {db.name}: drop, create, migrate")
    processes.recreate(db)
    print(f"generating {layout.communities} communities, {layout.grids} grids, "
          f"{layout.buildings:,} buildings, {layout.building_groups:,} groups, "
          f"{layout.roads} roads ...")
    generation = city.generate(db.conninfo, layout)
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in generation.seconds.items())
    print(f"  generated in {generation.total_seconds:.1f} s ({steps})")
    return generation


@dataclass
class City:
    """The benchmark's database and what was drawn from it: its sizes, how it was generated
    (None when reused), and the points and addresses the clients cycle through."""

    db: processes.Database
    sizes: dict[str, float]
    generation: city.Generated | None
    points: list[city.PointCase]
    addresses: list[city.AddressCase]


def prepare(run: command.Run) -> City:
    """Build the city (unless --skip-load), read its sizes and the run's versions, draw the
    cases (--cases, --seed)."""
    args = run.args
    db = processes.bench_database(BENCH_DATABASE, args.database_url)
    generation = None if args.skip_load else build_city(db, args)
    rng = random.Random(args.seed)
    with psycopg.connect(db.conninfo) as conn:
        row = conn.execute(_SIZES).fetchone()
        assert row is not None
        sizes = {name: float(value) for name, value in zip(_SIZE_NAMES, row, strict=True)}
        run.versions = command.versions(conn)
        buildings = city.sample_buildings(conn, min(args.cases, int(sizes["buildings"])))
        grids = city.sample_grids(conn, min(2000, int(sizes["grids"])))
    layout = city.CityLayout.plan(int(sizes["grids"]), int(sizes["buildings"]))
    return City(db, sizes, generation,
                list(city.point_cases(buildings, grids, layout, args.cases, rng)),
                list(city.address_cases(buildings, args.cases, rng)))


def main(argv: Sequence[str] | None = None) -> int:
    run = command.start(options(), argv)
    args = run.args
    prepared = prepare(run)
    db, sizes, generation = prepared.db, prepared.sizes, prepared.generation
    points, addresses = prepared.points, prepared.addresses
    tuning = settings(**args.server_env)
    payloads: dict[str, list[Any]] = {
        "point, HTTP": [load.graphql_body(POINT_QUERY, {"p": {"lon": p.lon, "lat": p.lat}})
                        for p in points],
        "point, raw SQL": [(p.lon, p.lat) for p in points],
        "address, HTTP": [load.graphql_body(ADDRESS_QUERY, {"a": a.text}) for a in addresses],
        "address, raw SQL": [address_key(a.text) for a in addresses]}
    modes = {"point, raw SQL": "sql-point", "address, raw SQL": "sql-address"}
    with processes.running_server(db, workers=args.workers, env=args.server_env) as (
            base, server):
        print(f"server: {base} ({args.workers} workers, pid {server.pid})")
        checks = check_answers(base, points, addresses)
        print(f"  {checks}")

        def phases(concurrency: int, warmup: float, duration: float,
                   rate: float = 0.0) -> dict[str, LoadResult]:
            return {name: run_phase(LoadSpec(
                name, modes.get(name, "http"), db.conninfo if name in modes else base,
                cases, concurrency, warmup, duration, db.conninfo, client=args.client,
                nearest_metres=tuning.nearest_building_metres,
                threshold=tuning.address_match_threshold, server_pid=server.pid,
                stagger=min(args.stagger, 0.5 * warmup / max(1, concurrency)), rate=rate),
                args) for name, cases in payloads.items()}

        print(f"measuring with {args.concurrency} concurrent clients:")
        report = Report(run=run, sizes=sizes, generation=generation, checks=checks,
                        mix={"point": _mix(points), "address": _mix(addresses)},
                        main=phases(args.concurrency, args.warmup, args.duration))
        if args.probe_duration > 0:
            print(f"measuring with {args.probe_concurrency} client(s):")
            report.probe = phases(args.probe_concurrency, min(args.warmup, 1.0),
                                  args.probe_duration)
        if args.steady_rate > 0 and args.steady_duration > 0:
            print(f"measuring at a steady {args.steady_rate:g} requests/s:")
            report.steady = phases(STEADY_PREOPEN, args.warmup, args.steady_duration,
                                   rate=args.steady_rate)
    command.publish(render(report), name="coverage", args=args)
    everything = [*report.main.values(), *report.probe.values(), *report.steady.values()]
    return 1 if sum(r.errors for r in everything) else 0


def options() -> argparse.ArgumentParser:
    parser = command.parser("coverage", __doc__)
    add = parser.add_argument
    city.add_options(parser, grids=2000, buildings=100_000)
    add("--duration", type=float, default=15.0, help="seconds measured per look-up kind")
    add("--warmup", type=float, default=3.0,
        help="seconds of load before each measurement, not counted")
    add("--concurrency", type=int, default=32,
        help="concurrent clients (HTTP connections / database connections)")
    add("--probe-concurrency", type=int, default=1,
        help="clients of the second, low-load round (unloaded latency)")
    add("--probe-duration", type=float, default=5.0,
        help="seconds per look-up kind of the low-load round; 0 skips it")
    add("--steady-rate", type=float, default=100.0,
        help="requests a second of the steady-rate round (open loop: each starts on "
        "schedule, answered or not; latency from its scheduled start); 0 skips it")
    add("--steady-duration", type=float, default=15.0,
        help="seconds measured per look-up kind at the steady rate")
    add("--workers", type=int, default=2, help="server worker processes")
    add("--stagger", type=float, default=0.05,
        help="seconds between opening two HTTP connections (within the warm-up): a burst "
        "of keep-alive connections at once is all accepted by one uvicorn worker; 0 opens "
        "them at once")
    add("--client", choices=("raw", "httpx"), default="raw",
        help="HTTP load client: raw = minimal HTTP/1.1 keep-alive client on asyncio "
        "streams (cheapest on CPU), httpx = httpx.AsyncClient")
    add("--cases", type=int, default=20_000,
        help="distinct points and addresses the clients cycle through")
    add("--seed", type=int, default=20261123, help="random seed of the cases")
    command.add_common(parser, database=BENCH_DATABASE)
    return parser


if __name__ == "__main__":
    # Run as the importable module, so that the load process (spawned) can unpickle the
    # phase specifications and results by their real names.
    from benchmarks.coverage import main as _main
    sys.exit(_main())
