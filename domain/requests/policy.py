"""Dispatch policy: who gets a request, and the texts people receive (Chinese, for phones)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain import templates
from domain.workdays import Due, Limit, Unit, WorkCalendar, due

#: Time limits (规定时限) per service category (DUE_LIMITS overrides some, DUE_HOURS makes
#: some round-the-clock hours; README): working days on China's calendar (domain.workdays),
#: EMERGENCY round the clock.
DEFAULT_DUE_LIMITS: dict[str, Limit] = {
    "EMERGENCY": Limit(4, Unit.HOURS),
    "ASSISTANCE": Limit(8, Unit.WORKING_HOURS),
    "CONSULTATION": Limit(2, Unit.WORKING_DAYS),
    "MEDIATION": Limit(3, Unit.WORKING_DAYS),
    "MAINTENANCE": Limit(3, Unit.WORKING_DAYS),
    "CULTURE": Limit(5, Unit.WORKING_DAYS),
}

#: The limits before working days, round the clock in hours (what DUE_HOURS entries mean).
DEFAULT_DUE_HOURS: dict[str, int] = {
    "EMERGENCY": 4,
    "ASSISTANCE": 24,
    "CONSULTATION": 48,
    "MEDIATION": 72,
    "MAINTENANCE": 72,
    "CULTURE": 168,
}

CATEGORY_NAMES = templates.CATEGORY_NAMES

#: For each request of `req` (id, group_id, category, location), the ACTIVE members of its
#: group who have the skill and have not declined it or let it time out, with what ranks
#: them: open load, distance from their home building, and when they were last handed a
#: request (DISPATCHED or ASSIGNED). Follows the CTE `req` (dispatch claims into it).
#: `busy` is MATERIALIZED: each candidate's load counted once, where an inlined `busy` was
#: counted again for every pair (138 pairs x 192 candidates in a batch of 50: 36-81 ms).
CANDIDATES_AFTER_REQ = """
cand AS (
  SELECT m.id, m.phone, m.group_id, m.skills, home.location AS home
  FROM member m LEFT JOIN building home ON home.id = m.building_id
  WHERE m.group_id IN (SELECT group_id FROM req) AND m.status = 'ACTIVE'),
busy AS MATERIALIZED (
  SELECT c.id,
    (SELECT count(*) FROM service_request open WHERE open.assignee_id = c.id
      AND open.status IN ('DISPATCHED', 'ACCEPTED', 'IN_PROGRESS', 'WAITING_RESIDENT'))
      AS open_load,
    (SELECT max(e.at) FROM request_event e WHERE e.member_id = c.id
      AND e.kind IN ('DISPATCHED', 'ASSIGNED')) AS last_handed
  FROM cand c),
pair AS (
  SELECT req.id AS request_id, c.id AS member_id, c.phone, busy.open_load, busy.last_handed,
         ST_Distance(c.home::geography, req.location::geography) AS distance
  FROM req JOIN cand c ON c.group_id = req.group_id
    AND c.skills @> ARRAY[req.category]::text[]
  JOIN busy ON busy.id = c.id
  WHERE NOT EXISTS (SELECT 1 FROM request_event e WHERE e.request_id = req.id
                    AND e.member_id = c.id AND e.kind IN ('DECLINED', 'ACCEPT_TIMEOUT')))"""

_CANDIDATES = text(f"""
WITH req AS (
  SELECT id, group_id, category, location FROM service_request
  WHERE id = ANY(:ids) AND group_id IS NOT NULL),
{CANDIDATES_AFTER_REQ}
SELECT * FROM pair""")

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


def due_limits(limits: Mapping[str, Limit] | None = None,
               hours: Mapping[str, int] | None = None) -> dict[str, Limit]:
    """Each category's limit: the defaults, then `limits` (DUE_LIMITS), then `hours`
    (DUE_HOURS: round the clock)."""
    return {**DEFAULT_DUE_LIMITS, **(limits or {}),
            **{c: Limit(h, Unit.HOURS) for c, h in (hours or {}).items()}}


def due_at(category: str, submitted: datetime, limits: Mapping[str, Limit],
           calendar: WorkCalendar | None = None) -> Due:
    """The time limit (规定时限) of a request of `category` submitted at `submitted`, on
    the community's working calendar."""
    return due(limits[category], submitted, calendar or WorkCalendar())


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
