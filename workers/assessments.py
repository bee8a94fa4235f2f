"""Assessment snapshots on a schedule: every ASSESSMENT_INTERVAL_SECONDS the worker's periodic
process refreshes the running month's and quarter's snapshots and finishes those of periods
that have ended (domain.surveys.snapshots), so assessments read through the API are at most an
interval old, and final once their period is over.

One process at a time, like the survey batch: a second worker machine that finds the advisory
lock taken skips its turn (snapshots of one period also take turns in the database, so even
without the lock nothing would collide; the lock saves the repeated work).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.infra.db import session_factory
from domain.surveys.snapshots import refresh_snapshots
from workers.config import WorkerConfig
from workers.jobs import utcnow
from workers.lock import advisory_lock
from workers.periodic import repeat

log = logging.getLogger("gridsteward.assessments")

#: The advisory lock every refresh holds while it runs.
ASSESSMENT_LOCK = "gridsteward:assessment-refresh"


async def assessment_job(engine: AsyncEngine, *, now: datetime) -> dict[str, int] | None:
    """Refresh the snapshots due as of `now`; members assessed per period, or None when
    another process is refreshing them."""
    async with advisory_lock(engine, ASSESSMENT_LOCK) as taken:
        if not taken:
            return None
        return await refresh_snapshots(session_factory(engine), now=now)


class AssessmentRefresh:
    """Refreshes the snapshots every ASSESSMENT_INTERVAL_SECONDS, as of `clock()`."""

    def __init__(self, config: WorkerConfig, engine: AsyncEngine,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.engine = engine
        self.clock = clock

    async def run_once(self) -> dict[str, int] | None:
        """One refresh, logged with the members assessed per period."""
        assessed = await assessment_job(self.engine, now=self.clock())
        if assessed is None:
            log.debug("assessment refresh: another process is running one; skipped")
        else:
            log.info("assessment snapshots: %s", ", ".join(
                f"{period} {members} members" for period, members in assessed.items()))
        return assessed

    async def run_forever(self, stop: asyncio.Event) -> None:
        """A refresh every interval until `stop` is set; a failed one is logged and the
        next one tries again."""
        await repeat(self.run_once, pause=lambda: self.config.assessment_interval_seconds,
                     stop=stop, log=log, what="assessment refresh")
