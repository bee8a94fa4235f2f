"""Dispatch policy: who gets a request, and the texts people receive (Chinese, for phones)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain import templates

#: Time limits (规定时限) per service category, in hours (DUE_HOURS overrides some; README).
DEFAULT_DUE_HOURS: dict[str, int] = {
    "EMERGENCY": 4,
    "ASSISTANCE": 24,
    "CONSULTATION": 48,
    "MEDIATION": 72,
    "MAINTENANCE": 72,
    "CULTURE": 168,
}

CATEGORY_NAMES = templates.CATEGORY_NAMES

#: For each request, the ACTIVE members of its group who have the skill and have not declined
#: it or let it time out, with what ranks them: open load, distance from their home building,
#: and when they were last handed a request (DISPATCHED or ASSIGNED).
_CANDIDATES = text("""
WITH req AS (
  SELECT id, group_id, category, location FROM service_request
  WHERE id = ANY(:ids) AND group_id IS NOT NULL),
cand AS (
  SELECT m.id, m.phone, m.group_id, m.skills, home.location AS home
  FROM member m LEFT JOIN building home ON home.id = m.building_id
  WHERE m.group_id IN (SELECT group_id FROM req) AND m.status = 'ACTIVE'),
busy AS (
  SELECT c.id,
    (SELECT count(*) FROM service_request open WHERE open.assignee_id = c.id
      AND open.status IN ('DISPATCHED', 'ACCEPTED', 'IN_PROGRESS')) AS open_load,
    (SELECT max(e.at) FROM request_event e WHERE e.member_id = c.id
      AND e.kind IN ('DISPATCHED', 'ASSIGNED')) AS last_handed
  FROM cand c)
SELECT req.id AS request_id, c.id AS member_id, c.phone, busy.open_load, busy.last_handed,
       ST_Distance(c.home::geography, req.location::geography) AS distance
FROM req JOIN cand c ON c.group_id = req.group_id AND c.skills @> ARRAY[req.category]::text[]
JOIN busy ON busy.id = c.id
WHERE NOT EXISTS (SELECT 1 FROM request_event e WHERE e.request_id = req.id
                  AND e.member_id = c.id AND e.kind IN ('DECLINED', 'ACCEPT_TIMEOUT'))""")

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """A member who may take a request, and what ranks them for it."""

    request_id: int
    member_id: int
    phone: str | None
    open_load: int
    distance: float | None
    last_handed: datetime | None


async def candidates(session: AsyncSession, request_ids: Sequence[int]) -> list[Candidate]:
    """Every (request, member) pair that may be dispatched, for many requests at once."""
    rows = await session.execute(_CANDIDATES, {"ids": list(request_ids)})
    return [Candidate(int(r.request_id), int(r.member_id), r.phone, int(r.open_load),
                      r.distance, r.last_handed) for r in rows]


def choose(order: Sequence[int], options: Iterable[Candidate],
           now: datetime) -> dict[int, Candidate]:
    """The member for each request, taking the requests in `order` as if one after the
    other: least open load first, then nearest home building (unknown last), then longest
    since their last assignment (never assigned first), then lowest id. A member picked for
    one request carries that load and that moment into the next. Requests with no candidate
    are missing from the result (their group is exhausted)."""
    by_request: dict[int, list[Candidate]] = defaultdict(list)
    for option in options:
        by_request[option.request_id].append(option)
    extra: Counter[int] = Counter()
    handed: dict[int, datetime] = {}

    def rank(c: Candidate) -> tuple[int, bool, float, bool, datetime, int]:
        last = handed.get(c.member_id, c.last_handed)
        return (c.open_load + extra[c.member_id], c.distance is None, c.distance or 0.0,
                last is not None, last or _NEVER, c.member_id)

    picks = {}
    for request_id in order:
        if by_request.get(request_id):
            best = picks[request_id] = min(by_request[request_id], key=rank)
            extra[best.member_id] += 1
            handed[best.member_id] = now
    return picks


def due_at(category: str, submitted: datetime, due_hours: dict[str, int]) -> datetime:
    """The time limit (规定时限) of a category, from the settings' table of hours."""
    return submitted + timedelta(hours=due_hours[category])


def dispatch_notice(number: str, category: str, address: str | None, minutes: int) -> str:
    """What a member reads when a request is dispatched to them (domain.templates)."""
    return templates.render("DISPATCH_NOTICE", number=number,
                            category=templates.category_name(category),
                            where=f"，地点：{address}" if address else "", minutes=minutes)


def escalation_notice(number: str, category: str, level: int, reason: str) -> str:
    """What grid workers (level 1) or community administrators (level 2) read."""
    return templates.render("ESCALATION_NOTICE", number=number,
                            category=templates.category_name(category),
                            level=templates.LEVEL_NAMES[level], reason=reason)
