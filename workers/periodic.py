"""Running a job again and again, a pause apart, until told to stop: the loop under the sweep,
the survey batch and the assessment refresh.

A job that raises is logged with its traceback and tried again after the pause: a periodic job
that died would leave its work silently undone (requests not escalated, surveys not sent) until
someone noticed. The database is the state, so the next run picks up whatever this one missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

#: One run of a periodic job; what it returns is not used here.
Job = Callable[[], Awaitable[object]]


async def repeat(job: Job, *, pause: Callable[[], float], stop: asyncio.Event,
                 log: logging.Logger, what: str) -> None:
    """Run `job`, wait `pause()` seconds (asked after each run, so a job may hurry its next
    run) or until `stop` is set, and again, until `stop` is set; never raises for a failed
    run."""
    while not stop.is_set():
        try:
            await job()
        except Exception:
            log.exception("%s failed; trying again in %ss", what, pause())
        await wait(stop, pause())


async def wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
