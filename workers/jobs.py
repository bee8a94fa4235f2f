"""The transactions behind the actors and the sweep: each opens its own session, calls one
domain function at the current time, commits, and returns what to enqueue afterwards (never
enqueued inside the transaction: a trigger must not outrun the commit it points at)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.infra.db import transaction
from domain.people.codes import code_key, sign_in_payload
from domain.requests.delivery import Delivery, Send, deliver_many
from domain.requests.dispatch import BATCH, dispatch_batch
from domain.requests.sweep import SweepResult, sweep
from domain.requests.tracking import tracking_key, tracking_payload
from domain.settings import Settings

Sessions = async_sessionmaker[AsyncSession]

log = logging.getLogger("gridsteward.workers")


def utcnow() -> datetime:
    """The clock the workers run on (the domain takes `now` explicitly, for tests)."""
    return datetime.now(UTC)


async def dispatch_job(sessions: Sessions, settings: Settings,
                       request_ids: Sequence[int]) -> list[int]:
    """Dispatch or escalate the requests `request_ids`, and with them a batch of others
    waiting; the ids of the notices written, to send. Should the batch fail, each request
    asked for is tried alone (and the first failure raised, for Dramatiq to retry), so one
    request that cannot be dispatched never holds up the others."""
    try:
        return await _dispatch(sessions, settings, request_ids, BATCH)
    except Exception:
        log.exception("dispatch batch with requests %s failed; trying each alone",
                      list(request_ids))
    written: list[int] = []
    failure: Exception | None = None
    for request_id in request_ids:
        try:
            written += await _dispatch(sessions, settings, [request_id], 0)
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return written


async def _dispatch(sessions: Sessions, settings: Settings, request_ids: Sequence[int],
                    extra: int) -> list[int]:
    async with transaction(sessions) as session:
        outcomes = await dispatch_batch(
            session, request_ids=request_ids, now=utcnow(),
            accept_timeout=settings.accept_timeout, channel=settings.outbound_channel,
            extra=extra)
        return [i for outcome in outcomes.values() for i in outcome.message_ids]


async def deliver_job(sessions: Sessions, message_ids: list[int], send: Send,
                      budget: float | None = None, *, secret_key: str = "",
                      tracking_link: str = "") -> dict[int, Delivery]:
    """Try to deliver outbound messages through `send`, for about `budget` seconds at most;
    the outcome of each. Sign-in codes are written into their messages with the key derived
    from `secret_key` (SECRET_KEY, as the API that checks them has it), and so are the
    links of residents' messages, on `tracking_link` (TRACKING_LINK) with their codes."""
    render = tracking_payload(tracking_key(secret_key), tracking_link,
                              sign_in_payload(code_key(secret_key)))
    async with transaction(sessions) as session:
        return await deliver_many(session, message_ids=message_ids, now=utcnow(), send=send,
                                  budget=budget, render=render)


async def sweep_job(sessions: Sessions, settings: Settings) -> SweepResult:
    """One pass of the sweep: timeouts, escalations, and what is due to dispatch or send."""
    async with transaction(sessions) as session:
        return await sweep(session, now=utcnow(), accept_timeout=settings.accept_timeout,
                           stale_after=settings.stale_after, channel=settings.outbound_channel)
