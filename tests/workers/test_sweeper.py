"""The sweep and a backlog of due messages (a large survey batch): it goes out at the pace
the workers deliver, not one page per interval, and never more than about a page in flight."""

from __future__ import annotations

import asyncio
from typing import Any

from dramatiq import Message
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.infra.db import transaction
from domain.requests.sweep import BATCH
from domain.settings import Settings
from tests.settings import changed
from tests.workers.conftest import Stub, sent_messages
from tests.workers.live import wait_until
from workers.actors import DELIVERY_BATCH, declare_actors
from workers.broker import OUTBOUND_QUEUE, worker_middleware
from workers.periodic import Periodic, repeat
from workers.runtime import Runtime
from workers.schedule import BACKLOG_PAUSE_SECONDS, Sweep

INTERVAL = 30.0


async def pending_messages(sessions: Any, count: int) -> None:
    """`count` PENDING messages, due in id order (the oldest first)."""
    async with transaction(sessions) as session:
        await session.execute(text("""
            INSERT INTO outbound_message (channel, recipient, kind, body, dedupe_key,
                                         next_attempt_at)
            SELECT 'log', '1390000' || lpad(n::text, 4, '0'), 'SURVEY', '请为本次服务评分',
                   'TEST:' || n, now() - interval '1 hour' + n * interval '1 millisecond'
            FROM generate_series(1, :count) n"""), {"count": count})


async def test_a_backlog_is_topped_up_to_a_page_in_flight(sessions: Any,
                                                          worker_settings: Settings) -> None:
    await pending_messages(sessions, 2 * BATCH + 200)
    config = changed(worker_settings, sweep_interval_seconds=INTERVAL, dispatch_stale_seconds=60)
    broker = StubBroker(middleware=worker_middleware())  # no worker: nothing is delivered
    sweep = Sweep(config, declare_actors(broker, Runtime(config)), sessions)
    assert (await sweep(), sweep.pause()) == (BATCH, BACKLOG_PAUSE_SECONDS)
    assert (await sweep(), sweep.pause()) == (0, INTERVAL)  # all in flight

    async with transaction(sessions) as session:  # the workers deliver the first 100
        await session.execute(text(
            "UPDATE outbound_message SET status = 'SENT' WHERE id <= 100"))
    assert (await sweep(), sweep.pause()) == (100, BACKLOG_PAUSE_SECONDS)
    assert enqueued_ids(broker) == list(range(1, BATCH + 1)) + list(range(BATCH + 1, BATCH + 101))
    broker.close()


def enqueued_ids(broker: StubBroker) -> list[int]:
    """The message ids in the outbound queue's deliver_messages batches, in order."""
    queue = broker.queues[OUTBOUND_QUEUE].queue
    batches = [Message.decode(item) for item in queue]
    assert all(len(b.args[0]) <= DELIVERY_BATCH for b in batches)
    return [i for b in batches for i in b.args[0]]


async def test_a_backlog_goes_out_without_waiting_an_interval_per_page(
        sessions: Any, engine: AsyncEngine, stub_factory: Any,
        worker_settings: Settings) -> None:
    count = 3 * BATCH
    await pending_messages(sessions, count)
    interval = 2 * INTERVAL  # one page per interval would take three of them
    config = changed(worker_settings, sweep_interval_seconds=interval, dispatch_stale_seconds=60)
    stub: Stub = stub_factory(config)
    sweep = Sweep(config, stub.actors, sessions)
    stop = asyncio.Event()
    running = asyncio.create_task(repeat(Periodic("sweep", sweep.pause, None, sweep),
                                          engine, stop))

    async def all_sent() -> bool:
        return await sent_messages(sessions) == count
    async def back_to_the_interval() -> bool:  # the first pass that finds nothing new
        return sweep.pause() == interval
    try:
        await wait_until(all_sent, seconds=INTERVAL, what=f"{count} messages sent")
        await wait_until(back_to_the_interval, seconds=2, what="the pace back to the interval")
    finally:
        stop.set()
        await running


async def test_without_a_stale_window_the_pace_stays_the_interval(
        sessions: Any, worker_settings: Settings) -> None:
    """With DISPATCH_STALE_SECONDS=0 every pass re-enqueues what is in flight: hurrying would
    multiply the triggers, not the deliveries."""
    await pending_messages(sessions, BATCH + 1)
    config = changed(worker_settings, sweep_interval_seconds=INTERVAL, dispatch_stale_seconds=0)
    broker = StubBroker(middleware=worker_middleware())
    sweep = Sweep(config, declare_actors(broker, Runtime(config)), sessions)
    assert (await sweep(), sweep.pause()) == (BATCH, INTERVAL)
    broker.close()
