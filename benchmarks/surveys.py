"""Survey batch benchmark: a million completed requests get their surveys and messages.

    .venv/bin/python -m benchmarks.surveys [--requests 1000000] [--chunk 20000]

Builds its own database (gridsteward_bench_surveys in the local cluster), makes the completed
requests set-based in SQL, then times, in one run: scheduling + sending (surveys created and
SURVEY messages enqueued), the reminder pass and the expiry pass, each set-based and chunked,
while sampling this process's resident memory to show it stays flat. Writes the figures to the
`surveys` section of docs/benchmarks.md. Target: ≤ 120 s for scheduling and sending 1,000,000.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text

from benchmarks import command
from domain.infra.db import make_async_engine, session_factory, transaction
from domain.surveys.batch import SurveyTimes, run_survey_batch
from migrations.runner import upgrade_database
from server.localdb import ensure_local_cluster
from tests.factories import load

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "gridsteward_bench_surveys"
TIMES = SurveyTimes(delay=timedelta(hours=1), reminder=timedelta(days=2),
                    expiry=timedelta(days=7))
T0 = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_SECONDS = 120.0


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class MemorySampler:
    """Samples resident memory every 0.2 s in a thread."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(_rss_mb())
            time.sleep(0.2)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _fresh_database() -> str:
    cluster = ensure_local_cluster(ROOT / ".gridsteward" / "pg", databases=())
    admin = cluster.url("postgres").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = cluster.url(DATABASE)
    upgrade_database(url)
    return url


async def _make_requests(sessions: object, count: int) -> float:
    """`count` COMPLETED requests with contact phones, spread over the day before T0."""
    started = time.perf_counter()
    await load(sessions)  # type: ignore[arg-type]
    async with transaction(sessions) as session:  # type: ignore[arg-type]
        await session.execute(text("""
            INSERT INTO service_request (number, category, description, status, location,
                group_id, grid_id, community_id, submitted_at, updated_at, due_at,
                completed_at, contact_phone)
            SELECT 'B' || lpad(n::text, 9, '0'), 'MAINTENANCE', '楼道灯不亮', 'COMPLETED',
                   b.location, b.group_id, b.grid_id, g.community_id,
                   :t0 - interval '2 days', :t0, :t0 + interval '1 day',
                   :t0 - (n % 86400) * interval '1 second', '139' || lpad(n::text, 8, '0')
            FROM generate_series(1, :count) n, building b JOIN grid g ON g.id = b.grid_id
            WHERE b.code = 'B1'"""), {"t0": T0, "count": count})
        await session.execute(text("ANALYZE service_request"))
    return time.perf_counter() - started


async def _timed_batch(sessions: object, now: datetime, chunk: int) -> tuple[float, object]:
    started = time.perf_counter()
    counts = await run_survey_batch(sessions, now=now, times=TIMES, chunk=chunk)  # type: ignore[arg-type]
    return time.perf_counter() - started, counts


async def run(count: int, chunk: int) -> dict[str, object]:
    url = _fresh_database()
    engine = make_async_engine(url, pool_size=2)
    sessions = session_factory(engine)
    try:
        generated = await _make_requests(sessions, count)
        with MemorySampler() as memory:
            send_s, sent = await _timed_batch(sessions, T0 + timedelta(hours=1), chunk)
            remind_s, reminded = await _timed_batch(sessions, T0 + timedelta(days=2, hours=1),
                                                    chunk)
            expire_s, expired = await _timed_batch(sessions, T0 + timedelta(days=7, hours=1),
                                                   chunk)
    finally:
        await engine.dispose()
    return {"count": count, "chunk": chunk, "generated_s": generated, "send_s": send_s,
            "sent": sent, "remind_s": remind_s, "reminded": reminded, "expire_s": expire_s,
            "expired": expired, "rss": memory.samples}


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{cores} cores, {cpu}, Python {platform.python_version()}"


def report(result: dict[str, object]) -> str:
    rss = result["rss"]
    assert isinstance(rss, list)
    sent, send_s = result["sent"], float(result["send_s"])  # type: ignore[arg-type]
    verdict = "PASS" if send_s <= TARGET_SECONDS else "FAIL"
    return "\n".join([
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}; "
        f"{result['count']:,} completed requests made in {result['generated_s']:.1f} s "
        f"(not timed below); chunk {result['chunk']:,} rows.",
        "",
        "| pass | rows | seconds | rows/s |",
        "|---|---|---|---|",
        f"| schedule + send (surveys created, SURVEY messages enqueued) | "
        f"{sent.sent:,} | {send_s:.1f} | {sent.sent / send_s:,.0f} |",  # type: ignore[attr-defined]
        f"| reminders | {result['reminded'].reminded:,} | {result['remind_s']:.1f} | "  # type: ignore[attr-defined]
        f"{result['reminded'].reminded / float(result['remind_s']):,.0f} |",  # type: ignore[attr-defined, arg-type]
        f"| expiry | {result['expired'].expired:,} | {result['expire_s']:.1f} | "  # type: ignore[attr-defined]
        f"{result['expired'].expired / float(result['expire_s']):,.0f} |",  # type: ignore[attr-defined, arg-type]
        "",
        f"Resident memory of the batch process: {min(rss):.0f} MB at least, {max(rss):.0f} MB "
        f"at most over {len(rss)} samples (flat: rows never come into Python).",
        "",
        f"Target: schedule + send of 1,000,000 in ≤ {TARGET_SECONDS:.0f} s → {verdict} "
        f"({send_s:.1f} s for {result['count']:,}).",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    body = report(asyncio.run(run(args.requests, args.chunk)))
    section = f"## Survey batches\n\n`.venv/bin/python -m benchmarks.surveys`\n\n{body}"
    command.publish(section, name="surveys", docs=None if args.no_write else command.DOCS)


if __name__ == "__main__":
    main()
