"""The coverage benchmark's report: the Markdown section written to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

from benchmarks import synthetic_city as city
from benchmarks.coverage_load import LoadResult

TARGET_RATIO = 5.0  # HTTP point p50 <= 5 x raw SQL point p50
TARGET_POINT_RPS = 500.0
TARGET_ADDRESS_P50_MS = 10.0


@dataclass(frozen=True)
class Sizes:
    communities: int
    grids: int
    buildings: int
    point_only: int
    building_groups: int
    roads: int
    database_mb: float


@dataclass
class Report:
    args: argparse.Namespace
    started_utc: str
    machine: dict[str, str]
    versions: dict[str, str]
    sizes: Sizes
    generation: city.Generated | None
    checks: str
    main: dict[str, LoadResult]
    probe: dict[str, LoadResult]
    mix: dict[str, str]
    steady: dict[str, LoadResult] = field(default_factory=dict)


def _ratio(a: LoadResult | None, b: LoadResult | None) -> float:
    if a is None or b is None or not b.p50 or math.isnan(b.p50):
        return math.nan
    return a.p50 / b.p50


def _ratios(results: dict[str, LoadResult], where: str) -> str:
    """The sentence comparing HTTP with raw SQL, p50 to p50, for points and addresses."""
    point = _ratio(results.get("point, HTTP"), results.get("point, raw SQL"))
    address = _ratio(results.get("address, HTTP"), results.get("address, raw SQL"))
    return (f"Ratios {where}: HTTP point p50 / raw SQL point p50 = **{point:.1f}×**; "
            f"HTTP address p50 / raw SQL address p50 = **{address:.1f}×**.")


def _pass(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def split_text(result: LoadResult) -> str:
    """How the server's CPU divides among its processes (uvicorn's workers)."""
    if len(result.server_split) < 2:
        return ""
    return " (" + " + ".join(f"{v:.2f}" for v in result.server_split) + ")"


def _nulls(r: LoadResult) -> str:
    return f"{100 * r.nulls / max(1, r.requests):.0f} %"


def _cores(r: LoadResult) -> str:
    """The CPU cell: server (per process) / PostgreSQL / client / other / unattributed."""
    cpu = r.cpu
    return (f"{cpu.get('server', 0):.2f}{split_text(r)} / {cpu.get('postgres', 0):.2f} / "
            f"{cpu.get('client', 0):.2f} / {cpu.get('other', 0):.2f} / "
            f"{cpu.get('unattributed', 0):.2f}")


def _table(results: dict[str, LoadResult]) -> list[str]:
    lines = ["| look-up | clients | requests/s | p50 ms | p99 ms | errors | requests | "
             "null answers | CPU cores: server / PostgreSQL / client / other processes / "
             "unattributed | new DB sessions/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in results.values():
        lines.append(
            f"| {r.name} | {r.concurrency} | {r.rps:,.0f} | {r.p50:.2f} | {r.p99:.2f} | "
            f"{r.errors} | {r.requests:,} | {_nulls(r)} | {_cores(r)} | "
            f"{r.cpu.get('new sessions/s', 0):.1f} |")
    return lines


def _steady_table(results: dict[str, LoadResult]) -> list[str]:
    lines = ["| look-up | offered requests/s | answered requests/s | p50 ms | p99 ms | "
             "client start lag p50 ms | errors | requests | null answers | CPU cores: server / "
             "PostgreSQL / client / other processes / unattributed |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results.values():
        lines.append(
            f"| {r.name} | {r.rate:g} | {r.rps:,.0f} | {r.p50:.2f} | {r.p99:.2f} | "
            f"{r.lag_p50:.2f} | {r.errors} | {r.requests:,} | {_nulls(r)} | {_cores(r)} |")
    return lines


def _header(report: Report) -> list[str]:
    a, s, gen = report.args, report.sizes, report.generation
    return [
        "## Coverage",
        "",
        "Which building group covers a point or an address: `coverage(point:)` and "
        "`coverage(address:)` through the real server over HTTP, beside the same look-ups as "
        "raw SQL through psycopg, on a synthetic city (`benchmarks/synthetic_city.py`, built "
        "in SQL in its own database `gridsteward_bench`). Run it (about five minutes; "
        "`--help` lists the options, `--skip-load` reuses the city):",
        "",
        "```sh",
        ".venv/bin/python -m benchmarks.coverage",
        "```",
        "",
        f"### Run of {report.started_utc}",
        "",
        f"- **Machine**: {report.machine['nproc']} cores ({report.machine['cpu']}), "
        f"{report.machine['ram']} RAM, Linux {report.machine['kernel']}; load average "
        f"before the run {report.machine['load average before the run']}. Server, "
        "PostgreSQL and the load generator share these cores.",
        "- **Versions**: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()) + ".",
        f"- **Data**: {s.communities} communities, {s.grids:,} grids, {s.buildings:,} buildings "
        f"({s.point_only:,} without footprint), {s.building_groups:,} building groups, "
        f"{s.roads} roads; database {s.database_mb:.0f} MB."
        + (f" Generated in SQL in {gen.total_seconds:.1f} s ("
           + ", ".join(f"{k} {v:.1f} s" for k, v in gen.seconds.items()) + ")."
           if gen else " (reused: `--skip-load`)."),
        f"- **Parameters**: `--duration {a.duration:g} --warmup {a.warmup:g} --concurrency "
        f"{a.concurrency} --stagger {a.stagger:g} --probe-concurrency "
        f"{a.probe_concurrency} --probe-duration {a.probe_duration:g} --steady-rate "
        f"{a.steady_rate:g} --steady-duration {a.steady_duration:g} --workers {a.workers} "
        f"--client {a.client} --cases {a.cases} --seed {a.seed} --quiet-wait "
        f"{a.quiet_wait:g} --quiet-threshold {a.quiet_threshold:g}`"
        + (" with server environment " + ", ".join(f"`{k}={v}`"
                                                   for k, v in a.server_env.items())
           if a.server_env else "")
        + f"; `gridsteward serve --workers {a.workers}`, default settings "
        "(DB_POOL_SIZE 10 per worker), anonymous requests.",
        f"- **Points**: {report.mix['point']}. **Addresses**: {report.mix['address']}.",
        f"- **Checks**: {report.checks}; every HTTP answer is checked (status 200, no "
        "`errors`).",
        _METHOD,
        "",
    ]


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
    "statements of `domain/coverage.py` as SQLAlchemy compiles them (one for a point, "
    "returning the grid, building and group rows too; for an address the exact-key one, "
    "and on a miss the fuzzy candidates and the chosen building's rows), on autocommit "
    "psycopg connections; the address key is computed before the clock starts; fuzzy "
    "candidates are scored with `geo.address.similarity`. CPU is read per process from "
    "/proc: *other processes* = long-lived processes that are not part of the benchmark "
    "(other work on a shared machine, which skews the figures); *unattributed* = "
    "short-lived processes, PostgreSQL's parallel query workers among them, and the "
    "kernel. *New DB sessions/s* from `pg_stat_database`.")


def _probe_lines(report: Report) -> list[str]:
    a, probe = report.args, report.probe
    if not probe:
        return []
    return [f"Closed loop, {a.probe_concurrency} client(s), {a.probe_duration:g} s each "
            "(latency without queueing):", "", *_table(probe), "",
            _ratios(probe, f"with {a.probe_concurrency} client(s)"), ""]


def _steady_lines(report: Report) -> list[str]:
    a, steady = report.args, report.steady
    if not steady:
        return []
    return [f"Steady rate, open loop, {a.steady_rate:g} requests/s, {a.steady_duration:g} s "
            "each (latency at a given load):", "", *_steady_table(steady), "",
            _ratios(steady, f"at {a.steady_rate:g}/s"), ""]


def _targets(report: Report) -> list[str]:
    a, m = report.args, report.main
    hp, ha = m.get("point, HTTP"), m.get("address, HTTP")
    point_ratio = _ratio(hp, m.get("point, raw SQL"))
    steady_address = report.steady.get("address, HTTP")
    closed = (f"closed loop with {a.concurrency} clients: p50 "
              f"{ha.p50 if ha else math.nan:.2f} ms at {ha.rps if ha else math.nan:,.0f} "
              "requests/s, which measures throughput, not judged")
    if steady_address is None:
        address = (f"- address coverage p50 ≤ {TARGET_ADDRESS_P50_MS:g} ms, judged at a "
                   "steady rate: not measured (`--steady-rate 0`) — **FAIL** (" + closed + ")")
    else:
        ok = steady_address.p50 <= TARGET_ADDRESS_P50_MS and not steady_address.errors
        address = (f"- address coverage p50 ≤ {TARGET_ADDRESS_P50_MS:g} ms, judged over HTTP "
                   f"at the steady rate of {a.steady_rate:g} requests/s (open loop): "
                   f"{steady_address.p50:.2f} ms (p99 {steady_address.p99:.2f} ms) — "
                   f"{_pass(ok)} ({closed})")
    return [
        "Targets (each judged on the measurement it names):",
        "",
        f"- point coverage p50 ≤ {TARGET_RATIO:g}× raw SQL p50, judged in the closed loop "
        f"with {a.concurrency} clients: {point_ratio:.1f}× — "
        f"{_pass(point_ratio <= TARGET_RATIO)}",
        f"- point coverage ≥ {TARGET_POINT_RPS:g} requests/s, judged in the closed loop with "
        f"{a.concurrency} clients: {hp.rps if hp else math.nan:,.0f}/s — "
        f"{_pass(hp is not None and hp.rps >= TARGET_POINT_RPS)}",
        address,
    ]


def render(report: Report) -> str:
    a, m = report.args, report.main
    lines = [
        *_header(report),
        f"Closed loop, {a.concurrency} concurrent clients, {a.duration:g} s each (throughput):",
        "",
        *_table(m),
        "",
        *_probe_lines(report),
        *_steady_lines(report),
        _ratios(m, f"with {a.concurrency} clients"),
        "",
        *_targets(report),
    ]
    everything = [*m.values(), *report.probe.values(), *report.steady.values()]
    if errors := sum(r.errors for r in everything):
        lines += ["", f"**{errors} failed requests** (see the console output)."]
    return "\n".join(lines)
