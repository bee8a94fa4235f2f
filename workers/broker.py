"""The Dramatiq broker: RabbitMQ in production, Redis or PostgreSQL supported, by BROKER_URL.

`make_broker` only builds it. Whoever runs workers sets it (`dramatiq.set_broker`) before any
actor is declared, explicitly; importing this module changes nothing.

Messages are triggers, not state: the database says what is due and the sweep re-sends
whatever a lost message would have done. The middleware is chosen with that in mind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import dramatiq
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.broker import Consumer
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ConnectionError as BrokerConnectionError
from dramatiq.middleware import AgeLimit, AsyncIO, Middleware, Retries, TimeLimit
from dramatiq_pg import PostgresBroker

from domain.infra.db import libpq_url

log = logging.getLogger("gridsteward.broker")

#: Queues: dispatching never waits behind a backlog of slow webhook deliveries.
DISPATCH_QUEUE = "gridsteward.dispatch"
OUTBOUND_QUEUE = "gridsteward.outbound"

#: An actor that raised (database unreachable, say) is retried a few times, quickly: beyond
#: that the sweep takes over, so long Dramatiq backoffs (its default is up to 7 days) would
#: only pile up stale triggers.
MAX_RETRIES = 3
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 30_000

#: An actor is interrupted after this long (its transaction rolls back, nothing half-done).
TIME_LIMIT_MS = 60_000

#: A trigger older than this is dropped unprocessed: by then the sweep has acted on it.
MAX_AGE_MS = 3_600_000

#: Longest pause between two polls of an empty prompt queue on Redis, in milliseconds.
POLL_CAP_MS = 100


class DaemonEventLoop(AsyncIO):
    """Dramatiq's AsyncIO middleware (one event loop thread per worker process), with that
    thread a daemon. Dramatiq's own is not: when a worker process is told twice to stop
    (Ctrl-C reaching the whole process group, or systemd signalling every process of the
    unit), Dramatiq exits its main thread at once without the shutdown hooks that would stop
    the loop, and the live loop thread then kept the process from ever exiting."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = EventLoopThread(self.logger)
        loop_thread.daemon = True
        loop_thread.start(timeout=1.0)
        set_event_loop_thread(loop_thread)


class PromptRedisBroker(RedisBroker):
    """Dramatiq's Redis broker, polling the `prompt` queues at least every POLL_CAP_MS.

    Redis cannot push messages to a consumer: Dramatiq's Redis consumer polls, and while a
    queue stays empty it backs off exponentially up to the worker timeout (one second by
    default). At a steady trickle of submissions that backoff grows between two messages, so
    each waited tens of milliseconds before a worker even saw it (benchmarks/dispatch.py, 10
    submissions/s: submit → DISPATCHED p50 88 ms, against 33-44 ms on RabbitMQ, which pushes;
    56-61 ms with the cap), for one poll per such queue per worker process every POLL_CAP_MS
    while idle (about 0.01 core per worker process); other queues keep Dramatiq's default."""

    def __init__(self, *, prompt: Iterable[str], **options: Any) -> None:
        super().__init__(**options)
        self.prompt = frozenset(prompt)

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        if queue_name in self.prompt:
            timeout = min(timeout, POLL_CAP_MS)
        return super().consume(queue_name, prefetch, timeout)


def worker_middleware() -> list[Middleware]:
    """The middleware every GridSteward broker runs, each for a reason:

    - AgeLimit drops triggers older than an actor's `max_age` (the sweep made them moot);
    - TimeLimit interrupts a stuck actor, so a hung connection cannot hold a thread forever;
    - Retries re-runs an actor that raised, a few times with short exponential backoff;
    - DaemonEventLoop (Dramatiq's AsyncIO, with a daemon thread) gives each worker process
      one event loop thread, where the actors' database work runs (workers.runtime), so one
      async engine per process serves every thread.

    Left out on purpose: Callbacks, Pipelines, GroupCallbacks (unused), ShutdownNotifications
    (an actor finishes its short transaction rather than being interrupted at shutdown),
    CurrentMessage and Prometheus (not needed).
    """
    return [AgeLimit(max_age=MAX_AGE_MS), TimeLimit(time_limit=TIME_LIMIT_MS),
            Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS,
                    max_backoff=MAX_BACKOFF_MS),
            DaemonEventLoop()]


def make_broker(url: str) -> dramatiq.Broker:
    """A broker for `url`: amqp:// or amqps:// (RabbitMQ), redis:// or rediss:// (Redis), or
    postgresql:// (dramatiq-pg: messages in the table `dramatiq.queue` that `gridsteward
    migrate` creates, woken by LISTEN/NOTIFY; for deployments that would rather not run a
    broker at all).

    RabbitMQ publishes with confirmations: `send` returns only once the broker has the
    message (durable queue, persistent message), so an enqueue that did not raise survives a
    broker restart; PostgreSQL commits the message before `send` returns. Redis consumers poll
    an idle dispatch queue at least every POLL_CAP_MS (PromptRedisBroker). Nothing connects
    until the first message is sent or consumed."""
    scheme = url.partition("://")[0].lower()
    if scheme in {"amqp", "amqps"}:
        return RabbitmqBroker(url=url, confirm_delivery=True, middleware=worker_middleware())
    if scheme in {"redis", "rediss"}:
        return PromptRedisBroker(url=url, middleware=worker_middleware(),
                                 prompt={DISPATCH_QUEUE})
    if scheme.partition("+")[0] in {"postgresql", "postgres"}:
        return PostgresBroker(url=libpq_url(url), results=False,
                              middleware=worker_middleware())
    raise ValueError(f"BROKER_URL must start with amqp:// (RabbitMQ), redis:// (Redis) or "
                     f"postgresql:// (PostgreSQL), not {scheme or url!r}")


def declare_queues(broker: dramatiq.Broker) -> None:
    """Create the actors' queues on RabbitMQ now, in a worker process before its consumers
    start. Dramatiq declares a queue when its consumer starts, but the consumer of a delay
    queue (`….DQ`) may start first and fail on a fresh broker ("NOT_FOUND - no queue", logged
    as CRITICAL, retried 3 s later; Dramatiq issue #794). A broker that does not answer yet is
    left to the consumers, which declare the queues when they connect. Other brokers need
    nothing."""
    if not isinstance(broker, RabbitmqBroker):
        return
    try:
        for queue in sorted(broker.get_declared_queues()):
            broker.declare_queue(queue, ensure=True)
    except BrokerConnectionError as exc:
        log.info("queues not declared at boot (the consumers will): %s", exc)
    finally:
        del broker.connection  # this thread publishes nothing: no idle connection kept
