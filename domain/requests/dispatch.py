"""Dispatch (楼栋党小组派单) and escalation (group → grid → community).

`dispatch_request` is what the dispatch actor runs: safe to run twice or at once (it locks the
request and acts only on a SUBMITTED request at level 0), and its writes (status, event,
notice) commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.requests.outbox import Message, write_message
from domain.requests.policy import dispatch_notice, escalation_notice, pick_candidate
from domain.requests.state import record_event, transition

DISPATCHER = "dispatcher"


@dataclass(frozen=True)
class Outcome:
    """What a dispatch attempt did: DISPATCHED, ESCALATED or NOOP, to whom, and the ids of
    the notices it wrote (for the caller to hand to the sender after commit)."""

    action: str
    member_id: int | None = None
    level: int | None = None
    message_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Escalation:
    """The level a request reached and the ids of the notices written for it."""

    level: int
    message_ids: tuple[int, ...] = ()


_LOCK = text("""
    SELECT id, number, category, address, status, escalation_level, group_id, location
    FROM service_request WHERE id = :id FOR UPDATE""")


async def dispatch_request(session: AsyncSession, *, request_id: int, now: datetime,
                           accept_timeout: timedelta, channel: str = "log") -> Outcome:
    """Offer a SUBMITTED request to the best member of its group, or escalate it."""
    row = (await session.execute(_LOCK, {"id": request_id})).first()
    if row is None or row.status != "SUBMITTED" or row.escalation_level != 0:
        return Outcome("NOOP")
    picked = None
    if row.group_id is not None:
        picked = await pick_candidate(session, request_id=request_id, group_id=row.group_id,
                                      category=row.category, location=row.location)
    if picked is None:
        raised = await escalate(session, request_id=request_id, now=now, to_level=1,
                                reason="楼栋党小组无人可接", accept_timeout=accept_timeout,
                                channel=channel)
        return Outcome("ESCALATED", level=raised.level, message_ids=raised.message_ids)
    member_id, phone = picked
    changed = await transition(
        session, request_id=request_id, action="dispatch", now=now, actor=DISPATCHER,
        member_id=member_id, changes={"assignee_id": member_id, "dispatched_at": now,
                                      "accept_deadline": now + accept_timeout})
    minutes = max(1, int(accept_timeout.total_seconds() // 60))
    message_id = await write_message(session, Message(
        recipient=phone or f"member:{member_id}", kind="DISPATCH_NOTICE",
        body=dispatch_notice(row.number, row.category, row.address, minutes),
        dedupe_key=f"DISPATCH_NOTICE:{changed.event_id}", request_id=request_id,
        member_id=member_id, channel=channel))
    return Outcome("DISPATCHED", member_id=member_id,
                   message_ids=() if message_id is None else (message_id,))


_ESCALATE = text("""
    UPDATE service_request SET escalation_level = GREATEST(escalation_level, :level),
        accept_deadline = :deadline, overdue = overdue OR :overdue, updated_at = :now
    WHERE id = :id RETURNING number, category, escalation_level, community_id""")


async def escalate(session: AsyncSession, *, request_id: int, now: datetime, to_level: int,
                   reason: str, accept_timeout: timedelta, channel: str = "log",
                   overdue: bool = False) -> Escalation:
    """Raise a request to `to_level` (1 grid, 2 community), notify who serves there, and
    return the level reached (a grid with no active grid worker goes straight to 2) with the
    notices written. At level 1 the grid workers have `accept_timeout` to take it before it
    rises to the community, where administrators assign it by hand."""
    if to_level == 1 and not await _grid_workers(session, request_id):
        to_level = 2
    row = (await session.execute(_ESCALATE, {
        "id": request_id, "level": to_level,
        "deadline": now + accept_timeout if to_level == 1 else None,
        "overdue": overdue, "now": now})).one()
    event_id = await record_event(session, request_id=request_id, kind="ESCALATED", now=now,
                                  actor=DISPATCHER, note=f"level {row.escalation_level}: {reason}")
    body = escalation_notice(row.number, row.category, row.escalation_level, reason)
    written = []
    for recipient, member_id in await _recipients(session, request_id, row.escalation_level):
        message_id = await write_message(session, Message(
            recipient=recipient, kind="ESCALATION_NOTICE", body=body, request_id=request_id,
            member_id=member_id, channel=channel,
            dedupe_key=f"ESCALATION_NOTICE:{event_id}:{recipient}"))
        if message_id is not None:
            written.append(message_id)
    return Escalation(int(row.escalation_level), tuple(written))


async def _grid_workers(session: AsyncSession, request_id: int) -> list[tuple[str, int]]:
    rows = await session.execute(text("""
        SELECT COALESCE(m.phone, 'member:' || m.id) AS recipient, m.id
        FROM service_request r JOIN grid_worker gw ON gw.grid_id = r.grid_id
        JOIN member m ON m.id = gw.member_id AND m.status = 'ACTIVE'
        WHERE r.id = :id ORDER BY m.id"""), {"id": request_id})
    return [(r.recipient, r.id) for r in rows]


async def _recipients(session: AsyncSession, request_id: int,
                      level: int) -> list[tuple[str, int | None]]:
    if level == 1:
        return list(await _grid_workers(session, request_id))
    code = (await session.execute(text("""
        SELECT COALESCE(c.code, 'unknown') FROM service_request r
        LEFT JOIN community c ON c.id = r.community_id WHERE r.id = :id"""),
        {"id": request_id})).scalar_one()
    return [(f"admins:{code}", None)]
