"""Dispatch (楼栋党小组派单) and escalation (group → grid → community).

`dispatch_batch` is what the dispatch actor runs: safe to run twice or at once (it locks the
requests with SKIP LOCKED and acts only on those SUBMITTED at level 0), and its writes
(statuses, events, notices) commit together or not at all. A burst is dispatched in batches:
the actor for one request takes up to BATCH other waiting requests with it, and the members
are chosen for the batch as if one request after the other (`policy.choose`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.requests.notices import ESCALATED, notify_resident
from domain.requests.outbox import Message, write_message
from domain.requests.policy import (
    CANDIDATES_AFTER_REQ,
    Candidate,
    choose,
    dispatch_notice,
    escalation_notice,
)
from domain.requests.state import Notices, assign_many, record_event
from domain.templates import LEVEL_NAMES

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


#: How many waiting requests one dispatch transaction takes on beside those it was asked
#: for: a burst is dispatched in batches (a few statements per batch, not per request).
BATCH = 50

#: How long a member has to accept a request offered to them (ACCEPT_TIMEOUT_SECONDS).
ACCEPT_TIMEOUT = timedelta(minutes=30)

#: The batch, locked, with every candidate of each of its requests, in one statement: the
#: requests asked for (`given`) and up to :limit others waiting, oldest first, each
#: SUBMITTED at level 0 and not locked by another dispatcher; a request whose group has no
#: candidate comes once, with no member.
_CLAIM = text(f"""
WITH given AS (
  SELECT id, number, category, address, group_id, location FROM service_request
  WHERE id = ANY(:ids) AND status = 'SUBMITTED' AND escalation_level = 0
  ORDER BY id FOR UPDATE SKIP LOCKED),
waiting AS (
  SELECT id, number, category, address, group_id, location FROM service_request
  WHERE status = 'SUBMITTED' AND escalation_level = 0 AND id <> ALL(:ids)
  ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED),
claimed AS (
  SELECT *, 0 AS part FROM given UNION ALL SELECT *, 1 AS part FROM waiting),
req AS (SELECT * FROM claimed WHERE group_id IS NOT NULL),
{CANDIDATES_AFTER_REQ}
SELECT claimed.id, claimed.number, claimed.category, claimed.address, pair.member_id,
       pair.phone, pair.open_load, pair.last_handed, pair.distance
FROM claimed LEFT JOIN pair ON pair.request_id = claimed.id
ORDER BY claimed.part, claimed.id""")


@dataclass(frozen=True)
class _Claimed:
    """A request of the batch: what its notice says."""

    id: int
    number: str
    category: str
    address: str | None


async def dispatch_batch(session: AsyncSession, *, request_ids: Sequence[int], now: datetime,
                         accept_timeout: timedelta, channel: str = "log",
                         extra: int = BATCH) -> dict[int, Outcome]:
    """Dispatch or escalate the given requests and up to `extra` more that are waiting
    (SUBMITTED at level 0, oldest first), in the caller's transaction; the outcome of each
    request acted on, by id. Requests not waiting, or locked by another dispatcher right
    now (who will act on them), are skipped: missing from the result. Two statements for
    the batch (claim with candidates; statuses, events and notices), and one escalation
    for each request its group cannot serve."""
    claimed, options = await _claim(session, request_ids, extra)
    if not claimed:
        return {}
    order = list(claimed)
    picks = choose(order, options, now)
    outcomes = await _dispatch_picked(session, list(claimed.values()), picks, now,
                                      accept_timeout, channel)
    for request_id in order:
        if request_id not in picks:
            raised = await escalate(session, request_id=request_id, now=now, to_level=1,
                                    reason="楼栋党小组无人可接", accept_timeout=accept_timeout,
                                    channel=channel)
            outcomes[request_id] = Outcome("ESCALATED", level=raised.level,
                                           message_ids=raised.message_ids)
    return outcomes


async def _claim(session: AsyncSession, request_ids: Sequence[int],
                 extra: int) -> tuple[dict[int, _Claimed], list[Candidate]]:
    """The batch in order (given first, then the waiting, each by id) and its candidates."""
    rows = await session.execute(_CLAIM, {"ids": list(request_ids), "limit": max(0, extra)})
    claimed: dict[int, _Claimed] = {}
    options = []
    for r in rows:
        if r.id not in claimed:
            claimed[r.id] = _Claimed(int(r.id), r.number, r.category, r.address)
        if r.member_id is not None:
            options.append(Candidate(int(r.id), int(r.member_id), r.phone, int(r.open_load),
                                     r.distance, r.last_handed))
    return claimed, options


async def _dispatch_picked(session: AsyncSession, claimed: Sequence[_Claimed],
                           picks: dict[int, Candidate], now: datetime,
                           accept_timeout: timedelta, channel: str) -> dict[int, Outcome]:
    """Hand each picked request to its member, with a DISPATCH_NOTICE each (one
    statement)."""
    minutes = max(1, int(accept_timeout.total_seconds() // 60))
    texts = {row.id: (picks[row.id].phone or f"member:{picks[row.id].member_id}",
                      dispatch_notice(row.number, row.category, row.address, minutes))
             for row in claimed if row.id in picks}
    changed = await assign_many(
        session, action="dispatch", now=now, actor=DISPATCHER,
        picks=[(request_id, pick.member_id) for request_id, pick in picks.items()],
        changes={"dispatched_at": now, "accept_deadline": now + accept_timeout},
        notices=Notices("DISPATCH_NOTICE", channel, texts))
    return {request_id: Outcome("DISPATCHED", member_id=picks[request_id].member_id,
                                message_ids=_ids(change.message_id))
            for request_id, change in changed.items()}


def _ids(message_id: int | None) -> tuple[int, ...]:
    return () if message_id is None else (message_id,)


_ESCALATE = text("""
    UPDATE service_request SET escalation_level = GREATEST(escalation_level, :level),
        accept_deadline = :deadline, overdue = overdue OR :overdue, updated_at = :now
    WHERE id = :id RETURNING number, category, escalation_level, community_id""")


async def escalate(session: AsyncSession, *, request_id: int, now: datetime, to_level: int,
                   reason: str, accept_timeout: timedelta, channel: str = "log",
                   overdue: bool = False) -> Escalation:
    """Raise a request to `to_level` (1 grid, 2 community), notify who serves there (and the
    resident, the first time: REQUEST_ESCALATED), and return the level reached (a grid with
    no active grid worker goes straight to 2) with the notices written. At level 1 the grid
    workers have `accept_timeout` to take it before it rises to the community, where
    administrators assign it by hand."""
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
    resident = await notify_resident(session, request_id=request_id, kind=ESCALATED,
                                     channel=channel,
                                     level=LEVEL_NAMES[int(row.escalation_level)])
    written += [] if resident is None else [resident]
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
