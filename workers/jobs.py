"""The transactions behind the actors and the sweeper: each opens its own session, calls one
domain function at the current time, commits, and returns what to enqueue afterwards (never
enqueued inside the transaction: a trigger must not outrun the commit it points at)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.db import transaction
from domain.requests.delivery import Delivery, Send, deliver
from domain.requests.dispatch import dispatch_request
from domain.requests.sweep import SweepResult, sweep
from workers.config import WorkerConfig

Sessions = async_sessionmaker[AsyncSession]


def utcnow() -> datetime:
    """The clock the workers run on (the domain takes `now` explicitly, for tests)."""
    return datetime.now(UTC)


async def dispatch_job(sessions: Sessions, config: WorkerConfig, request_id: int) -> list[int]:
    """Dispatch or escalate one request; the ids of the notices it wrote, to send."""
    async with transaction(sessions) as session:
        outcome = await dispatch_request(
            session, request_id=request_id, now=utcnow(), accept_timeout=config.accept_timeout,
            channel=config.outbound_channel)
        return list(outcome.message_ids)


async def deliver_job(sessions: Sessions, message_id: int, send: Send) -> Delivery:
    """Try to deliver one outbound message through `send`."""
    async with transaction(sessions) as session:
        return await deliver(session, message_id=message_id, now=utcnow(), send=send)


async def sweep_job(sessions: Sessions, config: WorkerConfig) -> SweepResult:
    """One pass of the sweep: timeouts, escalations, and what is due to dispatch or send."""
    async with transaction(sessions) as session:
        return await sweep(session, now=utcnow(), accept_timeout=config.accept_timeout,
                           stale_after=config.stale_after, channel=config.outbound_channel)
