"""The dispatch benchmark's figures: a console summary per phase, and the Markdown section
it writes between `<!-- dispatch:start -->` and `<!-- dispatch:end -->` in
docs/benchmarks.md."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.dispatch_load import Phase, Sample
from benchmarks.figures import percentile

TARGET_P50_MS = 100.0
TARGET_RATE = 300.0
BROKER_NAMES = {"rabbitmq": "RabbitMQ", "redis": "Redis"}
PARTIES = ("API server", "workers", "PostgreSQL", "benchmark", "other", "unattributed")


@dataclass
class BrokerRun:
    """The phases on one broker, with the CPU each party used in each."""

    broker: str
    steady: Phase | None = None
    burst: Phase | None = None
    backlog: Phase | None = None
    extra: dict[str, float] = field(default_factory=dict)  # e.g. when (c)'s worker started
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> party -> cores
    sweeper: dict[str, int] = field(default_factory=dict)  # phase -> triggers it enqueued
    trouble: dict[str, list[str]] = field(default_factory=dict)  # phase -> warnings, errors


@dataclass
class Context:
    args: argparse.Namespace
    started_utc: str
    machine: dict[str, str]
    versions: dict[str, str]
    data: str
    worker_settings: str


def ms(seconds: float) -> float:
    return seconds * 1000.0


def _p(samples: Sequence[Sample], q: float, value: Callable[[Sample], float]) -> float:
    return percentile([value(s) for s in samples if not math.isnan(value(s))], q)


def steady_figures(phase: Phase, warmup: int) -> dict[str, float]:
    """Latencies (ms) of the measured part of a steady phase."""
    measured = [s for s in phase.samples[warmup:]
                if s.error is None and not math.isnan(s.dispatched)]
    figures = {"count": float(len(measured))}
    for q, tag in ((0.5, "p50"), (0.99, "p99")):
        figures[f"latency {tag}"] = ms(_p(measured, q, lambda s: s.latency))
        figures[f"answer {tag}"] = ms(_p(measured, q, lambda s: s.answered - s.started))
    figures["to SUBMITTED.at p50"] = ms(_p(measured, 0.5, lambda s: s.db_submitted - s.started))
    figures["SUBMITTED.at to DISPATCHED.at p50"] = ms(
        _p(measured, 0.5, lambda s: s.db_dispatched - s.db_submitted))
    figures["DISPATCHED.at to arrival p50"] = ms(
        _p(measured, 0.5, lambda s: s.dispatched - s.db_dispatched))
    return figures


def burst_figures(phase: Phase) -> dict[str, float]:
    """Throughput and per-request latency (s) of a burst."""
    n = len(phase.measured)
    total = phase.finished - phase.started
    submitting = phase.submitted_by - phase.started
    first = min((s.dispatched for s in phase.measured), default=math.nan)
    return {
        "count": float(n), "seconds": total, "rate": n / total if total > 0 else math.nan,
        "submit seconds": submitting,
        "submit rate": len(phase.samples) / submitting if submitting > 0 else math.nan,
        "drain rate": n / (phase.finished - first) if phase.finished > first else math.nan,
        "latency p50": _p(phase.measured, 0.5, lambda s: s.latency),
        "latency p99": _p(phase.measured, 0.99, lambda s: s.latency),
        "notices sent after": phase.outcome.last_notice_sent - phase.started,
    }


def backlog_figures(phase: Phase, worker_started: float) -> dict[str, float]:
    """The workers' rate through a backlog: from the first DISPATCHED event to the last,
    and from the worker's start (its boot included)."""
    n = len(phase.measured)
    first = min((s.dispatched for s in phase.measured), default=math.nan)
    return {
        "count": float(n),
        "rate": n / (phase.finished - first) if phase.finished > first else math.nan,
        "seconds": phase.finished - first,
        "from start": phase.finished - worker_started,
        "start rate": n / (phase.finished - worker_started),
        "notices sent after": phase.outcome.last_notice_sent - worker_started,
    }


def _backlog(run: BrokerRun) -> dict[str, float]:
    if run.backlog is None:
        return {}
    return backlog_figures(run.backlog, run.extra["backlog worker started"])


def _fmt(value: float, digits: int = 1) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _ratio(a: float, b: float) -> str:
    return "–" if math.isnan(a) or math.isnan(b) or not b else f"{a / b:.2f}×"


def _verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def console_line(phase: Phase, warmup: int = 0) -> str:
    """One line per phase for the console."""
    o = phase.outcome
    check = "exactly once" if o.exactly_once else (
        f"NOT exactly once: {o.dispatched_once} once, {o.dispatched_twice} twice, "
        f"{o.escalated} escalated, {o.not_dispatched} not dispatched, {o.notices} notices")
    if phase.name == "steady":
        f = steady_figures(phase, warmup)
        return (f"{f['count']:.0f} measured: submit → DISPATCHED p50 {f['latency p50']:.1f} ms, "
                f"p99 {f['latency p99']:.1f} ms (HTTP answer p50 {f['answer p50']:.1f} ms); "
                f"{len(phase.errors)} errors; {check}")
    if phase.name == "backlog":
        return (f"{len(phase.measured):,} dispatched (rates in the report); "
                f"{len(phase.errors)} errors; {check}")
    f = burst_figures(phase)
    return (f"{f['count']:,.0f} dispatched in {f['seconds']:.1f} s = {f['rate']:,.0f}/s "
            f"(submitted in {f['submit seconds']:.1f} s = {f['submit rate']:,.0f}/s; "
            f"latency p50 {f['latency p50']:.1f} s, p99 {f['latency p99']:.1f} s); "
            f"{len(phase.errors)} errors; {check}")


def _cpu(run: BrokerRun, phase: str) -> str:
    cpu = run.cpu.get(phase, {})
    return " / ".join(f"{cpu.get(p, math.nan):.2f}" for p in PARTIES)


def cpu_per_request(run: BrokerRun, phase: str) -> dict[str, float]:
    """CPU milliseconds each party spent per request over the phase (robust to other
    people's load, which stretches time but not work), and their sum."""
    cpu = run.cpu.get(phase, {})
    done = getattr(run, phase)
    n = len(done.samples) if done is not None else 0
    if not cpu or not n:
        return {}
    per = {p: 1000.0 * cpu.get(p, 0.0) * cpu["seconds"] / n for p in PARTIES[:4]}
    per["total"] = sum(per.values())
    return per


def _cpu_ms(run: BrokerRun, phase: str) -> str:
    per = cpu_per_request(run, phase)
    return " / ".join(f"{per.get(p, math.nan):.1f}" for p in (*PARTIES[:4], "total"))


def _rows(runs: list[BrokerRun], warmup: int) -> list[str]:
    names = [BROKER_NAMES[r.broker] for r in runs]
    head = ("| | " + " | ".join(names) + (" | Redis ÷ RabbitMQ" if len(runs) == 2 else "")
            + " | target |")
    lines = [head, "|---|" + "---:|" * len(runs) + ("---:|" if len(runs) == 2 else "")
             + "---|"]
    steady = [steady_figures(r.steady, warmup) if r.steady else {} for r in runs]
    burst = [burst_figures(r.burst) if r.burst else {} for r in runs]

    def row(label: str, values: list[float], target: str = "", digits: int = 1) -> None:
        cells = [_fmt(v, digits) for v in values]
        ratio = [_ratio(values[1], values[0])] if len(values) == 2 else []
        lines.append(f"| {label} | " + " | ".join([*cells, *ratio, target]) + " |")

    get = lambda figs, key: [f.get(key, math.nan) for f in figs]  # noqa: E731
    if any(steady):
        row("(a) submissions measured", get(steady, "count"), digits=0)
        row("(a) submit → DISPATCHED p50, ms", get(steady, "latency p50"),
            f"≤ {TARGET_P50_MS:g} ms")
        row("(a) submit → DISPATCHED p99, ms", get(steady, "latency p99"))
        row("(a) HTTP answer p50, ms", get(steady, "answer p50"))
        row("(a) HTTP answer p99, ms", get(steady, "answer p99"))
        row("(a) … call start → SUBMITTED.at, p50 ms", get(steady, "to SUBMITTED.at p50"))
        row("(a) … SUBMITTED.at → DISPATCHED.at, p50 ms",
            get(steady, "SUBMITTED.at to DISPATCHED.at p50"))
        row("(a) … DISPATCHED.at → event arrived, p50 ms",
            get(steady, "DISPATCHED.at to arrival p50"))
    if any(burst):
        row("(b) submissions", get(burst, "count"), digits=0)
        row("(b) first submission → last DISPATCHED, s", get(burst, "seconds"))
        row("(b) dispatches/s", get(burst, "rate"), f"≥ {TARGET_RATE:g}/s", digits=0)
        row("(b) submissions/s (last answered)", get(burst, "submit rate"), digits=0)
        row("(b) dispatches/s from the first DISPATCHED", get(burst, "drain rate"), digits=0)
        row("(b) submit → DISPATCHED p50, s", get(burst, "latency p50"), digits=2)
        row("(b) submit → DISPATCHED p99, s", get(burst, "latency p99"), digits=2)
        row("(b) first submission → last notice SENT, s", get(burst, "notices sent after"))
        row("(b) triggers the sweeper enqueued (dispatch + deliver)",
            [float(r.sweeper.get("burst", 0)) for r in runs], digits=0)
    backlog = [_backlog(r) for r in runs]
    if any(backlog):
        row("(c) requests waiting when the worker started", get(backlog, "count"), digits=0)
        row("(c) first → last DISPATCHED, s", get(backlog, "seconds"))
        row("(c) dispatches/s, first → last DISPATCHED", get(backlog, "rate"),
            f"≥ {TARGET_RATE:g}/s", digits=0)
        row("(c) worker start → last DISPATCHED, s", get(backlog, "from start"))
        row("(c) dispatches/s from the worker's start (its boot included)",
            get(backlog, "start rate"), digits=0)
        row("(c) worker start → last notice SENT, s", get(backlog, "notices sent after"))
        row("(c) triggers the sweeper enqueued (dispatch + deliver)",
            [float(r.sweeper.get("backlog", 0)) for r in runs], digits=0)
    for phase, figs in (("steady", steady), ("burst", burst), ("backlog", backlog)):
        if not any(figs):
            continue
        tag = {"steady": "(a)", "burst": "(b)", "backlog": "(c)"}[phase]
        row(f"{tag} warnings and errors (worker log, this process)",
            [float(len(r.trouble.get(phase, []))) for r in runs], digits=0)
        lines.append(f"| {tag} CPU cores: " + " / ".join(PARTIES) + " | "
                     + " | ".join(_cpu(r, phase) for r in runs)
                     + (" | |" if len(runs) == 2 else "") + " |")
        lines.append(f"| {tag} CPU ms per request: " + " / ".join(PARTIES[:4])
                     + " / total | " + " | ".join(_cpu_ms(r, phase) for r in runs)
                     + (" | |" if len(runs) == 2 else "") + " |")
    return lines


def _checks(runs: list[BrokerRun]) -> list[str]:
    lines = []
    for r in runs:
        for phase in (r.steady, r.burst, r.backlog):
            if phase is None:
                continue
            o = phase.outcome
            lines.append(
                f"- {BROKER_NAMES[r.broker]}, {phase.name}: {o.requests:,} requests, "
                f"{o.dispatched_once:,} dispatched exactly once, {o.dispatched_twice} twice, "
                f"{o.escalated} escalated, {o.not_dispatched} not dispatched; "
                f"{o.notices:,} dispatch notices ({o.notices_sent:,} sent); "
                f"{len(phase.errors)} failed submissions"
                + ("; **timed out**" if phase.timed_out else "") + ".")
    return lines


def _targets(runs: list[BrokerRun], warmup: int) -> list[str]:
    lines = []
    for r in runs:
        name = BROKER_NAMES[r.broker]
        if r.steady:
            p50 = steady_figures(r.steady, warmup)["latency p50"]
            lines.append(f"- {name}: submit → DISPATCHED p50 ≤ {TARGET_P50_MS:g} ms: "
                         f"{p50:.1f} ms — {_verdict(p50 <= TARGET_P50_MS)}")
        if r.backlog:
            rate = _backlog(r)["rate"]
            lines.append(f"- {name}: ≥ {TARGET_RATE:g} dispatches/s over a burst of "
                         f"{len(r.backlog.samples):,}, the workers' rate (c): "
                         f"{rate:,.0f}/s — {_verdict(rate >= TARGET_RATE)}")
        if r.burst:
            rate = burst_figures(r.burst)["rate"]
            lines.append(f"- {name}: the same, with the submissions on the same two cores "
                         f"(b): {rate:,.0f}/s — {_verdict(rate >= TARGET_RATE)}")
    return lines


def render(ctx: Context, runs: list[BrokerRun]) -> str:
    a = ctx.args
    m = ctx.machine
    return "\n".join([
        "## Dispatch",
        "",
        "How fast a submitted request reaches DISPATCHED through real `gridsteward worker` "
        "processes, on RabbitMQ and on Redis, in one run: (a) latency at a steady rate, "
        "(b) throughput of a burst submitted while the workers run, (c) the workers' own "
        "rate through the same burst waiting for them. Its own database "
        "`gridsteward_bench_dispatch`, a private RabbitMQ virtual host and an empty Redis "
        "database. Run it (about fifteen minutes on this machine, most of it submitting the "
        "bursts; `--help` lists the options, `--skip-load` reuses the data):",
        "",
        "```sh",
        ".venv/bin/python -m benchmarks.dispatch",
        "```",
        "",
        f"### Run of {ctx.started_utc}",
        "",
        f"- **Machine**: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, Linux "
        f"{m['kernel']}; load average before the run {m['load average before the run']}, "
        f"after it {m.get('load average after the run', '?')}. API, workers, PostgreSQL, "
        "brokers and the load generator share these cores, with other people's work.",
        "- **Versions**: " + ", ".join(f"{k} {v}" for k, v in ctx.versions.items()) + ".",
        f"- **Data**: {ctx.data}",
        f"- **Workers**: `gridsteward worker --processes {a.processes} --threads "
        f"{a.threads}`; {ctx.worker_settings}. **API**: `gridsteward serve --workers "
        f"{a.server_workers}`, default settings, anonymous callers.",
        f"- **Parameters**: `{a.parameters}`.",
        "- **Method**: before each phase the request tables are emptied (TRUNCATE) and the "
        f"benchmark waits up to {a.quiet_wait:g} s for the machine to be quiet. "
        "Latency is measured from the wall-clock moment a submission call starts until "
        "its DISPATCHED event arrives on a connection LISTENing to "
        "`gridsteward_request_events` (PostgreSQL delivers a NOTIFY when its transaction "
        "commits, so: until the dispatch is committed). "
        f"(a) `submitServiceRequest` over HTTP (httpx) at {a.rate:g}/s, open loop (each "
        "submission starts on schedule whether or not earlier ones answered); the first "
        f"{a.warmup} are a warm-up and not counted. The breakdown rows use the events' own "
        "`at` stamps: SUBMITTED.at is taken by the resolver before its insert, DISPATCHED.at "
        "by the worker before its UPDATE. "
        f"(b) {a.burst:,} submissions by {a.burst_concurrency} concurrent submitters, "
        + ("over HTTP like (a)" if a.burst_via == "http" else
           "each the resolver's own work without HTTP and GraphQL: one transaction of "
           "`submit_request` and `requests_by_ids`, then `DramatiqBackground.dispatch` after "
           "commit (server/background.py, the object the API enqueues through). Why not over "
           "HTTP: one API process spends 17-20 ms of CPU per submission here (the *API server* "
           "CPU per request of (a)), so with a whole core to itself it could answer about 50 "
           "a second, and the burst would measure the GraphQL server, not dispatch; "
           "`--burst-via http` measures that instead")
        + "; dispatches/s = submissions ÷ (time from the first submission's start to the "
        "arrival of the last DISPATCHED event): submitting and dispatching share the two "
        "cores, and submitting costs more. "
        f"(c) the workers' own rate: {a.burst:,} submissions made and enqueued as in (b) while "
        "no worker runs (as after an outage, or a burst faster than the workers), then "
        "`gridsteward worker` started; dispatches/s = requests ÷ (time from the first "
        "DISPATCHED event's arrival to the last), and also from the worker's start, its boot "
        "included. The dispatch actor takes up to 50 waiting requests into each transaction "
        "(domain/requests/dispatch.py), so in (c) most of the 10,000 triggers find their "
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
        "phase; other sessions' tests stop and start the shared RabbitMQ, which shows here.",
        "",
        *_rows(runs, a.warmup),
        "",
        "Checks:",
        "",
        *_checks(runs),
        "",
        "Targets:",
        "",
        *_targets(runs, a.warmup),
    ])
