"""How the periodic jobs run: one table (workers.schedule), one loop, inside the Dramatiq
worker processes, with restarts left to what already restarts processes.

Each row of the table is a `Periodic`: a name, the pause before its next run, an optional
PostgreSQL advisory lock and the function of one run. `PeriodicJobs`, a Dramatiq middleware,
runs the table on a thread of its own in every worker process, started after the worker has
booted and stopped when it shuts down (runs under way finish beside the actors). The rows run
side by side, so a long survey batch never holds up the sweep; a run that raises is logged and
the row runs again after its pause: the database is the state, so the next run picks up
whatever this one missed.

One table runs at a time across every worker process of every machine: the process that
holds the advisory lock TABLE_LOCK runs it, and every other one tries to take it again each
SWEEP_INTERVAL_SECONDS. So each job keeps its interval whatever the number of processes, and
when the holder dies PostgreSQL drops its connection and the lock with it: another process
(of this machine or another) takes over within an interval. A row with a `lock` also holds
that lock while it runs, so a run never overlaps another of the same job, even from
`gridsteward surveys` or a holder that lost the table's lock with its connection.

Restarts: a worker process whose periodic thread died exits (status 1). Dramatiq's main
process then stops the other worker processes and exits non-zero, and whatever started
`gridsteward worker` starts it again: systemd's `Restart=always`, Kubernetes, or `gridsteward
dev`'s restart loop. Nothing here forks or supervises.

Why not a library. periodiq enqueues Dramatiq messages from one scheduler process of its
own: cron resolution (a minute; the sweep runs every 5 s), the sweep would need the broker
(today it times out offers and escalates while the broker is away), and that process would
need its own supervision and must never run twice. APScheduler 3 runs jobs in-process, but
its job stores cannot be shared by several schedulers (its FAQ), so the advisory locks would
stay, and it would add a dependency for the forty lines of loop below; APScheduler 4, which
coordinates schedulers through PostgreSQL, is a pre-release its authors say not to use in
production.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.infra.db import make_async_engine
from domain.settings import Settings

log = logging.getLogger("gridsteward.periodic")

#: The advisory lock whose holder runs the table.
TABLE_LOCK = "gridsteward:periodic-jobs"

#: Connections of the table's engine: the table's lock, a row's lock, a row's transaction
#: (the engine allows as many again in overflow).
POOL_SIZE = 3

#: Seconds the periodic thread may take to finish its runs at shutdown once the actors have
#: finished theirs (it is told to stop when they are, so both finish side by side).
STOP_GRACE_SECONDS = 5.0

#: Exit status of a worker process whose periodic jobs stopped unexpectedly.
LOST_JOBS_EXIT = 1


@dataclass(frozen=True)
class Periodic:
    """One row of the table: `run()` every `pause()` seconds (asked after each run, so a row
    may hurry its next run), holding the advisory lock `lock` meanwhile if it has one."""

    name: str
    pause: Callable[[], float]
    lock: str | None
    run: Callable[[], Awaitable[Any]]


#: The table of one process: built over the engine its thread opens.
Table = Callable[[AsyncEngine], list[Periodic]]


def lock_key(name: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of `name`, the same in every process."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def advisory_lock(engine: AsyncEngine, name: str) -> AsyncIterator[AsyncConnection | None]:
    """Try, without waiting, to take the lock `name` until the block ends; yields the
    connection holding it, or None when another process holds it (skip the turn).

    Session-level, on a connection of its own, so it stays held while the job commits
    transaction after transaction on others; if the process dies, PostgreSQL drops the
    connection and the lock with it. Behind PgBouncer this needs session pooling."""
    key = lock_key(name)
    async with engine.connect() as conn:
        taken = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                          {"key": key})).scalar_one())
        await conn.commit()  # the lock outlives the transaction; no transaction idles open
        try:
            yield conn if taken else None
        finally:
            if taken:
                await _release(conn, key, name)


async def _release(conn: AsyncConnection, key: int, name: str) -> None:
    """Unlock; if that fails, close the connection rather than pool it, so a connection
    that may still hold the lock is never handed to someone else."""
    try:
        released = bool((await conn.execute(text("SELECT pg_advisory_unlock(:key)"),
                                             {"key": key})).scalar_one())
        await conn.commit()
    except Exception:
        log.warning("could not release advisory lock %s; closing its connection", name,
                    exc_info=True)
        released = False
    if not released:
        await conn.invalidate()


async def run_once(row: Periodic, engine: AsyncEngine) -> Any:
    """One run of `row`, under its lock if it has one; None when another process holds the
    lock (the turn is skipped)."""
    if row.lock is None:
        return await row.run()
    async with advisory_lock(engine, row.lock) as held:
        if held is None:
            log.debug("%s: another process is running one; skipped", row.name)
            return None
        return await row.run()


async def repeat(row: Periodic, engine: AsyncEngine, stop: asyncio.Event) -> None:
    """Run `row` and pause, again and again, until `stop` is set; never raises for a run."""
    while not stop.is_set():
        try:
            await run_once(row, engine)
        except Exception:
            log.exception("%s failed; trying again in %ss", row.name, row.pause())
        await wait(stop, row.pause())


async def wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def lead(table: list[Periodic], engine: AsyncEngine, stop: asyncio.Event, *,
               retry: float) -> None:
    """Until `stop` is set: take TABLE_LOCK and run every row while holding it; while another
    process holds it (or the database is away), try again every `retry` seconds."""
    while not stop.is_set():
        try:
            async with advisory_lock(engine, TABLE_LOCK) as held:
                if held is not None:
                    log.info("periodic jobs running in process %d: %s", os.getpid(),
                             ", ".join(row.name for row in table))
                    await _run_while_held(table, engine, held, stop, check=retry)
        except Exception as exc:
            log.warning("periodic jobs: cannot take their lock (%s: %s); trying again in "
                        "%ss", type(exc).__name__, exc, retry)
        await wait(stop, retry)


async def _run_while_held(table: list[Periodic], engine: AsyncEngine, held: AsyncConnection,
                          stop: asyncio.Event, *, check: float) -> None:
    """Run the rows until `stop` is set or the connection holding the lock is lost (the
    database restarted: the lock went with it, and another process may hold it now)."""
    rows_stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            await wait(stop, check)
            try:
                await held.execute(text("SELECT 1"))
            except Exception:
                log.warning("periodic jobs: lost the connection holding their lock; "
                            "stopping them until it is taken again")
                break
        rows_stop.set()
    await asyncio.gather(watch(), *(repeat(row, engine, rows_stop) for row in table))


class PeriodicJobs(Middleware):
    """Runs the table in each worker process on a thread of its own (its own event loop and
    engine, apart from the actors'), from worker boot until worker shutdown."""

    def __init__(self, settings: Settings, table: Table) -> None:
        self.settings = settings
        self.table = table
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = threading.Event()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._thread = threading.Thread(target=self._run, name="gridsteward-periodic",
                                        daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Tell the rows to stop: runs under way finish while the actors finish theirs."""
        self._stopping.set()
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                self._loop.call_soon_threadsafe(self._stop.set)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Wait for the runs under way, STOP_GRACE_SECONDS at most (the thread is a daemon:
        a run cut short is redone by the next one)."""
        if self._thread is not None:
            self._thread.join(STOP_GRACE_SECONDS)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException:
            log.exception("the periodic jobs failed")
        if not self._stopping.is_set():
            log.critical("the periodic jobs stopped unexpectedly; ending worker process %d "
                         "so that it is started again", os.getpid())
            os._exit(LOST_JOBS_EXIT)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        if self._stopping.is_set():
            return
        engine = make_async_engine(self.settings.database_url, pool_size=POOL_SIZE)
        try:
            await lead(self.table(engine), engine, self._stop,
                       retry=self.settings.sweep_interval_seconds)
        finally:
            await engine.dispose()
