"""Vector tiles benchmark: bytes and time per tile of every layer at z12, z14, z15 and z16.

Builds the coverage benchmark's synthetic city (benchmarks/synthetic_city.py: 2,000 grids,
100,000 buildings by default) in `gridsteward_bench_tiles`, three stewards a group and a year
of requests ending now (benchmarks/city_history.py; the few thousand still open are the
`open_requests` layer), starts `gridsteward serve` and fetches, one at a time over HTTP with
the administrator token, every tile of each zoom that covers the city (at most `--sample` a
zoom, spread evenly), each twice: the first fetch warms the plans and caches, the second is
timed (from sending the request to the whole body read). Empty tiles (204) count with 0
bytes; tiles below a layer's minimum zoom are not fetched. Targets: p50 ≤ 20 ms and at most
200 KB a tile.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import psycopg

from benchmarks import city_history, stewards
from benchmarks import synthetic_city as city
from benchmarks.harness import command, processes, report
from benchmarks.harness.project import TILE_LAYERS, issue_token

DATABASE = "gridsteward_bench_tiles"
ZOOMS = (12, 14, 15, 16)
TARGET_MS = 20.0
TARGET_KB = 200.0


def tile_range(bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int]]:
    """Every (x, y) of zoom `z` that covers the box (west, south, east, north)."""
    west, south, east, north = bounds
    n = 1 << z

    def x_of(lon: float) -> int:
        return int((lon + 180) / 360 * n)

    def y_of(lat: float) -> int:
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return [(x, y) for x in range(x_of(west), x_of(east) + 1)
            for y in range(y_of(north), y_of(south) + 1)]


def spread(items: list[tuple[int, int]], count: int) -> list[tuple[int, int]]:
    """At most `count` of `items`, evenly spaced."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def measure(base: str, token: str, z: int, tiles: Sequence[tuple[int, int]],
            layer: str) -> tuple[list[float], list[int]]:
    """Milliseconds and bytes of each tile's second fetch."""
    millis: list[float] = []
    sizes: list[int] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=60) as client:
        for x, y in tiles:
            url = f"/tiles/{layer}/{z}/{x}/{y}.mvt"
            client.get(url).raise_for_status()
            started = time.perf_counter()
            answer = client.get(url)
            millis.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
            sizes.append(len(answer.content))
    return millis, sizes


def build(db: processes.Database, grids: int, buildings: int, requests: int) -> float:
    started = time.perf_counter()
    processes.recreate(db)
    layout = city.CityLayout.plan(grids, buildings)
    city.generate(db.conninfo, layout, sample=200)
    stewards.add_stewards(db.conninfo, per_group=3)
    city_history.add_history(db.conninfo, requests=requests, end=datetime.now(UTC))
    return time.perf_counter() - started


def rows(base: str, token: str, bounds: tuple[float, float, float, float],
         sample: int) -> list[str]:
    lines = [report.row("zoom", "layer", "tiles", "empty", "p50 ms", "p95 ms", "max ms",
                        "median KB", "max KB", "targets"),
             report.row(*["---"] * 10)]
    for z in ZOOMS:
        tiles = spread(tile_range(bounds, z), sample)
        for layer, spec in TILE_LAYERS.items():
            if z < spec.min_zoom:
                lines.append(report.row(z, layer, "–", f"all (from z{spec.min_zoom})",
                                        *["–"] * 5, "–"))
                continue
            millis, sizes = measure(base, token, z, tiles, layer)
            kb = [s / 1024 for s in sizes]
            p50, top = report.percentile(millis, 0.5), max(kb)
            lines.append(report.row(
                z, layer, len(tiles), sum(1 for s in sizes if s == 0), report.number(p50),
                report.number(report.percentile(millis, 0.95)), report.number(max(millis)),
                report.number(report.percentile(kb, 0.5)), report.number(top),
                report.verdict(p50 <= TARGET_MS and top <= TARGET_KB)))
            print(lines[-1])
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = command.parser("tiles", __doc__)
    city.add_options(parser, grids=2000, buildings=100_000)
    parser.add_argument("--requests", type=int, default=50_000,
                        help="requests of the year of history (about 6 %% still open)")
    parser.add_argument("--sample", type=int, default=100, help="tiles per zoom at most")
    command.add_common(parser, database=DATABASE)
    run = command.start(parser, argv)
    args = run.args
    db = processes.bench_database(DATABASE, args.database_url)
    built = None if args.skip_load else build(db, args.grids, args.buildings, args.requests)
    if built is not None:
        print(f"city built in {built:.1f} s")
    with psycopg.connect(db.conninfo) as conn:
        run.versions = command.versions(conn)
    secret = secrets.token_urlsafe(36)
    token = issue_token(secret, admin=True)
    bounds = city.CityLayout.plan(args.grids, args.buildings).bounds
    with processes.running_server(db, workers=1, env={"SECRET_KEY": secret,
                                                     **args.server_env}) as (base, _):
        lines = rows(base, token, bounds, args.sample)
    intro = ("Bytes and time of `GET /tiles/{layer}/{z}/{x}/{y}.mvt` on the synthetic city, "
             "one request at a time over HTTP (one server process), the second fetch of each "
             "tile timed; targets p50 ≤ 20 ms and ≤ 200 KB a tile. Buildings and building "
             "groups start at z15, grids at z10 (their tiles are empty below).")
    cmd = ".venv/bin/python -m benchmarks.tiles " + command.options_text(
        args, ["grids", "buildings", "requests", "sample"])
    text = "\n".join([*report.heading("Vector tiles", intro, cmd, run,
                                      "Shared with other work."), "", *lines])
    command.publish(text, name="tiles", args=args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
