"""The periodic process of `gridsteward worker`: beside the Dramatiq worker processes, one
more process (Dramatiq's `--fork-function workers.scheduler:run`) runs the periodic jobs side
by side on one event loop, each on its own interval:

- the sweep (workers.sweeper), every SWEEP_INTERVAL_SECONDS;
- the survey batch (workers.surveys), every SURVEY_BATCH_INTERVAL_SECONDS;
- the assessment refresh (workers.assessments), every ASSESSMENT_INTERVAL_SECONDS.

Side by side, so a long survey batch never holds up the sweep's timeouts and escalations; each
job logs its own failures and carries on (workers.periodic). The jobs run in a child of that
fork process, which starts them again if their process dies (workers.supervise), and which
they leave when it dies. Every worker machine runs this
process: sweeps are safe on several machines at once, and the survey batch and the assessment
refresh each take an advisory lock, so one machine at a time does them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.infra.db import make_async_engine, session_factory
from workers.actors import Actors
from workers.assessments import AssessmentRefresh
from workers.boot import boot
from workers.config import WorkerConfig
from workers.periodic import wait
from workers.supervise import keep_running
from workers.surveys import SurveyBatches
from workers.sweeper import Sweeper

log = logging.getLogger("gridsteward.scheduler")

#: Connections this process may use at once: the sweep's, and a lock and a transaction for
#: each locked job (the engine allows as many again in overflow).
POOL_SIZE = 3

#: A periodic job: runs until the event is set.
Periodic = Callable[[asyncio.Event], Awaitable[None]]


def periodic_jobs(config: WorkerConfig, actors: Actors, engine: AsyncEngine) -> list[Periodic]:
    """The jobs this process runs, over one engine; the sweep enqueues through `actors`."""
    return [Sweeper(config, actors, session_factory(engine)).run_forever,
            SurveyBatches(config, engine).run_forever,
            AssessmentRefresh(config, engine).run_forever]


async def serve(config: WorkerConfig, actors: Actors, stop: asyncio.Event) -> None:
    """Run every periodic job until `stop` is set."""
    engine = make_async_engine(config.database_url, pool_size=POOL_SIZE)
    try:
        await asyncio.gather(*(job(stop) for job in periodic_jobs(config, actors, engine)))
    finally:
        await engine.dispose()


def run() -> NoReturn:
    """Dramatiq's fork function: keep the periodic jobs running in a child process until this
    process is told to stop (workers.supervise), which ends it with SystemExit."""
    config = WorkerConfig.from_env()
    log.info("sweep every %ss, survey batch every %ss, assessment refresh every %ss",
             config.sweep_interval_seconds, config.survey_batch_interval_seconds,
             config.assessment_interval_seconds)
    keep_running(lambda supervisor: asyncio.run(run_jobs(config, supervisor)),
                 name="periodic jobs")


async def run_jobs(config: WorkerConfig, supervisor: int) -> None:
    """The supervised process: boot the broker and actors (the sweep enqueues), then run the
    periodic jobs until SIGTERM or SIGHUP, or until `supervisor` is gone; a run under way
    finishes first."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    orphaned = asyncio.create_task(_stop_when_orphaned(supervisor, stop))
    try:
        await serve(config, boot(config), stop)
    finally:
        orphaned.cancel()


async def _stop_when_orphaned(supervisor: int, stop: asyncio.Event) -> None:
    """Set `stop` once this process's parent is no longer `supervisor` (it died: nobody would
    stop these jobs, and a new worker would run its own beside them)."""
    while not stop.is_set():
        if os.getppid() != supervisor:
            log.warning("the supervisor (process %d) is gone; stopping the periodic jobs",
                        supervisor)
            stop.set()
        await wait(stop, 1.0)
