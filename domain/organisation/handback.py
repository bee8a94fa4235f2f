"""Handing a member's open requests back to dispatch (when they are suspended or exit).

Every request they hold (DISPATCHED, ACCEPTED or IN_PROGRESS; one WAITING_RESIDENT first has
its clock started again, the pause added to its due time) goes back to SUBMITTED at group
level with a HANDED_BACK event naming them, and is dispatched again at once in the same
transaction: the next candidate of its group is offered it (or it escalates to the grid), as
domain.requests.dispatch does for a new request. The member, no longer ACTIVE, is never a
candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.requests.dispatch import dispatch_batch
from domain.requests.waiting import resume_all_of_member
from domain.workdays import Limit

_HAND_BACK = text("""
    WITH held AS (
      SELECT id, status FROM service_request
      WHERE assignee_id = :member AND status IN ('DISPATCHED', 'ACCEPTED', 'IN_PROGRESS')
      ORDER BY id FOR UPDATE),
    changed AS (
      UPDATE service_request r SET status = 'SUBMITTED', assignee_id = NULL,
             accept_deadline = NULL, escalation_level = 0, updated_at = :now
      FROM held WHERE r.id = held.id RETURNING r.id, held.status AS from_status),
    event AS (
      INSERT INTO request_event (request_id, at, kind, from_status, to_status, actor,
                                 member_id, note)
      SELECT id, :now, 'HANDED_BACK', from_status, 'SUBMITTED', :actor, :member, :note
      FROM changed RETURNING request_id)
    SELECT request_id FROM event ORDER BY request_id""")


async def hand_back_requests(session: AsyncSession, *, member_id: int, now: datetime,
                             actor: str, note: str, accept_timeout: timedelta,
                             channel: str, limits: Mapping[str, Limit]
                             ) -> tuple[list[int], list[int]]:
    """Hand back and re-dispatch the member's open requests; (their ids, the ids of the
    notices written, for the sender after commit)."""
    await resume_all_of_member(session, member_id=member_id, now=now, actor=actor,
                               limits=limits)
    ids = [int(r) for r in (await session.execute(_HAND_BACK, {
        "member": member_id, "now": now, "actor": actor, "note": note})).scalars()]
    if not ids:
        return [], []
    outcomes = await dispatch_batch(session, request_ids=ids, now=now,
                                    accept_timeout=accept_timeout, channel=channel, extra=0)
    return ids, [m for outcome in outcomes.values() for m in outcome.message_ids]
