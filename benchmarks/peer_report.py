"""The side-by-side benchmark's report: the Markdown section written to docs/benchmarks.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from benchmarks import synthetic_city as city
from benchmarks.coverage_load import LoadResult
from benchmarks.coverage_report import data_text
from benchmarks.harness.command import Run, options_text
from benchmarks.harness.report import heading, number, row, verdict

GRIDSTEWARD_POINT = "point, GridSteward"
PEER_POINT = "point, PostGraphile"
GRIDSTEWARD_ADDRESS = "address, GridSteward"
#: GridSteward's server CPU per point request, in ms, at most.
TARGET_SERVER_CPU_MS = 0.4
#: Address coverage through GridSteward, requests a second with --concurrency clients.
TARGET_ADDRESS_RPS = 1500.0
PARAMETERS = ("rounds", "duration", "warmup", "concurrency", "probe_concurrency",
              "probe_duration", "workers", "peer_workers", "peer_pool_size", "stagger", "cases",
              "seed", "quiet_wait", "quiet_threshold")
#: The CPU figures a combined result keeps (cores, averaged over the rounds' windows).
_CORES = ("server", "postgres", "client", "other", "unattributed")


@dataclass
class Report:
    run: Run
    sizes: dict[str, float]
    generation: city.Generated | None
    checks: list[str]
    #: Results by contestant, one per round, with --concurrency clients and --probe-concurrency.
    main: dict[str, list[LoadResult]]
    probe: dict[str, list[LoadResult]] = field(default_factory=dict)

    def errors(self) -> int:
        return sum(r.errors for rounds in (*self.main.values(), *self.probe.values())
                   for r in rounds)


def combined(rounds: list[LoadResult]) -> LoadResult:
    """One contestant's rounds as one measurement: their requests and windows added, their
    latencies pooled, their cores averaged over the windows."""
    first = rounds[0]
    whole = LoadResult(first.name, first.concurrency, sum(r.seconds for r in rounds))
    for r in rounds:
        whole.latencies_ms += r.latencies_ms
        whole.errors += r.errors
        whole.nulls += r.nulls
        whole.error_samples += r.error_samples
    measured = sum(r.cpu.get("seconds", 0.0) for r in rounds) or math.nan
    whole.cpu = {name: sum(r.cpu.get(name, 0.0) * r.cpu.get("seconds", 0.0) for r in rounds)
                 / measured for name in _CORES}
    return whole


def cpu_ms(result: LoadResult, party: str) -> float:
    """CPU milliseconds `party` (server, postgres) spent per answered request."""
    if not result.rps:
        return math.nan
    return 1000.0 * result.cpu.get(party, 0.0) / result.rps


def _summary(results: dict[str, list[LoadResult]]) -> list[str]:
    lines = [row("contestant", "rounds", "requests/s", "p50 ms", "p99 ms", "errors",
                 "requests", "null answers", "server CPU ms/request",
                 "PostgreSQL CPU ms/request",
                 "CPU cores: server / PostgreSQL / client / other / unattributed"),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, rounds in results.items():
        r, c = combined(rounds), combined(rounds).cpu
        server = "–" if name.endswith("raw SQL") else number(cpu_ms(r, "server"), 2)
        lines.append(row(
            name, len(rounds), f"{r.rps:,.0f}", f"{r.p50:.2f}", f"{r.p99:.2f}", r.errors,
            f"{r.requests:,}", f"{100 * r.nulls / max(1, r.requests):.0f} %", server,
            number(cpu_ms(r, "postgres"), 2),
            " / ".join(f"{c[k]:.2f}" for k in _CORES)))
    return lines


def _by_round(results: dict[str, list[LoadResult]]) -> list[str]:
    """Each round's requests/s and p50 of every contestant, and GridSteward ÷ PostGraphile."""
    names = list(results)
    lines = [row("round", *(f"{n}: req/s (p50 ms)" for n in names),
                 "GridSteward ÷ PostGraphile, point: req/s (p50)"),
             "|---:|" + "---:|" * (len(names) + 1)]
    for index in range(max(len(v) for v in results.values())):
        cells = [f"{r.rps:,.0f} ({r.p50:.2f})" for r in (results[n][index] for n in names)]
        ours, theirs = results[GRIDSTEWARD_POINT][index], results[PEER_POINT][index]
        lines.append(row(index + 1, *cells, f"{ours.rps / max(theirs.rps, 1e-9):.2f}× "
                         f"({ours.p50 / max(theirs.p50, 1e-9):.2f}×)"))
    return lines


def _targets(report: Report) -> list[str]:
    a = report.run.args
    main = {name: combined(rounds) for name, rounds in report.main.items()}
    probe = {name: combined(rounds) for name, rounds in report.probe.items()}
    ours, theirs = main[GRIDSTEWARD_POINT], main[PEER_POINT]
    lines = [
        "Targets (on the rounds' combined figures):", "",
        f"- point coverage requests/s ≥ PostGraphile's, {a.concurrency} clients: "
        f"{ours.rps:,.0f} against {theirs.rps:,.0f} ({ours.rps / max(theirs.rps, 1e-9):.2f}×)"
        f" — {verdict(ours.rps >= theirs.rps and not ours.errors)}"]
    if probe:
        p_ours, p_theirs = probe[GRIDSTEWARD_POINT], probe[PEER_POINT]
        lines.append(
            f"- point coverage p50 ≤ PostGraphile's, {a.probe_concurrency} client(s): "
            f"{p_ours.p50:.2f} ms against {p_theirs.p50:.2f} ms — "
            f"{verdict(p_ours.p50 <= p_theirs.p50 and not p_ours.errors)}")
    else:
        lines.append("- point coverage p50 ≤ PostGraphile's with one client: not measured "
                     "(`--probe-duration 0`) — **FAIL**")
    server = cpu_ms(ours, "server")
    address = main[GRIDSTEWARD_ADDRESS]
    lines += [
        f"- GridSteward's server CPU per point request ≤ {TARGET_SERVER_CPU_MS:g} ms, "
        f"{a.concurrency} clients: {server:.2f} ms (PostGraphile's: "
        f"{cpu_ms(theirs, 'server'):.2f} ms) — {verdict(server <= TARGET_SERVER_CPU_MS)}",
        f"- address coverage ≥ {TARGET_ADDRESS_RPS:,.0f} requests/s, {a.concurrency} clients:"
        f" {address.rps:,.0f}/s — "
        f"{verdict(address.rps >= TARGET_ADDRESS_RPS and not address.errors)}"]
    return lines


_INTRO = (
    "Point coverage through GridSteward beside the same city served by PostGraphile 4 (with "
    "@graphile/postgis, postgraphile-plugin-connection-filter and "
    "postgraphile-plugin-connection-filter-postgis, installed from npm into "
    "`benchmarks/postgraphile/node_modules` by the benchmark) and beside raw SQL, in one run "
    "on the coverage benchmark's city (`gridsteward_bench`), with the same client; address "
    "coverage through GridSteward and as raw SQL beside them (PostGraphile has no "
    "equivalent). Needs Node.js 18+. Run it (about eight minutes; `--help` lists the "
    "options, `--skip-load` reuses the city):")

_METHOD = (
    "- **Method**: both servers run side by side on the same database, each idle while the "
    "other is measured. A round measures every contestant once, closed loop (each client "
    "sends its next request when the last is answered; only requests started after the "
    "warm-up and finished within the window count), each phase in a load process of its own "
    "(benchmarks/coverage_load.py: the same minimal HTTP/1.1 keep-alive client for both "
    "servers, raw SQL on autocommit psycopg connections); the order of the contestants "
    "rotates from round to round, so that a neighbour's burst or a warming cache does not "
    "fall on one of them only. GridSteward answers `coverage(point:)` (grid, building and "
    "building group ids, the nearest building within 30 m when no footprint covers the "
    "point); PostGraphile answers `allGrids(filter: {boundary: {covers: $p}})` and "
    "`allBuildings(filter: {footprint: {covers: $p}})`, ids only (no nearest-building "
    "fallback: a simpler question); raw SQL sends GridSteward's own statement. Figures "
    "combine the rounds: requests and windows added, latencies pooled, CPU per request = "
    "the party's CPU time over the windows ÷ the requests answered, read per process from "
    "/proc (server = the process tree of `gridsteward serve` or of PostGraphile's node; "
    "PostgreSQL = the backends connected to the benchmark database).")


def render(report: Report) -> str:
    a = report.run.args
    env = ", ".join(f"`{k}={v}`" for k, v in a.server_env.items())
    lines = [
        *heading("Side by side: GridSteward, PostGraphile and raw SQL", _INTRO,
                 ".venv/bin/python -m benchmarks.peer", report.run,
                 "Both servers, PostgreSQL and the load generator share these cores."),
        data_text(report.sizes, report.generation),
        f"- **Parameters**: `{options_text(a, PARAMETERS)}`"
        + (f" with server environment {env}" if env else "")
        + f"; `gridsteward serve --workers {a.workers}`, anonymous requests; PostGraphile "
        f"in {a.peer_workers} node:cluster process(es) of {a.peer_pool_size} connections "
        "each, mutations and query log off (`benchmarks/postgraphile/server.js`).",
        f"- **Checks**: {'; '.join(report.checks)}; every HTTP answer is checked (status "
        "200, no `errors`).",
        _METHOD, "",
        f"Closed loop, {a.concurrency} clients, {a.rounds} rounds of {a.duration:g} s each "
        "(throughput):", "", *_summary(report.main), "", "By round:", "",
        *_by_round(report.main), ""]
    if report.probe:
        lines += [f"Closed loop, {a.probe_concurrency} client(s), {a.rounds} rounds of "
                  f"{a.probe_duration:g} s each (latency without queueing):", "",
                  *_summary(report.probe), "", "By round:", "", *_by_round(report.probe), ""]
    lines += _targets(report)
    if errors := report.errors():
        lines += ["", f"**{errors} failed requests** (see the console output)."]
    return "\n".join(lines)
