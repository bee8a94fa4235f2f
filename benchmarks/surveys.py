"""Survey batch benchmark: a million completed requests get their surveys and messages.

    .venv/bin/python -m benchmarks.surveys [--requests 1000000] [--chunk 20000] [--no-docs]

Builds its own database (gridsteward_bench_surveys in the local cluster), makes the completed
requests set-based in SQL, then times, in one run: scheduling + sending (surveys created and
SURVEY messages enqueued), the reminder pass and the expiry pass, each set-based and chunked,
while sampling this process's resident memory to show it stays flat. Writes the figures to the
`surveys` section of docs/benchmarks.md. Target: ≤ 120 s for scheduling and sending 1,000,000.
"""

from __future__ import annotations

import asyncio
import platform
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.harness import command, processes
from benchmarks.harness.project import (
    BatchCounts,
    SurveyTimes,
    load_fixtures,
    make_async_engine,
    run_survey_batch,
    session_factory,
    transaction,
)

DATABASE = "gridsteward_bench_surveys"
TIMES = SurveyTimes(delay=timedelta(hours=1), reminder=timedelta(days=2),
                    expiry=timedelta(days=7))
T0 = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_SECONDS = 120.0
_REQUESTS = text("""
    INSERT INTO service_request (number, category, description, status, location,
        group_id, grid_id, community_id, submitted_at, updated_at, due_at,
        completed_at, contact_phone)
    SELECT 'B' || lpad(n::text, 9, '0'), 'MAINTENANCE', '楼道灯不亮', 'COMPLETED',
           b.location, b.group_id, b.grid_id, g.community_id,
           :t0 - interval '2 days', :t0, :t0 + interval '1 day',
           :t0 - (n % 86400) * interval '1 second', '139' || lpad(n::text, 8, '0')
    FROM generate_series(1, :count) n, building b JOIN grid g ON g.id = b.grid_id
    WHERE b.code = 'B1'""")


class MemorySampler:
    """Samples this process's resident memory (MB) every 0.2 s in a thread."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            status = Path("/proc/self/status").read_text().splitlines()
            self.samples += [int(line.split()[1]) / 1024 for line in status
                             if line.startswith("VmRSS:")]
            time.sleep(0.2)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Result:
    count: int
    chunk: int
    generated_s: float = 0.0
    passes: list[tuple[str, int, float]] = field(default_factory=list)  # name, rows, seconds
    rss: list[float] = field(default_factory=list)


async def run(count: int, chunk: int) -> Result:
    """A fresh database, `count` COMPLETED requests with contact phones spread over the day
    before T0, then the three passes, each at the time it is due."""
    db = processes.bench_database(DATABASE)
    processes.recreate(db)
    engine = make_async_engine(db.sqlalchemy_url, pool_size=2)
    sessions = session_factory(engine)
    result = Result(count, chunk)
    try:
        started = time.perf_counter()
        await load_fixtures(sessions)
        async with transaction(sessions) as session:
            await session.execute(_REQUESTS, {"t0": T0, "count": count})
            await session.execute(text("ANALYZE service_request"))
        result.generated_s = time.perf_counter() - started
        passes: list[tuple[str, timedelta, Any]] = [
            ("schedule + send (surveys created, SURVEY messages enqueued)", timedelta(hours=1),
             lambda c: c.sent), ("reminders", timedelta(days=2, hours=1), lambda c: c.reminded),
            ("expiry", timedelta(days=7, hours=1), lambda c: c.expired)]
        with MemorySampler() as memory:
            for name, after, rows in passes:
                started = time.perf_counter()
                counts: BatchCounts = await run_survey_batch(sessions, now=T0 + after,
                                                             times=TIMES, chunk=chunk)
                result.passes.append((name, rows(counts), time.perf_counter() - started))
    finally:
        await engine.dispose()
    result.rss = memory.samples
    return result


def report(result: Result) -> str:
    machine = command.machine()
    send_s = result.passes[0][2]
    return "\n".join([
        "## Survey batches", "", "`.venv/bin/python -m benchmarks.surveys`", "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine['nproc']} cores, "
        f"{machine['cpu']}, Python {platform.python_version()}; {result.count:,} completed "
        f"requests made in {result.generated_s:.1f} s (not timed below); chunk "
        f"{result.chunk:,} rows.",
        "",
        "| pass | rows | seconds | rows/s |",
        "|---|---|---|---|",
        *(f"| {name} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} |"
          for name, rows, seconds in result.passes),
        "",
        f"Resident memory of the batch process: {min(result.rss):.0f} MB at least, "
        f"{max(result.rss):.0f} MB at most over {len(result.rss)} samples (flat: rows never "
        "come into Python).",
        "",
        f"Target: schedule + send of 1,000,000 in ≤ {TARGET_SECONDS:.0f} s → "
        f"{'PASS' if send_s <= TARGET_SECONDS else 'FAIL'} ({send_s:.1f} s for "
        f"{result.count:,}).",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    parser = command.parser("surveys", __doc__)
    parser.add_argument("--requests", type=int, default=1_000_000,
                        help="completed requests to make")
    parser.add_argument("--chunk", type=int, default=20_000, help="rows per batch statement")
    command.add_common(parser, database=None)
    args = command.start(parser, argv).args
    command.publish(report(asyncio.run(run(args.requests, args.chunk))), name="surveys",
                    args=args)


if __name__ == "__main__":
    main()
