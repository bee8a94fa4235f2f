"""The transactions behind the actors and the sweeper: each opens its own session, calls one
domain function at the current time, commits, and returns what to enqueue afterwards (never
enqueued inside the transaction: a trigger must not outrun the commit it points at)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.db import transaction
from domain.requests.delivery import Delivery, Send, deliver_many
from domain.requests.dispatch import dispatch_batch
from domain.requests.sweep import SweepResult, sweep
from workers.config import WorkerConfig

Sessions = async_sessionmaker[AsyncSession]


def utcnow() -> datetime:
    """The clock the workers run on (the domain takes `now` explicitly, for tests)."""
    return datetime.now(UTC)


async def dispatch_job(sessions: Sessions, config: WorkerConfig, request_id: int) -> list[int]:
    """Dispatch or escalate one request, and with it a batch of others waiting; the ids of
    the notices written, to send."""
    async with transaction(sessions) as session:
        outcomes = await dispatch_batch(
            session, request_ids=[request_id], now=utcnow(),
            accept_timeout=config.accept_timeout, channel=config.outbound_channel)
        return [i for outcome in outcomes.values() for i in outcome.message_ids]


async def deliver_job(sessions: Sessions, message_ids: list[int],
                      send: Send) -> dict[int, Delivery]:
    """Try to deliver outbound messages through `send`; the outcome of each."""
    async with transaction(sessions) as session:
        return await deliver_many(session, message_ids=message_ids, now=utcnow(), send=send)


async def sweep_job(sessions: Sessions, config: WorkerConfig) -> SweepResult:
    """One pass of the sweep: timeouts, escalations, and what is due to dispatch or send."""
    async with transaction(sessions) as session:
        return await sweep(session, now=utcnow(), accept_timeout=config.accept_timeout,
                           stale_after=config.stale_after, channel=config.outbound_channel)
