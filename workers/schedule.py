"""The periodic jobs, as one table (run by workers.periodic), each row: name, every, lock.

- sweep, every SWEEP_INTERVAL_SECONDS, no lock (safe at once): accept timeouts, escalations,
  and re-enqueues what a lost message would have done;
- survey batch, every SURVEY_BATCH_INTERVAL_SECONDS, `gridsteward:survey-batch`: schedules,
  sends, reminds and expires surveys;
- assessment refresh, every ASSESSMENT_INTERVAL_SECONDS, `gridsteward:assessment-refresh`:
  the running month's and quarter's snapshots, and those of periods just ended;
- audit retention, every AUDIT_RETENTION_INTERVAL_SECONDS (an hour), no lock (two at once
  only delete the same old entries): deletes audit entries older than AUDIT_RETENTION_DAYS;
- sign-in purge, every SIGN_IN_PURGE_INTERVAL_SECONDS (an hour), no lock (rows are claimed
  with SKIP LOCKED): deletes expired sign-in codes and refresh tokens;
- roll-up compaction, every ROLLUP_COMPACTION_INTERVAL_SECONDS (a minute), no lock (each
  table's fold takes a transaction lock): folds the rows of differences the statistics'
  triggers wrote into one row a key (domain.buckets); answers are the same before and
  after, only the reads' row counts shrink;
- table statistics, every TABLE_STATISTICS_INTERVAL_SECONDS (5 s), no lock (the table runs in
  one process): ANALYZEs the tables that grew past twice what their planner statistics say
  (domain.infra.table_stats), so a burst on a new database is not planned as on empty
  tables.

The sweep talks to the database directly, so timeouts and escalations still happen while the
broker is away; only its enqueueing waits for the broker. It does not re-enqueue an id within
DISPATCH_STALE_SECONDS of enqueueing it (a slow or stopped pool of workers is not buried
under repeated triggers), and while a backlog of due messages goes out (a large survey batch
writes thousands at once) it runs again after BACKLOG_PAUSE_SECONDS instead of the interval.

The survey batch and the refresh would be safe twice at once (rows are claimed with SKIP
LOCKED; snapshots of one period take turns in the database); their locks save the repeated
work, and keep `gridsteward surveys` from running beside a worker's batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import astuple
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.infra.db import session_factory
from domain.infra.table_stats import analyze_grown
from domain.people.audit_log import delete_expired
from domain.people.expiry import purge_expired
from domain.requests.rollups import compact_requests
from domain.requests.sweep import BATCH
from domain.settings import Settings
from domain.surveys.batch import BatchCounts, run_survey_batch
from domain.surveys.rollups import compact_surveys
from domain.surveys.snapshots import refresh_snapshots
from workers import jobs
from workers.actors import Actors, enqueue_sweep_result
from workers.jobs import utcnow
from workers.periodic import Periodic

log = logging.getLogger("gridsteward.periodic")

SURVEY_BATCH_LOCK = "gridsteward:survey-batch"
ASSESSMENT_LOCK = "gridsteward:assessment-refresh"

#: How often the audit retention runs (its setting is the age, AUDIT_RETENTION_DAYS).
AUDIT_RETENTION_INTERVAL_SECONDS = 3600.0

#: How often expired sign-in codes and refresh tokens are purged.
SIGN_IN_PURGE_INTERVAL_SECONDS = 3600.0

#: How often the statistics' roll-ups are compacted (domain.requests.rollups).
ROLLUP_COMPACTION_INTERVAL_SECONDS = 60.0

#: The pause between sweeps while a backlog of due messages is going out (see Sweep.pause).
BACKLOG_PAUSE_SECONDS = 0.25

Clock = Callable[[], datetime]


def periodic_jobs(settings: Settings, actors: Actors, engine: AsyncEngine,
                  clock: Clock = utcnow) -> list[Periodic]:
    """The table, over `engine`; the sweep enqueues through `actors`."""
    sweep = Sweep(settings, actors, session_factory(engine))
    return [Periodic("sweep", sweep.pause, None, sweep),
            survey_batch(settings, engine, clock), assessment_refresh(settings, engine, clock),
            audit_retention(settings, engine, clock), sign_in_purge(engine, clock),
            rollup_compaction(engine), table_statistics(settings, engine)]


class Sweep:
    """The sweep's row: one pass per call, then `pause()` until the next."""

    def __init__(self, settings: Settings, actors: Actors, sessions: jobs.Sessions,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.actors = actors
        self.sessions = sessions
        self.clock = clock
        self.window = settings.dispatch_stale_seconds
        self.backlog = False
        self._enqueued: dict[tuple[str, int], float] = {}  # key -> when, within the window

    async def __call__(self) -> int:
        """One pass; returns how many triggers it enqueued. Enqueueing blocks this thread's
        event loop briefly (the other rows only wait on the database)."""
        was_backlog, self.backlog = self.backlog, False
        result = await jobs.sweep_job(self.sessions, self.settings)
        sent = enqueue_sweep_result(self.actors, result, skip=self._recent())
        now = self.clock()
        self._enqueued.update((key, now) for key in sent)
        self.backlog = (self.window > 0 and len(result.to_send) >= BATCH
                        and any(kind == "send" for kind, _ in sent))
        if result.timed_out or result.escalated or sent:
            # Passes a quarter second apart through a backlog would flood the log.
            quiet = was_backlog and self.backlog and not (result.timed_out or result.escalated)
            log.log(logging.DEBUG if quiet else logging.INFO,
                    "sweep: %d accept timeouts, %d escalations, %d triggers enqueued",
                    result.timed_out, result.escalated, len(sent))
        return len(sent)

    def _recent(self) -> frozenset[tuple[str, int]]:
        """The keys enqueued within the window (forgetting older ones)."""
        cutoff = self.clock() - self.window
        self._enqueued = {k: t for k, t in self._enqueued.items() if t > cutoff}
        return frozenset(self._enqueued)

    def pause(self) -> float:
        """Seconds until the next pass: the interval, or BACKLOG_PAUSE_SECONDS after a pass
        that found a full page of due messages with new ones among them (a backlog the
        workers are getting through).

        A page is the oldest BATCH due messages, those enqueued but not yet delivered
        included, so each pass only tops the queue up to about BATCH triggers: the backlog
        goes out as fast as the workers deliver, and never buries them (or a dispatch notice
        behind it). When the workers stop keeping up, a pass finds nothing new and the pace
        falls back to the interval. Without a DISPATCH_STALE_SECONDS window the sweep cannot
        tell new messages from those in flight, so it keeps to the interval."""
        if self.backlog:
            return min(BACKLOG_PAUSE_SECONDS, self.settings.sweep_interval_seconds)
        return self.settings.sweep_interval_seconds


def survey_batch(settings: Settings, engine: AsyncEngine, clock: Clock = utcnow) -> Periodic:
    """The survey batch's row (`gridsteward surveys` runs it once): as of `clock()`, with the
    configured times, channel and SURVEY_LINK; logged at INFO when it did something. The
    messages it writes wait PENDING until the sweep hands them to the delivery actor."""
    async def run() -> BatchCounts:
        counts = await run_survey_batch(session_factory(engine), now=clock(),
                                        times=settings.survey_times,
                                        channel=settings.outbound_channel,
                                        link=settings.survey_link)
        log.log(logging.INFO if any(astuple(counts)) else logging.DEBUG,
                "survey batch: %s", describe(counts))
        return counts
    return Periodic("survey batch", lambda: settings.survey_batch_interval_seconds,
                    SURVEY_BATCH_LOCK, run)


def describe(counts: BatchCounts) -> str:
    """The counts of a batch in one line, for the log and the command line."""
    return (f"{counts.scheduled} scheduled, {counts.skipped_no_phone} skipped (no phone), "
            f"{counts.sent} sent, {counts.reminded} reminded, {counts.expired} expired")


def assessment_refresh(settings: Settings, engine: AsyncEngine,
                       clock: Clock = utcnow) -> Periodic:
    """The assessment refresh's row: snapshots due as of `clock()` (domain.surveys.snapshots),
    so assessments read through the API are at most an interval old, and final once their
    period is over; logged with the members assessed per period."""
    async def run() -> dict[str, int]:
        assessed = await refresh_snapshots(session_factory(engine), now=clock())
        log.info("assessment snapshots: %s", ", ".join(
            f"{period} {members} members" for period, members in assessed.items()))
        return assessed
    return Periodic("assessment refresh", lambda: settings.assessment_interval_seconds,
                    ASSESSMENT_LOCK, run)


def audit_retention(settings: Settings, engine: AsyncEngine, clock: Clock = utcnow) -> Periodic:
    """The audit retention's row: entries older than AUDIT_RETENTION_DAYS as of `clock()`
    deleted in batches (domain.people.audit_log.delete_expired), logged when any were."""
    async def run() -> int:
        deleted = await delete_expired(session_factory(engine), now=clock(),
                                       days=settings.audit_retention_days)
        log.log(logging.INFO if deleted else logging.DEBUG,
                "audit retention: %d entries older than %d days deleted", deleted,
                settings.audit_retention_days)
        return deleted
    return Periodic("audit retention", lambda: AUDIT_RETENTION_INTERVAL_SECONDS, None, run)


def sign_in_purge(engine: AsyncEngine, clock: Clock = utcnow) -> Periodic:
    """The sign-in purge's row: sign-in codes and refresh tokens expired as of `clock()`
    deleted (domain.people.expiry), logged when any were."""
    async def run() -> int:
        purged = await purge_expired(session_factory(engine), now=clock())
        log.log(logging.INFO if purged.codes or purged.refresh_tokens else logging.DEBUG,
                "sign-in purge: %d codes and %d refresh tokens expired deleted", purged.codes,
                purged.refresh_tokens)
        return purged.codes + purged.refresh_tokens
    return Periodic("sign-in purge", lambda: SIGN_IN_PURGE_INTERVAL_SECONDS, None, run)


def rollup_compaction(engine: AsyncEngine) -> Periodic:
    """The roll-up compaction's row: request_rollup's and survey_rollup's fresh rows folded
    (up to 50,000 of each a run), logged when any were."""
    async def run() -> int:
        async with session_factory(engine)() as session:
            folded = await compact_requests(session) + await compact_surveys(session)
            await session.commit()
        log.log(logging.INFO if folded else logging.DEBUG,
                "roll-up compaction: %d rows folded", folded)
        return folded
    return Periodic("roll-up compaction", lambda: ROLLUP_COMPACTION_INTERVAL_SECONDS, None, run)


def table_statistics(settings: Settings, engine: AsyncEngine) -> Periodic:
    """The table statistics' row: tables that outgrew their planner statistics analyzed
    (domain.infra.table_stats), logged when any were."""
    async def run() -> int:
        async with session_factory(engine)() as session:
            analyzed = await analyze_grown(session)
        log.log(logging.INFO if analyzed else logging.DEBUG,
                "table statistics: %s analyzed", ", ".join(analyzed) or "no table")
        return len(analyzed)
    return Periodic("table statistics", lambda: settings.table_statistics_interval_seconds,
                    None, run)
