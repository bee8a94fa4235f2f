"""The periodic sweep that `gridsteward worker` runs beside its worker processes (in its
periodic process, workers.scheduler).

Every SWEEP_INTERVAL_SECONDS it runs the domain sweep (accept timeouts, grid timeouts, overdue
escalations, requests left SUBMITTED, messages due) in one transaction, commits, then enqueues
what it found. It talks to the database directly, so timeouts and escalations still happen
while the broker is away; only the enqueueing waits for it to return.

Several sweepers at once are safe (the domain claims rows with SKIP LOCKED and changes state by
compare-and-set; the actors are idempotent). To keep a slow or stopped pool of workers from
being buried under repeated triggers, a sweeper does not re-enqueue the same id within
DISPATCH_STALE_SECONDS of enqueueing it.

A backlog of due messages (a large survey batch writes thousands at once) goes out at the pace
the workers deliver, not one page per interval: see `Sweeper.pause`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from domain.requests.sweep import BATCH
from workers import jobs
from workers.actors import Actors, enqueue_sweep_result
from workers.config import WorkerConfig
from workers.periodic import repeat

log = logging.getLogger("gridsteward.sweeper")

#: The pause between passes while a backlog of due messages is going out (see Sweeper.pause).
BACKLOG_PAUSE_SECONDS = 0.25


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
        self.backlog = False

    async def sweep_once(self) -> int:
        """One pass; returns how many triggers it enqueued. Enqueueing blocks the event loop
        briefly (the other periodic jobs of this process only wait on the database)."""
        was_backlog, self.backlog = self.backlog, False
        result = await jobs.sweep_job(self.sessions, self.config)
        sent = enqueue_sweep_result(self.actors, result, skip=self.recently.keys())
        self.recently.add(sent)
        self.backlog = (self.recently.window > 0 and len(result.to_send) >= BATCH
                        and any(kind == "send" for kind, _ in sent))
        if result.timed_out or result.escalated or sent:
            # Passes a quarter second apart through a backlog would flood the log.
            quiet = was_backlog and self.backlog and not (result.timed_out or result.escalated)
            log.log(logging.DEBUG if quiet else logging.INFO,
                    "sweep: %d accept timeouts, %d escalations, %d triggers enqueued",
                    result.timed_out, result.escalated, len(sent))
        return len(sent)

    def pause(self) -> float:
        """Seconds until the next pass: the interval, or BACKLOG_PAUSE_SECONDS after a pass
        that found a full page of due messages with new ones among them (a backlog the
        workers are getting through).

        A page is the oldest BATCH due messages, those enqueued but not yet delivered
        included, so each pass only tops the queue up to about BATCH triggers: the backlog
        goes out as fast as the workers deliver, and never buries them (or a dispatch notice
        behind it). When the workers stop keeping up, a pass finds nothing new and the pace
        falls back to the interval. Without a DISPATCH_STALE_SECONDS window a sweeper cannot
        tell new messages from those in flight, so it keeps to the interval."""
        if self.backlog:
            return min(BACKLOG_PAUSE_SECONDS, self.config.sweep_interval_seconds)
        return self.config.sweep_interval_seconds

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Sweep until `stop` is set, a pause apart; a failed pass is logged and the next
        one tries again (a sweeper that died would leave nothing to recover lost work)."""
        await repeat(self.sweep_once, pause=self.pause, stop=stop or asyncio.Event(), log=log,
                     what="sweep")

