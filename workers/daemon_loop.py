"""Dramatiq's AsyncIO middleware, with its event loop thread as a daemon.

Dramatiq's own loop thread is not a daemon. When a worker process is told twice to stop
(Ctrl-C reaching the whole process group, or systemd signalling every process of the unit),
Dramatiq exits its main thread at once without the shutdown hooks that would stop the loop,
and the live loop thread then keeps the process from ever exiting. As a daemon it cannot.
"""

from __future__ import annotations

import dramatiq
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.middleware import AsyncIO


class DaemonEventLoop(AsyncIO):
    """Runs async work on one event loop thread per worker process, like AsyncIO, but never
    holds the process open once its main thread has gone."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = EventLoopThread(self.logger)
        loop_thread.daemon = True
        loop_thread.start(timeout=1.0)
        set_event_loop_thread(loop_thread)
