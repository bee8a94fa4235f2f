"""The periodic sweep that `gridsteward worker` runs beside its worker processes.

Every SWEEP_INTERVAL_SECONDS it runs the domain sweep (accept timeouts, grid timeouts, overdue
escalations, requests left SUBMITTED, messages due) in one transaction, commits, then enqueues
what it found. It talks to the database directly, so timeouts and escalations still happen
while the broker is away; only the enqueueing waits for it to return.

Several sweepers at once are safe (the domain claims rows with SKIP LOCKED and changes state by
compare-and-set; the actors are idempotent). To keep a slow or stopped pool of workers from
being buried under repeated triggers, a sweeper does not re-enqueue the same id within
DISPATCH_STALE_SECONDS of enqueueing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from domain.db import make_async_engine, session_factory
from workers import jobs
from workers.actors import Actors, enqueue_sweep_result
from workers.boot import boot
from workers.config import WorkerConfig

log = logging.getLogger("gridsteward.sweeper")


class Recently:
    """Keys enqueued in the last `window` seconds, by this sweeper."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._seen: dict[tuple[str, int], float] = {}

    def keys(self) -> frozenset[tuple[str, int]]:
        """The keys still inside the window (forgetting older ones)."""
        cutoff = self.clock() - self.window
        self._seen = {k: t for k, t in self._seen.items() if t > cutoff}
        return frozenset(self._seen)

    def add(self, keys: list[tuple[str, int]]) -> None:
        now = self.clock()
        self._seen.update((k, now) for k in keys)


class Sweeper:
    """Runs the sweep over `sessions` and enqueues results through `actors`."""

    def __init__(self, config: WorkerConfig, actors: Actors, sessions: jobs.Sessions) -> None:
        self.config = config
        self.actors = actors
        self.sessions = sessions
        self.recently = Recently(config.dispatch_stale_seconds)

    async def sweep_once(self) -> int:
        """One pass; returns how many triggers it enqueued. Enqueueing blocks briefly (it is
        this process's only work, so the loop has nothing else to serve meanwhile)."""
        result = await jobs.sweep_job(self.sessions, self.config)
        sent = enqueue_sweep_result(self.actors, result, skip=self.recently.keys())
        self.recently.add(sent)
        if result.timed_out or result.escalated or sent:
            log.info("sweep: %d accept timeouts, %d escalations, %d triggers enqueued",
                     result.timed_out, result.escalated, len(sent))
        return len(sent)

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Sweep every interval until `stop` is set; a failed pass is logged and the next
        one tries again (a sweeper that died would leave nothing to recover lost work)."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.sweep_once()
            except Exception:
                log.exception("sweep failed; trying again in %ss",
                              self.config.sweep_interval_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.sweep_interval_seconds)


async def _serve(config: WorkerConfig) -> None:
    actors = boot(config)
    engine = make_async_engine(config.database_url, pool_size=1)
    try:
        await Sweeper(config, actors, session_factory(engine)).run_forever()
    finally:
        await engine.dispose()


def run() -> int:
    """Dramatiq's fork function (`--fork-function workers.sweeper:run`): sweep until the
    process is told to stop."""
    config = WorkerConfig.from_env()
    log.info("sweeping every %ss", config.sweep_interval_seconds)
    asyncio.run(_serve(config))
    return 0
