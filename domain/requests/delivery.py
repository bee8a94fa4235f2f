"""Delivering outbound messages: claim a PENDING row, hand it to a channel, record the outcome.

The channel is a callable passed in (the worker side knows log and webhook), so this module
stays pure domain. A row is claimed with FOR UPDATE SKIP LOCKED and marked in the same
transaction, so two deliverers never send one message at once and a SENT message is never
sent again. Delivery is at least once towards the outside world: a process that dies after the
channel accepted the message but before the commit leaves it PENDING, and it is sent again;
receivers deduplicate by the message `id` in the payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

#: What a channel receives: the message as a JSON-ready dict. It raises to signal failure.
Send = Callable[[dict[str, Any]], None]

MAX_ERROR = 1000


class Delivery(StrEnum):
    """What one delivery attempt did."""

    SENT = "SENT"  # the channel accepted it
    RETRY = "RETRY"  # the channel failed; next_attempt_at says when to try again
    FAILED = "FAILED"  # the channel failed for the last allowed time
    DONE = "DONE"  # already SENT or FAILED: nothing to do
    NOT_DUE = "NOT_DUE"  # waiting for its backoff to pass
    BUSY = "BUSY"  # another deliverer holds the row right now
    MISSING = "MISSING"  # no message has this id


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing message is retried: the wait doubles after each
    failure, from `first` up to `cap`; after `max_attempts` failures it is FAILED."""

    max_attempts: int = 8
    first: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=15)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1-based)."""
        return min(self.first * 2 ** max(attempts - 1, 0), self.cap)


_CLAIM = text("""
    SELECT id, channel, recipient, kind, body, request_id, member_id, survey_token,
           created_at, status, attempts, next_attempt_at
    FROM outbound_message WHERE id = :id FOR UPDATE SKIP LOCKED""")
_SENT = text("""
    UPDATE outbound_message SET status = 'SENT', sent_at = :now, attempts = attempts + 1,
           last_error = NULL WHERE id = :id""")


async def deliver(session: AsyncSession, *, message_id: int, now: datetime, send: Send,
                  policy: RetryPolicy | None = None) -> Delivery:
    """Send one PENDING message through `send` and record the outcome (the caller commits).

    A message never attempted is due at once, whatever its `next_attempt_at` says (so a clock
    difference between the database and this host cannot hold a fresh message back); a retry
    waits for its backoff. `send` runs in a thread, as channels may block on the network."""
    row = (await session.execute(_CLAIM, {"id": message_id})).first()
    if row is None:
        return await _why_not(session, message_id)
    if row.status != "PENDING":
        return Delivery.DONE
    if row.attempts > 0 and row.next_attempt_at > now:
        return Delivery.NOT_DUE
    try:
        await asyncio.to_thread(send, payload(row))
    except Exception as exc:
        return await _failed(session, row, now, exc, policy or RetryPolicy())
    await session.execute(_SENT, {"id": message_id, "now": now})
    return Delivery.SENT


def payload(row: Row[Any]) -> dict[str, Any]:
    """The message as channels receive it; `id` identifies it across retries and `attempt`
    counts from 1."""
    return {"id": int(row.id), "channel": row.channel, "kind": row.kind,
            "recipient": row.recipient, "body": row.body, "request_id": row.request_id,
            "member_id": row.member_id, "survey_token": row.survey_token,
            "created_at": row.created_at.isoformat(), "attempt": int(row.attempts) + 1}


async def _why_not(session: AsyncSession, message_id: int) -> Delivery:
    exists = (await session.execute(text("SELECT 1 FROM outbound_message WHERE id = :id"),
                                    {"id": message_id})).first()
    return Delivery.BUSY if exists else Delivery.MISSING


async def _failed(session: AsyncSession, row: Row[Any], now: datetime, exc: Exception,
                  policy: RetryPolicy) -> Delivery:
    attempts = int(row.attempts) + 1
    final = attempts >= policy.max_attempts
    await session.execute(text("""
        UPDATE outbound_message SET attempts = :attempts, last_error = :error,
               status = CASE WHEN :final THEN 'FAILED' ELSE 'PENDING' END,
               next_attempt_at = :next WHERE id = :id"""),
        {"id": row.id, "attempts": attempts, "final": final,
         "error": f"{type(exc).__name__}: {exc}"[:MAX_ERROR],
         "next": now if final else now + policy.backoff(attempts)})
    return Delivery.FAILED if final else Delivery.RETRY

