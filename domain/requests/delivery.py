"""Delivering outbound messages: claim PENDING rows, hand each to a channel, record the outcomes.

The channel is a callable passed in (the worker side knows log and webhook), so this module
stays pure domain. A row is claimed with FOR UPDATE SKIP LOCKED and marked in the same
transaction, so two deliverers never send one message at once and a SENT message is never
sent again. Delivery is at least once towards the outside world: a process that dies after the
channel accepted the message but before the commit leaves it PENDING, and it is sent again;
receivers deduplicate by the message `id` in the payload.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

#: What a channel receives: the message as a JSON-ready dict. It raises to signal failure.
Send = Callable[[dict[str, Any]], None]
#: Turns a claimed row into what the channel receives (`payload`, or one that fills in what
#: the row must not hold, as domain.people.codes does for sign-in codes).
Render = Callable[[Row[Any]], dict[str, Any]]

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
    DEFERRED = "DEFERRED"  # not tried: its batch ran out of time; still PENDING, send it again


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


#: The messages, locked, with their request's number and tracking nonce (for the links of a
#: resident's messages: domain.requests.tracking).
_CLAIM = text("""
    SELECT m.id, m.channel, m.recipient, m.kind, m.body, m.request_id, m.member_id,
           m.survey_token, m.dedupe_key, m.created_at, m.status, m.attempts, m.next_attempt_at,
           r.number AS request_number, r.tracking_nonce
    FROM outbound_message m LEFT JOIN service_request r ON r.id = m.request_id
    WHERE m.id = ANY(:ids) ORDER BY m.id FOR UPDATE OF m SKIP LOCKED""")
_SENT = text("""
    UPDATE outbound_message SET status = 'SENT', sent_at = :now, attempts = attempts + 1,
           last_error = NULL WHERE id = ANY(:ids)""")


async def deliver(session: AsyncSession, *, message_id: int, now: datetime, send: Send,
                  policy: RetryPolicy | None = None, render: Render | None = None) -> Delivery:
    """Send one PENDING message through `send` and record the outcome (the caller commits).
    See `deliver_many`."""
    outcomes = await deliver_many(session, message_ids=[message_id], now=now, send=send,
                                  policy=policy, render=render)
    return outcomes[message_id]


async def deliver_many(session: AsyncSession, *, message_ids: Sequence[int], now: datetime,
                       send: Send, policy: RetryPolicy | None = None,
                       budget: float | None = None,
                       render: Render | None = None) -> dict[int, Delivery]:
    """Send the PENDING messages among `message_ids` through `send` and record each outcome
    (the caller commits); the outcome of every id asked for.

    A message never attempted is due at once, whatever its `next_attempt_at` says (so a clock
    difference between the database and this host cannot hold a fresh message back); a retry
    waits for its backoff. The sends run one after the other in a thread, as channels may
    block on the network; one failing does not stop the others. Once `budget` seconds have
    gone by (a gateway answering slowly or timing out), the rest are DEFERRED untouched, for
    the caller to hand on again, so a batch never holds its rows and its thread for long.
    `render` makes each row's payload (`payload` by default)."""
    rows = (await session.execute(_CLAIM, {"ids": list(message_ids)})).all()
    outcomes = {row.id: Delivery.DONE for row in rows if row.status != "PENDING"}
    outcomes |= {row.id: Delivery.NOT_DUE for row in rows
                 if row.status == "PENDING" and row.attempts > 0 and row.next_attempt_at > now}
    due = [row for row in rows if row.id not in outcomes]
    errors = await asyncio.to_thread(_send_each, send, due, budget, render or payload)
    tried = due[:len(errors)]
    sent = [row.id for row, error in zip(tried, errors, strict=True) if error is None]
    if sent:
        await session.execute(_SENT, {"ids": sent, "now": now})
    outcomes |= dict.fromkeys(sent, Delivery.SENT)
    outcomes |= {row.id: Delivery.DEFERRED for row in due[len(errors):]}
    for row, error in zip(tried, errors, strict=True):
        if error is not None:
            outcomes[row.id] = await _failed(session, row, now, error, policy or RetryPolicy())
    missing = [i for i in message_ids if i not in outcomes]
    return outcomes | (await _why_not(session, missing) if missing else {})


def _send_each(send: Send, rows: Sequence[Row[Any]], budget: float | None,
               render: Render) -> list[Exception | None]:
    """Hand rows to `send` in order until `budget` seconds have gone by; what each one tried
    raised, or None (rows beyond the list's length were not tried)."""
    deadline = None if budget is None else time.monotonic() + budget
    errors: list[Exception | None] = []
    for row in rows:
        if deadline is not None and errors and time.monotonic() > deadline:
            break
        try:
            send(render(row))
        except Exception as exc:
            errors.append(exc)
        else:
            errors.append(None)
    return errors


def payload(row: Row[Any]) -> dict[str, Any]:
    """The message as channels receive it; `id` identifies it across retries and `attempt`
    counts from 1."""
    return {"id": int(row.id), "channel": row.channel, "kind": row.kind,
            "recipient": row.recipient, "body": row.body, "request_id": row.request_id,
            "member_id": row.member_id, "survey_token": row.survey_token,
            "created_at": row.created_at.isoformat(), "attempt": int(row.attempts) + 1}


async def _why_not(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, Delivery]:
    """Ids the claim did not return: locked by another deliverer (BUSY) or not there."""
    found = set((await session.execute(text(
        "SELECT id FROM outbound_message WHERE id = ANY(:ids)"), {"ids": list(message_ids)}))
        .scalars())
    return {i: Delivery.BUSY if i in found else Delivery.MISSING for i in message_ids}


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

