"""Dramatiq's Redis broker, polling the dispatch queue often enough while it is idle.

Redis cannot push messages to a consumer: Dramatiq's Redis consumer polls, and while a queue
stays empty it backs off exponentially up to the worker timeout (one second by default). At
a steady trickle of submissions that backoff grows between two messages, so each waited tens
of milliseconds on average before a worker even saw it (benchmarks/dispatch.py, 10
submissions/s: submit → DISPATCHED p50 88 ms, against 33-44 ms on RabbitMQ, which pushes;
56-61 ms with the cap). Capping the backoff of the queues named `prompt` at POLL_CAP_MS keeps that
wait short, for one poll per such queue per worker process every POLL_CAP_MS while idle
(about 0.01 core per worker process); other queues keep Dramatiq's default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dramatiq.broker import Consumer
from dramatiq.brokers.redis import RedisBroker

#: Longest pause between two polls of an empty prompt queue, in milliseconds.
POLL_CAP_MS = 100


class PromptRedisBroker(RedisBroker):
    """A RedisBroker whose consumers of the `prompt` queues poll at least every
    POLL_CAP_MS."""

    def __init__(self, *, prompt: Iterable[str], **options: Any) -> None:
        super().__init__(**options)
        self.prompt = frozenset(prompt)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        if queue_name in self.prompt:
            timeout = min(timeout, POLL_CAP_MS)
        return super().consume(queue_name, prefetch, timeout)
