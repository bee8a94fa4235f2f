"""The sweep: state lives in PostGIS, messages are only triggers, so a periodic pass finds
whatever is due and makes it happen — whatever was lost to a dead worker or broker.

Safe when two run at once: rows are claimed with FOR UPDATE SKIP LOCKED and every change goes
through the compare-and-set state machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.requests.dispatch import DISPATCHER, escalate
from domain.requests.state import transition

BATCH = 500

#: A request still SUBMITTED this long after its last change is dispatched again: its trigger
#: was lost, most likely (DISPATCH_STALE_SECONDS).
STALE_AFTER = timedelta(seconds=30)


@dataclass
class SweepResult:
    """What the sweep found: requests to dispatch and messages to send (for the worker to
    enqueue), and what it changed itself."""

    to_dispatch: list[int] = field(default_factory=list)
    to_send: list[int] = field(default_factory=list)
    timed_out: int = 0
    escalated: int = 0


async def _ids(session: AsyncSession, sql: str, **params: object) -> list[tuple[int, ...]]:
    rows = await session.execute(text(sql), {"batch": BATCH, **params})
    return [tuple(r) for r in rows]


async def _accept_timeouts(session: AsyncSession, now: datetime, result: SweepResult) -> None:
    for request_id, member_id in await _ids(session, """
            SELECT id, assignee_id FROM service_request
            WHERE status = 'DISPATCHED' AND accept_deadline < :now
            ORDER BY accept_deadline LIMIT :batch FOR UPDATE SKIP LOCKED""", now=now):
        await transition(session, request_id=request_id, action="accept_timeout", now=now,
                         actor=DISPATCHER, member_id=member_id,
                         note="not accepted in time",
                         changes={"assignee_id": None, "accept_deadline": None})
        result.timed_out += 1
        result.to_dispatch.append(request_id)


async def _grid_timeouts(session: AsyncSession, now: datetime, timeout: timedelta,
                         channel: str, result: SweepResult) -> None:
    for (request_id,) in await _ids(session, """
            SELECT id FROM service_request
            WHERE status = 'SUBMITTED' AND escalation_level = 1
              AND COALESCE(accept_deadline, updated_at + :timeout) < :now
            ORDER BY COALESCE(accept_deadline, updated_at) LIMIT :batch FOR UPDATE SKIP LOCKED""",
            now=now, timeout=timeout):
        await escalate(session, request_id=request_id, now=now, to_level=2,
                       reason="网格员未及时接单", accept_timeout=timeout, channel=channel)
        result.escalated += 1


async def _overdue(session: AsyncSession, now: datetime, timeout: timedelta, channel: str,
                   result: SweepResult) -> None:
    for request_id, level in await _ids(session, """
            SELECT id, escalation_level FROM service_request
            WHERE NOT overdue AND due_at < :now
              AND status IN ('SUBMITTED', 'DISPATCHED', 'ACCEPTED', 'IN_PROGRESS')
            ORDER BY due_at LIMIT :batch FOR UPDATE SKIP LOCKED""", now=now):
        await escalate(session, request_id=request_id, now=now, to_level=min(level + 1, 2),
                       reason="超过规定时限未办结", accept_timeout=timeout, channel=channel,
                       overdue=True)
        result.escalated += 1


async def sweep(session: AsyncSession, *, now: datetime, accept_timeout: timedelta,
                stale_after: timedelta = STALE_AFTER,
                channel: str = "log") -> SweepResult:
    """One pass over everything due at `now`. The caller commits, then enqueues
    `to_dispatch` and `to_send`."""
    result = SweepResult()
    await _accept_timeouts(session, now, result)
    await _grid_timeouts(session, now, accept_timeout, channel, result)
    await _overdue(session, now, accept_timeout, channel, result)
    result.to_dispatch += [r[0] for r in await _ids(session, """
        SELECT id FROM service_request WHERE status = 'SUBMITTED' AND escalation_level = 0
          AND updated_at < :stale ORDER BY updated_at LIMIT :batch""", stale=now - stale_after)]
    result.to_send = [r[0] for r in await _ids(session, """
        SELECT id FROM outbound_message WHERE status = 'PENDING' AND next_attempt_at <= :now
        ORDER BY next_attempt_at LIMIT :batch""", now=now)]
    return result
