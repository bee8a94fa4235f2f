"""Side-by-side benchmark: point coverage through GridSteward beside PostGraphile 4 and raw
SQL, on the coverage benchmark's city, in one run, with the same client.

One run (about eight minutes with the defaults, once npm has installed PostGraphile): builds
the coverage benchmark's city in `gridsteward_bench` (`--skip-load` reuses it), installs
PostGraphile 4 with @graphile/postgis, postgraphile-plugin-connection-filter and
postgraphile-plugin-connection-filter-postgis from npm into benchmarks/postgraphile/
node_modules (benchmarks/postgraphile_server.py), starts `gridsteward serve` and PostGraphile
on that database side by side, checks known answers of both, then measures in rounds: each
round runs every contestant once (point coverage through GridSteward, through PostGraphile,
as raw SQL; address coverage through GridSteward and as raw SQL), in an order that rotates
from round to round, first with `--concurrency` clients, then with `--probe-concurrency`.
Every phase is a load process of the coverage benchmark's (benchmarks/coverage_load.py, the
same minimal HTTP client for both servers). The report (benchmarks/peer_report.py) is printed
and written between the peer markers of docs/benchmarks.md unless `--no-docs`.

PostGraphile's query is `allGrids(filter: {boundary: {covers: $p}})` and the same for building
footprints, ids only: simpler than GridSteward's `coverage(point:)`, which also falls back to
the nearest building within 30 m and names the building group.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from benchmarks import coverage, postgraphile_server
from benchmarks import synthetic_city as city
from benchmarks.coverage_load import LoadResult, LoadSpec
from benchmarks.harness import command, load, processes
from benchmarks.harness.load import Answer, Check
from benchmarks.harness.project import address_key, settings
from benchmarks.peer_report import (
    GRIDSTEWARD_ADDRESS,
    GRIDSTEWARD_POINT,
    PEER_POINT,
    Report,
    render,
)

PEER_QUERY = ("query($p: GeoJSON!){ allGrids(filter: {boundary: {covers: $p}}){ nodes{ id } } "
              "allBuildings(filter: {footprint: {covers: $p}}){ nodes{ id } } }")
SQL_POINT = "point, raw SQL"
SQL_ADDRESS = "address, raw SQL"


def peer_body(lon: float, lat: float) -> bytes:
    """PostGraphile's request for the point (lon, lat), as GeoJSON."""
    return load.graphql_body(PEER_QUERY, {"p": {"type": "Point", "coordinates": [lon, lat]}})


def check_peer(status: int, body: bytes) -> Answer:
    """(error, nothing covers the point) for one PostGraphile answer."""
    error, data = load.graphql_data(status, body)
    if error is not None:
        return error, False
    return None, not _nodes(data, "allGrids") and not _nodes(data, "allBuildings")


def _nodes(data: dict[str, Any], field: str) -> list[Any]:
    return list((data.get(field) or {}).get("nodes") or [])


def row_ids(data: dict[str, Any], field: str) -> list[int]:
    """The primary keys PostGraphile answered (`id` is the table's column; its global id
    would be `nodeId`)."""
    return [int(node["id"]) for node in _nodes(data, field)]


def check_peer_answers(base: str, points: Sequence[city.PointCase]) -> str:
    """PostGraphile's known answers before measuring: a point inside a footprint is covered
    by that building, a point on a park's empty ground by a grid and no building, a point
    outside the city by nothing."""
    def at(kind: str, n: int) -> list[city.PointCase]:
        return [p for p in points if p.kind == kind][:n]
    cases = [*at("inside", 25), *at("empty", 10), *at("outside", 5)]
    with httpx.Client(base_url=base, timeout=10) as client:
        for p in cases:
            response = client.post("/graphql", content=peer_body(p.lon, p.lat),
                                   headers={"Content-Type": "application/json"})
            error, data = load.graphql_data(response.status_code, response.content)
            if error is not None or not _as_expected(p, row_ids(data, "allGrids"),
                                                     row_ids(data, "allBuildings")):
                raise RuntimeError(f"PostGraphile check failed: {p} answered {data} "
                                   f"{error or ''}")
    return f"{len(cases)} known answers of PostGraphile checked (all correct)"


def _as_expected(p: city.PointCase, grids: list[int], buildings: list[int]) -> bool:
    if p.kind == "inside":
        return bool(grids) and p.building_id in buildings
    if p.kind == "empty":
        return bool(grids) and not buildings
    return not grids and not buildings


@dataclass(frozen=True)
class Contestant:
    """One party measured in every round: how its phase is run."""

    name: str
    mode: str  # http | sql-point | sql-address
    target: str
    payloads: list[Any]
    server_pid: int | None = None
    check: Check | None = None


def rotated(contestants: Sequence[Contestant], round_index: int) -> list[Contestant]:
    """The round's order: each round starts one contestant later than the last."""
    k = round_index % len(contestants)
    return [*contestants[k:], *contestants[:k]]


def measure(contestants: Sequence[Contestant], args: argparse.Namespace, *, clients: int,
            warmup: float, duration: float, db: processes.Database
            ) -> dict[str, list[LoadResult]]:
    """`--rounds` rounds of every contestant with `clients` clients; results by name, in
    round order."""
    tuning = settings(**args.server_env)
    found: dict[str, list[LoadResult]] = {c.name: [] for c in contestants}
    for index in range(args.rounds):
        print(f"round {index + 1} of {args.rounds}, {clients} client(s):")
        for c in rotated(contestants, index):
            spec = LoadSpec(c.name, c.mode, c.target, c.payloads, clients, warmup, duration,
                            db.conninfo, nearest_metres=tuning.nearest_building_metres,
                            threshold=tuning.address_match_threshold, server_pid=c.server_pid,
                            stagger=min(args.stagger, 0.5 * warmup / max(1, clients)),
                            check=c.check)
            found[c.name].append(coverage.run_phase(spec, args))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    run = command.start(options(), argv)
    args = run.args
    if why := postgraphile_server.node_missing():
        raise SystemExit(f"benchmark: PostGraphile needs Node.js: {why}")
    postgraphile_server.install()
    prepared = coverage.prepare(run)
    run.versions.update(postgraphile_server.versions())
    db, points, addresses = prepared.db, prepared.points, prepared.addresses
    with processes.running_server(db, workers=args.workers, env=args.server_env) as (
            base, server), postgraphile_server.running(
            db, workers=args.peer_workers, pool_size=args.peer_pool_size) as (
            peer_base, peer):
        print(f"GridSteward: {base} ({args.workers} workers, pid {server.pid}); PostGraphile: "
              f"{peer_base} ({args.peer_workers} processes, pid {peer.pid})")
        checks = [coverage.check_answers(base, points, addresses),
                  check_peer_answers(peer_base, points)]
        print("  " + "; ".join(checks))
        contestants = [
            Contestant(GRIDSTEWARD_POINT, "http", base, [load.graphql_body(
                coverage.POINT_QUERY, {"p": {"lon": p.lon, "lat": p.lat}}) for p in points],
                server.pid),
            Contestant(PEER_POINT, "http", peer_base, [peer_body(p.lon, p.lat) for p in points],
                       peer.pid, check_peer),
            Contestant(SQL_POINT, "sql-point", db.conninfo, [(p.lon, p.lat) for p in points]),
            Contestant(GRIDSTEWARD_ADDRESS, "http", base, [load.graphql_body(
                coverage.ADDRESS_QUERY, {"a": a.text}) for a in addresses], server.pid),
            Contestant(SQL_ADDRESS, "sql-address", db.conninfo,
                       [address_key(a.text) for a in addresses])]
        report = Report(run=run, sizes=prepared.sizes, generation=prepared.generation,
                        checks=checks, main=measure(
                            contestants, args, clients=args.concurrency, warmup=args.warmup,
                            duration=args.duration, db=db))
        if args.probe_duration > 0:
            report.probe = measure(contestants, args, clients=args.probe_concurrency,
                                   warmup=min(args.warmup, 1.0), duration=args.probe_duration,
                                   db=db)
    command.publish(render(report), name="peer", args=args)
    return 1 if report.errors() else 0


def options() -> argparse.ArgumentParser:
    parser = command.parser("peer", __doc__)
    add = parser.add_argument
    city.add_options(parser, grids=2000, buildings=100_000)
    add("--rounds", type=int, default=3,
        help="rounds; each measures every contestant once, in an order rotated per round")
    add("--duration", type=float, default=10.0,
        help="seconds measured per contestant and round with --concurrency clients")
    add("--warmup", type=float, default=2.0,
        help="seconds of load before each measurement, not counted")
    add("--concurrency", type=int, default=32,
        help="concurrent clients (HTTP connections / database connections)")
    add("--probe-concurrency", type=int, default=1,
        help="clients of the low-load rounds (unloaded latency)")
    add("--probe-duration", type=float, default=5.0,
        help="seconds per contestant and round of the low-load rounds; 0 skips them")
    add("--workers", type=int, default=2, help="GridSteward's server worker processes")
    add("--peer-workers", type=int, default=2,
        help="PostGraphile's processes (node:cluster), each with its own pool")
    add("--peer-pool-size", type=int, default=10,
        help="database connections per PostGraphile process (pg's default is 10)")
    add("--stagger", type=float, default=0.05,
        help="seconds between opening two HTTP connections (within the warm-up), so that "
        "both servers' processes get connections")
    add("--cases", type=int, default=20_000,
        help="distinct points and addresses the clients cycle through")
    add("--seed", type=int, default=20261123, help="random seed of the cases")
    command.add_common(parser, database=coverage.BENCH_DATABASE)
    return parser


if __name__ == "__main__":
    # Run as the importable module, so that the load process (spawned) can unpickle the
    # phase specifications, their checks and results by their real names.
    from benchmarks.peer import main as _main
    sys.exit(_main())
