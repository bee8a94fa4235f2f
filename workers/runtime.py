"""Where the actors' async database work runs: one event loop and one engine per process.

Actors are plain functions run by Dramatiq's worker threads. Their domain calls are async,
and an AsyncEngine's pooled connections belong to the event loop that opened them, so every
coroutine of a process runs on the single loop thread of Dramatiq's AsyncIO middleware, and
the engine is created lazily on that loop. The worker thread waits for the result (so the
TimeLimit middleware can still interrupt it) and does the enqueueing itself, after commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.infra.db import make_async_engine, session_factory
from domain.settings import Settings

T = TypeVar("T")

#: A unit of work: given sessions, do one transaction and say what to enqueue next.
Job = Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]


class Runtime(Middleware):
    """The settings and the database engine of one worker process. Added to the broker after
    AsyncIO, so at shutdown it disposes the engine while the loop is still running. Its pool
    holds a connection per worker thread (a thread runs one actor at a time)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool_size = 2
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Size the pool for the worker threads of this process."""
        self.pool_size = worker.worker_threads

    def _get_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Only ever called on the loop thread, so two threads never race to create it."""
        if self._sessions is None:
            self._engine = make_async_engine(self.settings.database_url,
                                             pool_size=self.pool_size)
            self._sessions = session_factory(self._engine)
        return self._sessions

    def run(self, job: Job[T]) -> T:
        """Run `job` on this process's event loop and wait for its result."""
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            raise RuntimeError("no event loop thread: actors run inside a dramatiq Worker "
                               "whose broker has the AsyncIO middleware (workers.broker)")

        async def call() -> T:
            return await job(self._get_sessions())
        return loop_thread.run_coroutine(call())

    async def _dispose(self) -> None:
        engine, self._engine, self._sessions = self._engine, None, None
        if engine is not None:
            await engine.dispose()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Close the pooled connections on the loop that opened them."""
        loop_thread = get_event_loop_thread()
        if loop_thread is not None and self._engine is not None:
            loop_thread.run_coroutine(self._dispose())
