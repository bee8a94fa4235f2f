"""Waiting on the resident: the assignee cannot go on without them (a question, access to
the flat), so the request's clock stops.

`wait_for_resident` (the assignee, from ACCEPTED or IN_PROGRESS, with a reason the resident
reads) sets WAITING_RESIDENT and remembers when and from where; the resident's reply through
the tracking view (`resident_reply`) or a staff action (`resume_request`) sends it back to
where it was and adds the time paused to `due_at` (domain.workdays.resumed_due: in office
hours for a working limit). The pause, the reply and the resumption are on the timeline;
the sweep's overdue escalation skips a waiting request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput
from domain.requests import notices
from domain.requests.outbox import DEFAULT_CHANNEL
from domain.requests.overrides import community_calendar
from domain.requests.state import Changed, checked_text, record_event, timeline_actor, transition
from domain.templates import local_time
from domain.workdays import Limit, resumed_due

MAX_TEXT = 1000






async def wait_for_resident(session: AsyncSession, *, request_id: int, viewer: Viewer,
                            reason: str, now: datetime,
                            channel: str = DEFAULT_CHANNEL) -> Changed:
    """The assignee stops the clock until the resident answers `reason` (which the
    resident reads in the tracking view and in a REQUEST_WAITING message)."""
    if viewer.member_id is None:
        raise InvalidInput.one("FORBIDDEN", "only the request's assignee can do this", "id")
    note = checked_text(reason, "reason", MAX_TEXT)
    changed = await transition(session, request_id=request_id, action="wait", now=now,
                               actor=timeline_actor(viewer), member_id=viewer.member_id,
                               assignee=viewer.member_id, note=note,
                               changes={"waiting_since": now})
    await session.execute(text(
        "UPDATE service_request SET waiting_from = :status WHERE id = :id"),
        {"status": changed.from_status, "id": request_id})
    await notices.notify_resident(session, request_id=request_id, kind=notices.WAITING,
                                  channel=channel, once_per=changed.event_id, reason=note)
    return changed


_WAITING = text("""
    SELECT id, status, category, community_id, grid_id, assignee_id, due_at, due_fallback,
           waiting_since, waiting_from FROM service_request WHERE id = :id FOR UPDATE""")


async def _waiting(session: AsyncSession, request_id: int, field: str) -> Row[Any]:
    row = (await session.execute(_WAITING, {"id": request_id})).first()
    if row is None:
        raise InvalidInput.one("NOT_FOUND", "no service request has this id", field)
    if row.status != "WAITING_RESIDENT":
        raise InvalidInput.one("INVALID_TRANSITION", f"the request is {row.status}; resuming "
                               "needs it to be WAITING_RESIDENT", field)
    return row


async def _resume(session: AsyncSession, row: Row[Any], *, now: datetime, actor: str,
                  member_id: int | None, limits: Mapping[str, Limit], field: str) -> Changed:
    calendar = await community_calendar(session, row.community_id)
    new = resumed_due(limits[row.category], row.due_at, row.waiting_since, now, calendar,
                      row.due_fallback)
    paused = now - row.waiting_since
    note = (f"paused {int(paused.total_seconds() // 60)} min; "
            f"due {local_time(row.due_at)} → {local_time(new.at)}")
    return await transition(
        session, request_id=int(row.id), action=f"resume_{str(row.waiting_from).lower()}",
        now=now, actor=actor, member_id=member_id, note=note, field=field,
        changes={"waiting_since": None, "waiting_from": None, "due_at": new.at,
                 "due_fallback": new.fallback})


async def resume_request(session: AsyncSession, *, request_id: int, viewer: Viewer,
                         now: datetime, limits: Mapping[str, Limit]) -> Changed:
    """Staff start the clock again: the assignee, staff of the request's community, or a grid
    worker of its grid (e.g. the resident answered on the phone)."""
    row = await _waiting(session, request_id, "id")
    if not (viewer.administers(row.community_id) or row.grid_id in viewer.grid_ids
            or (viewer.member_id is not None and viewer.member_id == row.assignee_id)):
        raise InvalidInput.one("FORBIDDEN", "only the assignee, administrators and the grid's "
                               "grid workers may resume a request", "id")
    return await _resume(session, row, now=now, actor=timeline_actor(viewer),
                         member_id=viewer.member_id, limits=limits, field="id")


_WAITING_OF_MEMBER = text("""
    SELECT id, status, category, community_id, grid_id, assignee_id, due_at, due_fallback,
           waiting_since, waiting_from FROM service_request
    WHERE assignee_id = :member AND status = 'WAITING_RESIDENT' ORDER BY id FOR UPDATE""")


async def resume_all_of_member(session: AsyncSession, *, member_id: int, now: datetime,
                               actor: str, limits: Mapping[str, Limit]) -> list[int]:
    """Start the clock again on every request `member_id` holds WAITING_RESIDENT (they are
    being suspended or leave): each goes back to where it was, with the time paused added to
    `dueAt`, so that it can be handed back like any other they hold. Their ids."""
    rows = (await session.execute(_WAITING_OF_MEMBER, {"member": member_id})).all()
    for row in rows:
        await _resume(session, row, now=now, actor=actor, member_id=None, limits=limits,
                      field="id")
    return [int(row.id) for row in rows]


async def resident_reply(session: AsyncSession, *, request_id: int, message: str,
                         now: datetime, limits: Mapping[str, Limit]) -> Changed:
    """The resident answers through the tracking view: their words go on the timeline
    (RESIDENT_REPLIED) and the clock starts again."""
    note = checked_text(message, "message", MAX_TEXT)
    row = await _waiting(session, request_id, "number")
    await record_event(session, request_id=request_id, kind="RESIDENT_REPLIED", now=now,
                       actor="resident", note=note)
    return await _resume(session, row, now=now, actor="resident", member_id=None,
                         limits=limits, field="number")
