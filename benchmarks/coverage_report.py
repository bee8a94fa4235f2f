"""The coverage benchmark's report: the Markdown section written to docs/benchmarks.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from benchmarks import synthetic_city as city
from benchmarks.coverage_load import LoadResult
from benchmarks.harness.command import Run, options_text
from benchmarks.harness.report import heading, row, verdict

TARGET_RATIO = 5.0  # HTTP point p50 <= 5 x raw SQL point p50
TARGET_POINT_RPS = 500.0
TARGET_ADDRESS_P50_MS = 10.0
PARAMETERS = ("duration", "warmup", "concurrency", "stagger", "probe_concurrency",
              "probe_duration", "steady_rate", "steady_duration", "workers", "client",
              "cases", "seed", "quiet_wait", "quiet_threshold")


@dataclass
class Report:
    run: Run
    sizes: dict[str, float]
    generation: city.Generated | None
    checks: str
    mix: dict[str, str]
    main: dict[str, LoadResult]
    probe: dict[str, LoadResult] = field(default_factory=dict)
    steady: dict[str, LoadResult] = field(default_factory=dict)


def _ratio(results: dict[str, LoadResult], kind: str) -> float:
    """HTTP p50 ÷ raw SQL p50 of `kind` (point or address)."""
    a, b = results.get(f"{kind}, HTTP"), results.get(f"{kind}, raw SQL")
    if a is None or b is None or not b.p50 or math.isnan(b.p50):
        return math.nan
    return a.p50 / b.p50


def _ratios(results: dict[str, LoadResult], where: str) -> str:
    """The sentence comparing HTTP with raw SQL, p50 to p50, for points and addresses."""
    return (f"Ratios {where}: HTTP point p50 / raw SQL point p50 = "
            f"**{_ratio(results, 'point'):.1f}×**; HTTP address p50 / raw SQL address p50 = "
            f"**{_ratio(results, 'address'):.1f}×**.")


def split_text(result: LoadResult) -> str:
    """How the server's CPU divides among its processes (uvicorn's workers)."""
    if len(result.server_split) < 2:
        return ""
    return " (" + " + ".join(f"{v:.2f}" for v in result.server_split) + ")"


_CORES = ("CPU cores: server / PostgreSQL / client / other processes / unattributed")


def _cells(r: LoadResult) -> list[str]:
    """The cells every table has: p50, p99 ... then CPU (server per process / PostgreSQL /
    client / other / unattributed)."""
    c = r.cpu
    return [f"{r.p50:.2f}", f"{r.p99:.2f}", str(r.errors), f"{r.requests:,}",
            f"{100 * r.nulls / max(1, r.requests):.0f} %",
            f"{c.get('server', 0):.2f}{split_text(r)} / {c.get('postgres', 0):.2f} / "
            f"{c.get('client', 0):.2f} / {c.get('other', 0):.2f} / "
            f"{c.get('unattributed', 0):.2f}"]


def _table(results: dict[str, LoadResult]) -> list[str]:
    return [row("look-up", "clients", "requests/s", "p50 ms", "p99 ms", "errors", "requests",
                "null answers", _CORES, "new DB sessions/s"),
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
            *(row(r.name, r.concurrency, f"{r.rps:,.0f}", *_cells(r),
                  f"{r.cpu.get('new sessions/s', 0):.1f}") for r in results.values())]


def _steady_table(results: dict[str, LoadResult]) -> list[str]:
    return [row("look-up", "offered requests/s", "answered requests/s", "p50 ms", "p99 ms",
                "client start lag p50 ms", "errors", "requests", "null answers", _CORES),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            *(row(r.name, f"{r.rate:g}", f"{r.rps:,.0f}", *(cells := _cells(r))[:2],
                  f"{r.lag_p50:.2f}", *cells[2:]) for r in results.values())]


def data_text(s: dict[str, float], gen: city.Generated | None) -> str:
    """The Data bullet: the city's sizes and how it was generated."""
    return (f"- **Data**: {s['communities']:.0f} communities, {s['grids']:,.0f} grids, "
            f"{s['buildings']:,.0f} buildings ({s['point_only']:,.0f} without footprint), "
            f"{s['building_groups']:,.0f} building groups, {s['roads']:.0f} roads; database "
            f"{s['database_mb']:.0f} MB."
            + (f" Generated in SQL in {gen.total_seconds:.1f} s ("
               + ", ".join(f"{k} {v:.1f} s" for k, v in gen.seconds.items()) + ")."
               if gen else " (reused: `--skip-load`)."))


def _header(report: Report) -> list[str]:
    a = report.run.args
    env = ", ".join(f"`{k}={v}`" for k, v in a.server_env.items())
    return [
        *heading("Coverage", _INTRO, ".venv/bin/python -m benchmarks.coverage",
                 report.run, "Server, PostgreSQL and the load generator share these cores."),
        data_text(report.sizes, report.generation),
        f"- **Parameters**: `{options_text(a, PARAMETERS)}`"
        + (f" with server environment {env}" if env else "")
        + f"; `gridsteward serve --workers {a.workers}`, default settings "
        "(DB_POOL_SIZE 10 per worker), anonymous requests.",
        f"- **Points**: {report.mix['point']}. **Addresses**: {report.mix['address']}.",
        f"- **Checks**: {report.checks}; every HTTP answer is checked (status 200, no "
        "`errors`).",
        _METHOD,
        "",
    ]


_INTRO = (
    "Which building group covers a point or an address: `coverage(point:)` and "
    "`coverage(address:)` through the real server over HTTP, beside the same look-ups as "
    "raw SQL through psycopg, on a synthetic city (`benchmarks/synthetic_city.py`, built "
    "in SQL in its own database `gridsteward_bench`). Run it (about five minutes; "
    "`--help` lists the options, `--skip-load` reuses the city):")

_METHOD = (
    "- **Method**: two kinds of load. *Closed loop* (throughput): each of N clients sends its "
    "next request when the last is answered, so its latency includes the queue the clients "
    "themselves build (p50 ≈ N ÷ throughput); only requests started after the warm-up and "
    "finished within the window count. *Steady rate* (latency): open loop, a request starts "
    "every 1/rate s whether or not earlier ones were answered, each on an idle keep-alive "
    "connection (a new one when none is idle), latency measured from its scheduled start "
    "(a stall delays every request behind it); every request scheduled after the warm-up "
    "counts, however late its answer; *client start lag* = how late the load process began "
    "a request (its timers and event loop), which is inside every latency of that table. "
    "HTTP clients open their first connections `--stagger` "
    "seconds apart (all at once, uvicorn's first worker to wake accepts them all and the "
    "other idles: see the per-process split of the server's CPU in parentheses). One load "
    "process per phase, separate from the server: a minimal HTTP/1.1 keep-alive client on "
    "asyncio + uvloop (`--client raw`), because on 2 shared cores every cycle the client "
    "burns is taken from the server (its share is the *client* CPU column). Raw SQL = the "
    "statements of `domain/spatial/coverage.py` as SQLAlchemy compiles them (one for a point, "
    "returning the grid, building and group rows too; for an address the exact-key one, "
    "and on a miss the fuzzy candidates and the chosen building's rows), on autocommit "
    "psycopg connections; the address key is computed before the clock starts; fuzzy "
    "candidates are scored with `geo.address.similarity`. CPU is read per process from "
    "/proc: *other processes* = long-lived processes that are not part of the benchmark "
    "(other work on a shared machine, which skews the figures); *unattributed* = "
    "short-lived processes, PostgreSQL's parallel query workers among them, and the "
    "kernel. *New DB sessions/s* from `pg_stat_database`.")


def _targets(report: Report) -> list[str]:
    a, m = report.run.args, report.main
    hp, ha = m.get("point, HTTP"), m.get("address, HTTP")
    point_ratio = _ratio(m, "point")
    steady = report.steady.get("address, HTTP")
    closed = (f"closed loop with {a.concurrency} clients: p50 "
              f"{ha.p50 if ha else math.nan:.2f} ms at {ha.rps if ha else math.nan:,.0f} "
              "requests/s, which measures throughput, not judged")
    if steady is None:
        address = (f"- address coverage p50 ≤ {TARGET_ADDRESS_P50_MS:g} ms, judged at a "
                   "steady rate: not measured (`--steady-rate 0`) — **FAIL** (" + closed + ")")
    else:
        ok = steady.p50 <= TARGET_ADDRESS_P50_MS and not steady.errors
        address = (f"- address coverage p50 ≤ {TARGET_ADDRESS_P50_MS:g} ms, judged over HTTP "
                   f"at the steady rate of {a.steady_rate:g} requests/s (open loop): "
                   f"{steady.p50:.2f} ms (p99 {steady.p99:.2f} ms) — {verdict(ok)} "
                   f"({closed})")
    return [
        "Targets (each judged on the measurement it names):",
        "",
        f"- point coverage p50 ≤ {TARGET_RATIO:g}× raw SQL p50, judged in the closed loop "
        f"with {a.concurrency} clients: {point_ratio:.1f}× — "
        f"{verdict(point_ratio <= TARGET_RATIO)}",
        f"- point coverage ≥ {TARGET_POINT_RPS:g} requests/s, judged in the closed loop with "
        f"{a.concurrency} clients: {hp.rps if hp else math.nan:,.0f}/s — "
        f"{verdict(hp is not None and hp.rps >= TARGET_POINT_RPS)}",
        address,
    ]


def render(report: Report) -> str:
    a = report.run.args
    lines = [*_header(report),
             f"Closed loop, {a.concurrency} concurrent clients, {a.duration:g} s each "
             "(throughput):", "", *_table(report.main), ""]
    if report.probe:
        lines += [f"Closed loop, {a.probe_concurrency} client(s), {a.probe_duration:g} s each "
                  "(latency without queueing):", "", *_table(report.probe), "",
                  _ratios(report.probe, f"with {a.probe_concurrency} client(s)"), ""]
    if report.steady:
        lines += [f"Steady rate, open loop, {a.steady_rate:g} requests/s, "
                  f"{a.steady_duration:g} s each (latency at a given load):", "",
                  *_steady_table(report.steady), "",
                  _ratios(report.steady, f"at {a.steady_rate:g}/s"), ""]
    lines += [_ratios(report.main, f"with {a.concurrency} clients"), "", *_targets(report)]
    everything = [*report.main.values(), *report.probe.values(), *report.steady.values()]
    if errors := sum(r.errors for r in everything):
        lines += ["", f"**{errors} failed requests** (see the console output)."]
    return "\n".join(lines)
