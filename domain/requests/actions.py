"""What people do with a request: accept, decline, start, complete, cancel, assign by hand
(waiting on the resident: domain.requests.waiting).

Each checks who is asking (domain.access.Viewer), then goes through the state machine, so a
wrong state or a wrong person is a UserError and nothing changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput
from domain.people.audit import actor_of, record
from domain.requests.notices import ACCEPTED, CANCELLED, COMPLETED, notify_resident
from domain.requests.outbox import DEFAULT_CHANNEL, Message, write_message
from domain.requests.policy import dispatch_notice
from domain.requests.state import Changed, checked_text, timeline_actor, transition

MAX_TEXT = 4000




def _may_manage(viewer: Viewer, row: Row[Any]) -> bool:
    """Assign or cancel: staff administering the request's community, or a grid worker of
    its grid (domain.access.Viewer.administers; the rows themselves: domain.visibility)."""
    return viewer.administers(row.community_id) or row.grid_id in viewer.grid_ids


def _member(viewer: Viewer) -> int:
    if viewer.member_id is None:
        raise InvalidInput.one("FORBIDDEN", "only a member can do this", "id")
    return viewer.member_id




async def _request(session: AsyncSession, request_id: int) -> Row[Any]:
    row = (await session.execute(text("""
        SELECT id, number, category, address, status, escalation_level, grid_id, group_id,
               community_id, assignee_id FROM service_request WHERE id = :id"""),
        {"id": request_id})).first()
    if row is None:
        raise InvalidInput.one("NOT_FOUND", "no service request has this id", "id")
    return row


async def accept_request(session: AsyncSession, *, request_id: int, viewer: Viewer,
                         now: datetime, channel: str = DEFAULT_CHANNEL) -> Changed:
    """The assignee accepts; at grid level (1) any grid worker of the grid may take it:
    the first to accept wins, the others get INVALID_TRANSITION. The resident hears of it
    (REQUEST_ACCEPTED, once)."""
    member_id = _member(viewer)
    row = await _request(session, request_id)
    if row.status == "SUBMITTED" and row.escalation_level >= 1 and row.grid_id in viewer.grid_ids:
        changed = await transition(session, request_id=request_id, action="take", now=now,
                                   actor=timeline_actor(viewer), member_id=member_id,
                                   changes={"assignee_id": member_id, "accept_deadline": None})
    else:
        changed = await transition(session, request_id=request_id, action="accept", now=now,
                                   actor=timeline_actor(viewer), member_id=member_id,
                                   assignee=member_id, changes={"accept_deadline": None})
    await notify_resident(session, request_id=request_id, kind=ACCEPTED, channel=channel)
    return changed


async def decline_request(session: AsyncSession, *, request_id: int, viewer: Viewer,
                          reason: str, now: datetime) -> Changed:
    """The assignee declines with a reason; the request goes back to dispatching and will
    never be offered to them again."""
    member_id = _member(viewer)
    note = checked_text(reason, "reason", MAX_TEXT)
    return await transition(session, request_id=request_id, action="decline", now=now,
                            actor=timeline_actor(viewer), member_id=member_id, assignee=member_id,
                            note=note, changes={"assignee_id": None, "accept_deadline": None})


async def start_request(session: AsyncSession, *, request_id: int, viewer: Viewer,
                        now: datetime) -> Changed:
    """The assignee starts the service."""
    member_id = _member(viewer)
    return await transition(session, request_id=request_id, action="start", now=now,
                            actor=timeline_actor(viewer), member_id=member_id, assignee=member_id)


async def complete_request(session: AsyncSession, *, request_id: int, viewer: Viewer,
                           resolution: str, now: datetime,
                           channel: str = DEFAULT_CHANNEL) -> Changed:
    """The assignee completes the service, saying what was done (the ticket's third part);
    the resident hears of it (REQUEST_COMPLETED, once)."""
    member_id = _member(viewer)
    done = checked_text(resolution, "resolution", MAX_TEXT)
    changed = await transition(session, request_id=request_id, action="complete", now=now,
                               actor=timeline_actor(viewer), member_id=member_id,
                               assignee=member_id, note=done,
                               changes={"resolution": done, "completed_at": now})
    await notify_resident(session, request_id=request_id, kind=COMPLETED, channel=channel)
    return changed


async def cancel_request(session: AsyncSession, *, request_id: int, viewer: Viewer,
                         reason: str, now: datetime, channel: str = DEFAULT_CHANNEL) -> Changed:
    """An administrator, or a grid worker of the request's grid, cancels an open request;
    the resident reads the reason (REQUEST_CANCELLED)."""
    note = checked_text(reason, "reason", MAX_TEXT)
    row = await _request(session, request_id)
    if not _may_manage(viewer, row):
        raise InvalidInput.one("FORBIDDEN", "only administrators of its community and the "
                               "grid's grid workers may cancel a request", "id")
    changed = await transition(session, request_id=request_id, action="cancel", now=now,
                               actor=timeline_actor(viewer), note=note,
                               changes={"accept_deadline": None})
    await _audit(session, viewer, "REQUEST_CANCELLED", row, changed,
                 {"reason": note, "assignee": row.assignee_id})
    await notify_resident(session, request_id=request_id, kind=CANCELLED, channel=channel,
                          reason=note)
    return changed


async def _audit(session: AsyncSession, viewer: Viewer, action: str, row: Row[Any],
                 changed: Changed, after: dict[str, Any]) -> None:
    """The audit entry of a staff or grid worker's change of a request: before and after."""
    await record(session, actor=actor_of(viewer), action=action,
                 subject=("ServiceRequest", int(row.id)), community_id=row.community_id,
                 detail={"number": row.number,
                         "before": {"status": changed.from_status, "assignee": row.assignee_id},
                         "after": {"status": changed.to_status, **after}})


async def assign_request(session: AsyncSession, *, request_id: int, member_id: int,
                         viewer: Viewer, now: datetime, accept_timeout: timedelta,
                         channel: str = "log") -> Changed:
    """An administrator or a grid worker of the grid hands the request to a member of its
    group or grid, who must be ACTIVE; they get a DISPATCH_NOTICE."""
    row = await _request(session, request_id)
    if not _may_manage(viewer, row):
        raise InvalidInput.one("FORBIDDEN", "only administrators of its community and the "
                               "grid's grid workers may assign a request", "id")
    phone = await _assignable(session, request_id, member_id)
    changed = await transition(
        session, request_id=request_id, action="assign", now=now, actor=timeline_actor(viewer),
        member_id=member_id, changes={"assignee_id": member_id, "dispatched_at": now,
                                      "accept_deadline": now + accept_timeout})
    await _audit(session, viewer, "REQUEST_ASSIGNED", row, changed, {"assignee": member_id})
    minutes = max(1, int(accept_timeout.total_seconds() // 60))
    await write_message(session, Message(
        recipient=phone or f"member:{member_id}", kind="DISPATCH_NOTICE",
        body=dispatch_notice(row.number, row.category, row.address, minutes),
        dedupe_key=f"DISPATCH_NOTICE:{changed.event_id}", request_id=request_id,
        member_id=member_id, channel=channel))
    return changed


async def _assignable(session: AsyncSession, request_id: int, member_id: int) -> str | None:
    member = (await session.execute(text("""
        SELECT m.status, m.phone,
               (m.group_id = r.group_id
                OR EXISTS (SELECT 1 FROM building_group g WHERE g.id = m.group_id
                           AND g.grid_id = r.grid_id)
                OR EXISTS (SELECT 1 FROM grid_worker gw WHERE gw.member_id = m.id
                           AND gw.grid_id = r.grid_id)) AS belongs
        FROM member m, service_request r WHERE m.id = :member AND r.id = :request"""),
        {"member": member_id, "request": request_id})).first()
    if member is None:
        raise InvalidInput.one("NOT_FOUND", "no member has this id", "memberId")
    if member.status != "ACTIVE":
        raise InvalidInput.one("INACTIVE_MEMBER", f"the member is {member.status}, not ACTIVE",
                               "memberId")
    if not member.belongs:
        raise InvalidInput.one("OUTSIDE_SCOPE", "the member is neither in the request's "
                               "building group nor in its grid", "memberId")
    return member.phone
