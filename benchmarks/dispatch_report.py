"""The dispatch benchmark's figures: a console summary per phase, and the Markdown section
it writes between `<!-- dispatch:start -->` and `<!-- dispatch:end -->` in
docs/benchmarks.md."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.dispatch_load import Phase, Sample
from benchmarks.harness.command import Run
from benchmarks.harness.report import heading, number, percentile, row, verdict
from server.background import LINGER_SECONDS

TARGET_P50_MS = 100.0
TARGET_RATE = 300.0
BROKER_NAMES = {"rabbitmq": "RabbitMQ", "redis": "Redis"}
#: The parties' names in the report, and their keys in benchmarks.harness.cpu.
PARTIES = {"API server": "server", "workers": "workers", "PostgreSQL": "postgres",
           "benchmark": "client", "other": "other", "unattributed": "unattributed"}
TAGS = {"steady": "(a)", "burst": "(b)", "backlog": "(c)"}


@dataclass
class BrokerRun:
    """The phases on one broker."""

    broker: str
    phases: dict[str, Phase] = field(default_factory=dict)
    worker_started: float = math.nan  # when (c)'s worker was started


def _p(samples: Sequence[Sample], q: float, value: Callable[[Sample], float]) -> float:
    return percentile([value(s) for s in samples if not math.isnan(value(s))], q)


def steady_figures(phase: Phase, warmup: int) -> dict[str, float]:
    """Latencies (ms) of the measured part of a steady phase."""
    measured = [s for s in phase.samples[warmup:]
                if s.error is None and not math.isnan(s.dispatched)]
    figures = {"count": float(len(measured))}
    for q, tag in ((0.5, "p50"), (0.99, "p99")):
        figures[f"latency {tag}"] = 1000 * _p(measured, q, lambda s: s.latency)
        figures[f"answer {tag}"] = 1000 * _p(measured, q, lambda s: s.answered - s.started)
    figures["to SUBMITTED.at p50"] = 1000 * _p(measured, 0.5,
                                               lambda s: s.db_submitted - s.started)
    figures["SUBMITTED.at to DISPATCHED.at p50"] = 1000 * _p(
        measured, 0.5, lambda s: s.db_dispatched - s.db_submitted)
    figures["DISPATCHED.at to arrival p50"] = 1000 * _p(
        measured, 0.5, lambda s: s.dispatched - s.db_dispatched)
    return figures


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.nan


def burst_figures(phase: Phase) -> dict[str, float]:
    """Throughput and per-request latency (s) of a burst."""
    n, total = len(phase.measured), phase.finished - phase.started
    submitting = phase.submitted_by - phase.started
    first = min((s.dispatched for s in phase.measured), default=math.nan)
    return {"count": float(n), "seconds": total, "rate": _rate(n, total),
            "submit seconds": submitting, "submit rate": _rate(len(phase.samples), submitting),
            "drain rate": _rate(n, phase.finished - first),
            "latency p50": _p(phase.measured, 0.5, lambda s: s.latency),
            "latency p99": _p(phase.measured, 0.99, lambda s: s.latency),
            "notices sent after": phase.outcome.last_notice_sent - phase.started,
            "sweeper": float(phase.sweeper)}


def backlog_figures(phase: Phase, worker_started: float) -> dict[str, float]:
    """The workers' rate through a backlog: from the first DISPATCHED event to the last,
    and from the worker's start (its boot included)."""
    n = len(phase.measured)
    first = min((s.dispatched for s in phase.measured), default=math.nan)
    return {"count": float(n), "rate": _rate(n, phase.finished - first),
            "seconds": phase.finished - first, "from start": phase.finished - worker_started,
            "start rate": _rate(n, phase.finished - worker_started),
            "notices sent after": phase.outcome.last_notice_sent - worker_started,
            "sweeper": float(phase.sweeper)}


def figures(run: BrokerRun, name: str, warmup: int) -> dict[str, float]:
    """The figures of phase `name` on `run` ({} when it did not run)."""
    phase = run.phases.get(name)
    if phase is None:
        return {}
    if name == "steady":
        return steady_figures(phase, warmup)
    return burst_figures(phase) if name == "burst" else backlog_figures(phase,
                                                                         run.worker_started)


def console_line(run: BrokerRun, name: str, warmup: int) -> str:
    """One line per phase for the console: its first three figures, errors, the check."""
    phase, f = run.phases[name], figures(run, name, warmup)
    o = phase.outcome
    check = "exactly once" if o.exactly_once else (
        f"NOT exactly once: {o.dispatched_once} once, {o.dispatched_twice} twice, "
        f"{o.escalated} escalated, {o.not_dispatched} not dispatched, {o.notices} notices")
    shown = "; ".join(f"{label}: {number(f[key], digits)}"
                      for label, key, digits, _ in ROWS[name][:3])
    return f"{shown}; {len(phase.errors)} errors; {check}"


def cpu_per_request(phase: Phase) -> dict[str, float]:
    """CPU milliseconds each party spent per request over the phase (robust to other
    people's load, which stretches time but not work), and their sum."""
    if not phase.cpu or not phase.samples:
        return {}
    per = {name: 1000.0 * phase.cpu.get(key, 0.0) * phase.cpu["seconds"] / len(phase.samples)
           for name, key in list(PARTIES.items())[:4]}
    per["total"] = sum(per.values())
    return per


def _cpu_cells(run: BrokerRun, name: str) -> tuple[str, str]:
    """The cores of each party, and the CPU ms per request of the first four and in all."""
    phase = run.phases.get(name)
    cores = phase.cpu if phase else {}
    per = cpu_per_request(phase) if phase else {}
    return (" / ".join(f"{cores.get(key, math.nan):.2f}" for key in PARTIES.values()),
            " / ".join(f"{per.get(p, math.nan):.1f}" for p in [*list(PARTIES)[:4], "total"]))


def _parse_rows(text: str) -> dict[str, list[tuple[str, str, int, str]]]:
    """Rows of the table per phase from lines `phase: label | figure | digits | target`."""
    rows: dict[str, list[tuple[str, str, int, str]]] = {name: [] for name in TAGS}
    for line in text.strip().splitlines():
        phase, _, spec = line.partition(": ")
        label, key, digits, target = [*spec.split(" | "), ""][:4]
        rows[phase].append((label, key, int(digits), target))
    return rows


#: The table's rows of each phase: label | figure | digits | target.
ROWS = _parse_rows(f"""
steady: submissions measured | count | 0
steady: submit → DISPATCHED p50, ms | latency p50 | 1 | ≤ {TARGET_P50_MS:g} ms
steady: submit → DISPATCHED p99, ms | latency p99 | 1
steady: HTTP answer p50, ms | answer p50 | 1
steady: HTTP answer p99, ms | answer p99 | 1
steady: … call start → SUBMITTED.at, p50 ms | to SUBMITTED.at p50 | 1
steady: … SUBMITTED.at → DISPATCHED.at, p50 ms | SUBMITTED.at to DISPATCHED.at p50 | 1
steady: … DISPATCHED.at → event arrived, p50 ms | DISPATCHED.at to arrival p50 | 1
burst: submissions | count | 0
burst: first submission → last DISPATCHED, s | seconds | 1
burst: dispatches/s | rate | 0 | ≥ {TARGET_RATE:g}/s
burst: submissions/s (last answered) | submit rate | 0
burst: dispatches/s from the first DISPATCHED | drain rate | 0
burst: submit → DISPATCHED p50, s | latency p50 | 2
burst: submit → DISPATCHED p99, s | latency p99 | 2
burst: first submission → last notice SENT, s | notices sent after | 1
burst: triggers the sweeper enqueued (dispatch + deliver) | sweeper | 0
backlog: requests waiting when the worker started | count | 0
backlog: first → last DISPATCHED, s | seconds | 1
backlog: dispatches/s, first → last DISPATCHED | rate | 0 | ≥ {TARGET_RATE:g}/s
backlog: worker start → last DISPATCHED, s | from start | 1
backlog: dispatches/s from the worker's start (its boot included) | start rate | 0
backlog: worker start → last notice SENT, s | notices sent after | 1
backlog: triggers the sweeper enqueued (dispatch + deliver) | sweeper | 0
""")


def _rows(runs: list[BrokerRun], warmup: int) -> list[str]:
    two = len(runs) == 2
    lines = [row("", *(BROKER_NAMES[r.broker] for r in runs),
                 *(["Redis ÷ RabbitMQ"] if two else []), "target"),
             "|---|" + "---:|" * len(runs) + ("---:|" if two else "") + "---|"]
    ran = {name: [figures(r, name, warmup) for r in runs] for name in ROWS}

    def values(label: str, vs: list[float], target: str = "", digits: int = 0) -> None:
        ratio = [("–" if math.isnan(vs[0]) or math.isnan(vs[1]) or not vs[0]
                  else f"{vs[1] / vs[0]:.2f}×")] if two else []
        lines.append(row(label, *(number(v, digits) for v in vs), *ratio, target))
    for name, specs in ROWS.items():
        for label, key, digits, target in specs if any(ran[name]) else []:
            values(f"{TAGS[name]} {label}", [f.get(key, math.nan) for f in ran[name]], target,
                   digits)
    for name in (name for name in ROWS if any(ran[name])):
        tag = TAGS[name]
        values(f"{tag} warnings and errors (worker log, this process)",
               [float(len(r.phases[name].trouble)) if name in r.phases else 0.0 for r in runs])
        cells = [_cpu_cells(r, name) for r in runs]
        lines += [row(f"{tag} CPU cores: " + " / ".join(PARTIES), *(c[0] for c in cells),
                      *([""] if two else []), ""),
                  row(f"{tag} CPU ms per request: " + " / ".join(list(PARTIES)[:4])
                      + " / total", *(c[1] for c in cells), *([""] if two else []), "")]
    return lines


def _check(broker: str, p: Phase) -> str:
    o = p.outcome
    return (f"- {BROKER_NAMES[broker]}, {p.name}: {o.requests:,} requests, "
            f"{o.dispatched_once:,} dispatched exactly once, {o.dispatched_twice} twice, "
            f"{o.escalated} escalated, {o.not_dispatched} not dispatched; "
            f"{o.notices:,} dispatch notices ({o.notices_sent:,} sent); "
            f"{len(p.errors)} failed submissions" + ("; **timed out**" if p.timed_out else "")
            + ".")


def _targets(runs: list[BrokerRun], warmup: int) -> list[str]:
    lines = []
    for r in runs:
        name = BROKER_NAMES[r.broker]
        if "steady" in r.phases:
            p50 = figures(r, "steady", warmup)["latency p50"]
            lines.append(f"- {name}: submit → DISPATCHED p50 ≤ {TARGET_P50_MS:g} ms: "
                         f"{p50:.1f} ms — {verdict(p50 <= TARGET_P50_MS)}")
        if "backlog" in r.phases:
            rate = figures(r, "backlog", warmup)["rate"]
            lines.append(f"- {name}: ≥ {TARGET_RATE:g} dispatches/s over a burst of "
                         f"{len(r.phases['backlog'].samples):,}, the workers' rate (c): "
                         f"{rate:,.0f}/s — {verdict(rate >= TARGET_RATE)}")
        if "burst" in r.phases:
            rate = figures(r, "burst", warmup)["rate"]
            lines.append(f"- {name}: the same, with the submissions on the same two cores "
                         f"(b): {rate:,.0f}/s — {verdict(rate >= TARGET_RATE)}")
    return lines


_INTRO = (
    "How fast a submitted request reaches DISPATCHED through real `gridsteward worker` "
    "processes, on RabbitMQ and on Redis, in one run: (a) latency at a steady rate, "
    "(b) throughput of a burst submitted while the workers run, (c) the workers' own "
    "rate through the same burst waiting for them. Its own database "
    "`gridsteward_bench_dispatch`, a private RabbitMQ virtual host and an empty Redis "
    "database. Run it (about fifteen minutes on this machine, most of it submitting the "
    "bursts; `--help` lists the options, `--skip-load` reuses the data):")


def _method(a: argparse.Namespace) -> str:
    return (
        "- **Method**: before each phase the request tables are emptied (TRUNCATE) and the "
        f"benchmark waits up to {a.quiet_wait:g} s for the machine to be quiet. "
        "Latency is measured from the wall-clock moment a submission call starts until "
        "its DISPATCHED event arrives on a connection LISTENing to "
        "`gridsteward_request_events` (PostgreSQL delivers a NOTIFY when its transaction "
        "commits, so: until the dispatch is committed). "
        f"(a) `submitServiceRequest` over HTTP (a minimal keep-alive client on asyncio streams, "
        "benchmarks/harness/load.py: 0.2-0.5 ms of CPU a submission where httpx took 1.8) "
        f"at {a.rate:g}/s, open loop (each "
        "submission starts on schedule whether or not earlier ones answered); the first "
        f"{a.warmup} are a warm-up and not counted. The breakdown rows use the events' own "
        "`at` stamps: SUBMITTED.at is taken by the resolver before its insert, DISPATCHED.at "
        "by the worker before its UPDATE. "
        f"(b) {a.burst:,} submissions by {a.burst_concurrency} concurrent submitters, "
        + ("over HTTP like (a), each `submitServiceRequest` answered by the API, which "
           "enqueues its dispatch after storing it (dispatches enqueued within "
           f"{LINGER_SECONDS * 1000:g} ms of each other leave in one message, "
           "server/background.py)"
           if a.burst_via == "http" else
           "each the resolver's own work without HTTP and GraphQL: `submit_request` in an "
           "autocommit session, then `DramatiqBackground.dispatch` (server/background.py, "
           "the object the API enqueues through); `--burst-via http` (the default) sends "
           "them to the API instead")
        + "; dispatches/s = submissions ÷ (time from the first submission's start to the "
        "arrival of the last DISPATCHED event): submitting and dispatching share the two "
        "cores, and submitting costs more. "
        f"(c) the workers' own rate: {a.burst:,} submissions made and enqueued by the API's "
        "code in this process (as `--burst-via domain`: quicker than HTTP) while "
        "no worker runs (as after an outage, or a burst faster than the workers), then "
        "`gridsteward worker` started; dispatches/s = requests ÷ (time from the first "
        "DISPATCHED event's arrival to the last), and also from the worker's start, its boot "
        "included. The dispatch actor takes up to 50 waiting requests into each transaction "
        "(domain/requests/dispatch.py), so in (c) most of the triggers find their "
        "request dispatched already and end as no-ops; their cost is in the figures. "
        "Each run checks every request was "
        "dispatched exactly once with one dispatch notice, and none escalated (every group "
        "has a steward with every skill). CPU cores per party are read from /proc over each "
        "phase; *other* = processes that are not part of the benchmark (including the "
        "brokers), *unattributed* = short-lived processes and the kernel. *CPU ms per "
        "request* = a party's CPU time over the phase ÷ the phase's submissions: other "
        "people's load stretches the wall-clock figures but hardly this work, so it is the "
        "figure to compare between runs. *Warnings and errors*: the worker's log lines at "
        "WARNING or above and what this process logged (a failed enqueue, say) during the "
        "phase; other sessions' tests stop and start the shared RabbitMQ, which shows here.")


def render(run: Run, data: str, worker_settings: str, runs: list[BrokerRun]) -> str:
    a = run.args
    return "\n".join([
        *heading("Dispatch", _INTRO, ".venv/bin/python -m benchmarks.dispatch",
                 run, "API, workers, PostgreSQL, brokers and the load generator share these "
                 "cores, with other people's work."),
        f"- **Data**: {data}",
        f"- **Workers**: `gridsteward worker --processes {a.processes} --threads "
        f"{a.threads}`; {worker_settings}. **API**: `gridsteward serve --workers "
        f"{a.server_workers}`, default settings, anonymous callers.",
        f"- **Parameters**: `{a.parameters}`.",
        _method(a),
        "",
        *_rows(runs, a.warmup),
        "",
        "Checks:",
        "",
        *(_check(r.broker, p) for r in runs for p in r.phases.values()),
        "",
        "Targets:",
        "",
        *_targets(runs, a.warmup),
    ])
