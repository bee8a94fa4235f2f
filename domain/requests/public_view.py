"""What a resident sees of their own request through its tracking code: the request as
they wrote it, where it stands, its timeline in plain words (受理, 派单, 接单, 办结...), who
is responsible as a group name and a role, and the survey while it is open. Never a
member's name or phone, nor any note but those meant for the resident (why the assignee
waits on them, and their own reply).

Also the resident's own changes by tracking code: stopping notices (`stop_notices`); the
reply that resumes a waiting request is domain.requests.waiting.resident_reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.requests.state import record_event
from domain.templates import LEVEL_NAMES, ROLE_NAMES, STEP_WORDS

#: Events whose note the resident reads (the others' notes are for staff).
PUBLIC_NOTES = frozenset({"WAITING_RESIDENT", "RESIDENT_REPLIED"})
#: Which of an assignee's roles names them, first found first.
ROLE_ORDER = ("STEWARD", "GROUP_LEADER", "GRID_WORKER", "VOLUNTEER")
#: How the view names an assignee with none of these roles.
DEFAULT_ROLE = "服务人员"


@dataclass(frozen=True)
class Step:
    """One entry of the public timeline."""

    at: datetime
    kind: str
    word: str
    note: str | None


@dataclass(frozen=True)
class PublicView:
    """A request as its resident may see it."""

    number: str
    category: str
    status: str
    description: str
    submitted_at: datetime
    due_at: datetime
    group_name: str | None
    assignee_role: str | None
    steps: list[Step]
    survey_token: str | None
    waiting_reason: str | None
    notify: bool


_REQUEST = text("""
    SELECT r.number, r.category, r.status, r.description, r.submitted_at, r.due_at, r.notify,
           g.name AS group_name, m.roles AS assignee_roles,
           (SELECT first.survey_token FROM survey s
              JOIN outbound_message first ON first.dedupe_key = 'SURVEY:' || s.id
            WHERE s.request_id = r.id AND s.status = 'SENT' AND s.expires_at > :now)
             AS survey_token
    FROM service_request r
    LEFT JOIN building_group g ON g.id = r.group_id
    LEFT JOIN member m ON m.id = r.assignee_id
    WHERE r.id = :id""")
_EVENTS = text("""
    SELECT at, kind, note FROM request_event WHERE request_id = :id AND kind = ANY(:kinds)
    ORDER BY id""")
_LEVEL = re.compile(r"^level (\d)")


def _role(roles: list[str] | None) -> str | None:
    if roles is None:
        return None
    return next((ROLE_NAMES[r] for r in ROLE_ORDER if r in roles), DEFAULT_ROLE)


def _note(kind: str, note: str | None) -> str | None:
    if kind in PUBLIC_NOTES:
        return note
    if kind == "ESCALATED" and note and (found := _LEVEL.match(note)):
        return f"已上报至{LEVEL_NAMES[int(found.group(1))]}"
    return None


async def public_view(session: AsyncSession, request_id: int, now: datetime) -> PublicView:
    """The resident's view of a request (found by domain.requests.tracking.find_tracked)."""
    row = (await session.execute(_REQUEST, {"id": request_id, "now": now})).one()
    events = (await session.execute(_EVENTS, {"id": request_id,
                                              "kinds": list(STEP_WORDS)})).all()
    steps = [Step(e.at, e.kind, STEP_WORDS[e.kind], _note(e.kind, e.note)) for e in events]
    waiting = next((s.note for s in reversed(steps) if s.kind == "WAITING_RESIDENT"), None)
    return PublicView(
        number=row.number, category=row.category, status=row.status,
        description=row.description, submitted_at=row.submitted_at, due_at=row.due_at,
        group_name=row.group_name, assignee_role=_role(row.assignee_roles), steps=steps,
        survey_token=row.survey_token, notify=bool(row.notify),
        waiting_reason=waiting if row.status == "WAITING_RESIDENT" else None)


async def stop_notices(session: AsyncSession, *, request_id: int, now: datetime) -> bool:
    """The resident stops the notices of their request (the link in every message); whether
    they were on. The confirmation and the survey are not notices."""
    changed = (await session.execute(text("""
        UPDATE service_request SET notify = false WHERE id = :id AND notify
        RETURNING id"""), {"id": request_id})).first()
    if changed is not None:
        await record_event(session, request_id=request_id, kind="NOTICES_STOPPED", now=now,
                           actor="resident")
    return changed is not None
