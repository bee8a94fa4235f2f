"""The survey batch on a schedule: every SURVEY_BATCH_INTERVAL_SECONDS the worker's periodic
process schedules, sends, reminds and expires surveys (domain.surveys.batch) as of now, with
the configured times, channel and SURVEY_LINK. `gridsteward surveys` runs the same job once.

One process at a time: the batch holds an advisory lock (workers.lock) while it runs, and a
second worker machine, or the command, that finds it taken skips its turn. Two batches at once
would be safe anyway (rows are claimed with SKIP LOCKED, each message is written once); the
lock only saves the wasted work. The messages a batch writes wait PENDING until the sweep
hands them to the delivery actor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import astuple
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.infra.db import session_factory
from domain.surveys.batch import BatchCounts, run_survey_batch
from workers.config import WorkerConfig
from workers.jobs import utcnow
from workers.lock import advisory_lock
from workers.periodic import repeat

log = logging.getLogger("gridsteward.surveys")

#: The advisory lock every survey batch holds while it runs.
SURVEY_BATCH_LOCK = "gridsteward:survey-batch"


async def survey_batch_job(engine: AsyncEngine, config: WorkerConfig, *,
                           now: datetime) -> BatchCounts | None:
    """One survey batch as of `now`; None when another process is running one."""
    async with advisory_lock(engine, SURVEY_BATCH_LOCK) as taken:
        if not taken:
            return None
        return await run_survey_batch(session_factory(engine), now=now,
                                      times=config.survey_times,
                                      channel=config.outbound_channel, link=config.survey_link)


def describe(counts: BatchCounts) -> str:
    """The counts of a batch in one line, for the log and the command line."""
    return (f"{counts.scheduled} scheduled, {counts.skipped_no_phone} skipped (no phone), "
            f"{counts.sent} sent, {counts.reminded} reminded, {counts.expired} expired")


class SurveyBatches:
    """Runs the survey batch every SURVEY_BATCH_INTERVAL_SECONDS, as of `clock()`."""

    def __init__(self, config: WorkerConfig, engine: AsyncEngine,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.engine = engine
        self.clock = clock

    async def run_once(self) -> BatchCounts | None:
        """One batch, logged: at INFO when it did something, else at DEBUG."""
        counts = await survey_batch_job(self.engine, self.config, now=self.clock())
        if counts is None:
            log.debug("survey batch: another process is running one; skipped")
        else:
            level = logging.INFO if any(astuple(counts)) else logging.DEBUG
            log.log(level, "survey batch: %s", describe(counts))
        return counts

    async def run_forever(self, stop: asyncio.Event) -> None:
        """A batch every interval until `stop` is set; a failed one is logged and the next
        one tries again."""
        await repeat(self.run_once, pause=lambda: self.config.survey_batch_interval_seconds,
                     stop=stop, log=log, what="survey batch")
