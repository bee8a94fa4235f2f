"""Member assessment per period: participation, effectiveness, satisfaction → score and tier.

The score (0..100) is documented so members can see how they are judged:
    score = 100 × (0.25 × participation + 0.35 × effectiveness + 0.40 × satisfaction)
- participation: services completed ÷ the most completed by any member of the community in
  the period (so the busiest member scores 1);
- effectiveness: share of completions on time (completed by the request's dueAt);
- satisfaction: CSAT of the surveys answered about their services (share scoring 4 or 5).
Tiers: EXCELLENT ≥ 85, GOOD ≥ 70, ADEQUATE ≥ 50, POOR below. Fewer than MIN_COMPLETED
completions or MIN_RESPONSES answered surveys give INSUFFICIENT_DATA, with no score or rank,
rather than a misleading number. Rank is within the community, 1 the best.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.calendar import ZONE
from domain.errors import InvalidInput
from domain.spatial.directory import Scope
from domain.surveys.models import LAST, MemberAssessment
from domain.visibility import Kind, visible_params, visible_sql

WEIGHTS = {"participation": 0.25, "effectiveness": 0.35, "satisfaction": 0.40}
TIERS = ((85.0, "EXCELLENT"), (70.0, "GOOD"), (50.0, "ADEQUATE"), (0.0, "POOR"))
MIN_COMPLETED = 3
MIN_RESPONSES = 2
_PERIOD = re.compile(r"([0-9]{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))")
#: The years a period may name: wide enough for any real assessment, and every bound of such
#: a period is a date Python and PostgreSQL both hold ("0000-01" and "9999-Q4" are not).
YEARS = range(1900, 3000)


def period_bounds(period: str, field: str = "period") -> tuple[datetime, datetime]:
    """[start, end) of a month ("2026-11") or a quarter ("2026-Q4") of the communities'
    calendar (China Standard Time: the month starts at 00:00 in Beijing, 16:00 UTC the day
    before)."""
    match = _PERIOD.fullmatch(period.strip())
    if match is None:
        raise InvalidInput.one("INVALID_PERIOD", "period must be a month like 2026-11 or a "
                               "quarter like 2026-Q4", field)
    year = int(match.group(1))
    if year not in YEARS:
        raise InvalidInput.one("INVALID_PERIOD", f"period year must be between {YEARS[0]} and "
                               f"{YEARS[-1]}", field)
    first = int(match.group(2)) if match.group(2) else (int(match.group(3)) - 1) * 3 + 1
    months = 1 if match.group(2) else 3
    end_month, end_year = first + months, year
    if end_month > 12:
        end_month, end_year = end_month - 12, year + 1
    return (datetime(year, first, 1, tzinfo=ZONE),
            datetime(end_year, end_month, 1, tzinfo=ZONE))


@dataclass(frozen=True, slots=True)
class Figures:
    """A member's raw figures for a period."""

    member_id: int
    community_id: int | None
    accepted: int
    completed: int
    on_time: int
    responses: int
    satisfied: int


_FIGURES = text("""
WITH members AS (
  SELECT m.id, COALESCE(g.community_id, hg.community_id) AS community_id FROM member m
  LEFT JOIN building_group bg ON bg.id = m.group_id LEFT JOIN grid g ON g.id = bg.grid_id
  LEFT JOIN building b ON b.id = m.building_id LEFT JOIN grid hg ON hg.id = b.grid_id
  WHERE m.status <> 'CANDIDATE'),
accepted AS (
  SELECT member_id, count(*) AS n FROM request_event
  WHERE kind = 'ACCEPTED' AND at >= :start AND at < :end GROUP BY member_id),
completions AS (
  SELECT DISTINCT ON (e.request_id) e.request_id, e.member_id, e.at, r.due_at
  FROM request_event e JOIN service_request r ON r.id = e.request_id
  WHERE e.kind = 'COMPLETED' ORDER BY e.request_id, e.at DESC),
completed AS (
  SELECT member_id, count(*) AS n, count(*) FILTER (WHERE at <= due_at) AS on_time
  FROM completions WHERE at >= :start AND at < :end GROUP BY member_id),
answered AS (
  SELECT c.member_id, count(*) AS n, count(*) FILTER (WHERE s.score >= 4) AS satisfied
  FROM survey s JOIN completions c ON c.request_id = s.request_id
  WHERE s.status = 'ANSWERED' AND s.answered_at >= :start AND s.answered_at < :end
  GROUP BY c.member_id)
SELECT m.id, m.community_id, COALESCE(a.n, 0) AS accepted, COALESCE(c.n, 0) AS completed,
       COALESCE(c.on_time, 0) AS on_time, COALESCE(s.n, 0) AS responses,
       COALESCE(s.satisfied, 0) AS satisfied
FROM members m LEFT JOIN accepted a ON a.member_id = m.id
LEFT JOIN completed c ON c.member_id = m.id LEFT JOIN answered s ON s.member_id = m.id
ORDER BY m.id""")


def score_of(figures: Figures, busiest: int) -> float | None:
    """The weighted score, or None when there is too little to judge."""
    if figures.completed < MIN_COMPLETED or figures.responses < MIN_RESPONSES:
        return None
    participation = figures.completed / busiest if busiest else 0.0
    effectiveness = figures.on_time / figures.completed
    satisfaction = figures.satisfied / figures.responses
    return round(100 * (WEIGHTS["participation"] * participation
                        + WEIGHTS["effectiveness"] * effectiveness
                        + WEIGHTS["satisfaction"] * satisfaction), 2)


def tier_of(score: float | None) -> str:
    """EXCELLENT / GOOD / ADEQUATE / POOR, or INSUFFICIENT_DATA without a score."""
    if score is None:
        return "INSUFFICIENT_DATA"
    return next(name for floor, name in TIERS if score >= floor)


def _ranks(scores: dict[int, tuple[int | None, float | None]]) -> dict[int, int]:
    """Rank within each community (1 the best; equal scores share a rank)."""
    ranks: dict[int, int] = {}
    by_community: dict[int | None, list[tuple[float, int]]] = {}
    for member_id, (community_id, score) in scores.items():
        if score is not None:
            by_community.setdefault(community_id, []).append((score, member_id))
    for entries in by_community.values():
        entries.sort(reverse=True)
        rank, previous = 0, None
        for position, (score, member_id) in enumerate(entries, 1):
            if score != previous:  # 1 + how many scored higher
                rank, previous = position, score
            ranks[member_id] = rank
    return ranks


async def assess_period(session: AsyncSession, *, period: str, now: datetime) -> int:
    """Compute and store (replacing) the snapshot of `period`; returns how many members.

    Writers of one period take turns (a transaction-level advisory lock): two at once, say the
    worker's refresh and a first read, would otherwise both insert and one would fail on the
    unique (period, member)."""
    start, end = period_bounds(period)
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                          {"key": f"member_assessment:{period.strip()}"})
    figures = [Figures(*row) for row in await session.execute(
        _FIGURES, {"start": start, "end": end})]
    busiest: dict[int | None, int] = {}
    for f in figures:
        busiest[f.community_id] = max(busiest.get(f.community_id, 0), f.completed)
    scores = {f.member_id: (f.community_id, score_of(f, busiest[f.community_id]))
              for f in figures}
    ranks = _ranks(scores)
    await session.execute(text("DELETE FROM member_assessment WHERE period = :p"),
                          {"p": period.strip()})
    for chunk in range(0, len(figures), INSERT_CHUNK):  # one statement a chunk, as arrays
        rows = [_row(period.strip(), f, scores[f.member_id][1], ranks.get(f.member_id), now)
                for f in figures[chunk:chunk + INSERT_CHUNK]]
        await session.execute(_INSERT, {"period": period.strip(), "now": now} | {
            name: [row[name] for row in rows] for name in _COLUMNS})
    return len(figures)


#: Rows a statement of the snapshot's insert (each column bound as an array): the
#: parameters of a whole city in one executemany (160,000 dictionaries, a statement a row)
#: were half the process's memory and most of its time.
INSERT_CHUNK = 5000
_COLUMNS = {"member_id": "integer", "community_id": "integer", "accepted": "integer",
            "completed": "integer", "on_time_rate": "float8", "responses": "integer",
            "csat": "float8", "score": "float8", "rank": "integer", "tier": "text"}
_INSERT = text(f"""
    INSERT INTO member_assessment (period, computed_at, {", ".join(_COLUMNS)})
    SELECT :period, :now, * FROM unnest({", ".join(
        f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMNS.items())})""")


def _row(period: str, f: Figures, score: float | None, rank: int | None,
         now: datetime) -> dict[str, object]:
    return {"period": period, "member_id": f.member_id, "community_id": f.community_id,
            "accepted": f.accepted, "completed": f.completed,
            "on_time_rate": round(f.on_time / f.completed, 4) if f.completed else None,
            "responses": f.responses,
            "csat": round(f.satisfied / f.responses, 4) if f.responses else None,
            "score": score, "rank": rank, "tier": tier_of(score), "now": now}


#: A period's order: community, then rank (the unranked last), then member; `:after` is the
#: member whose row the page starts after (member_assessment_page_idx follows this order).
_ORDER = f"COALESCE(a.community_id, {LAST}), COALESCE(a.rank, {LAST}), a.member_id"
_VISIBLE = f"""
SELECT a.* FROM member_assessment a JOIN member m ON m.id = a.member_id
LEFT JOIN building_group bg ON bg.id = m.group_id
WHERE a.period = :period
  AND {visible_sql(Kind.ASSESSMENT, "a")}
  AND (CAST(:member AS int) IS NULL OR m.id = :member)
  AND (CAST(:group AS int) IS NULL OR m.group_id = :group)
  AND (CAST(:grid AS int) IS NULL OR bg.grid_id = :grid)
  AND (CAST(:community AS int) IS NULL OR a.community_id = :community)
  AND (CAST(:after AS int) IS NULL OR ({_ORDER}) > (
       SELECT {_ORDER} FROM member_assessment a
       WHERE a.period = :period AND a.member_id = :after))
ORDER BY {_ORDER}
LIMIT :first"""


@dataclass(frozen=True)
class AssessmentPage:
    """Which page of a period's snapshot: at most `first` rows, after member `after`'s."""

    first: int = 500
    after: int | None = None


async def list_assessments(session: AsyncSession, *, period: str, viewer: Viewer, scope: Scope,
                           now: datetime,
                           page: AssessmentPage | None = None) -> list[MemberAssessment]:
    """One page of the stored snapshot of `period` as the caller may see it (ASSESSMENT:
    city-wide staff everything, staff of territories their communities', grid workers the
    members of their grids, members themselves), narrowed by
    `scope`, in the order community, rank, member, paged in SQL (a city's snapshot is
    160,000 rows and more). A period never assessed yet is assessed now and stored."""
    page = page or AssessmentPage()
    period_bounds(period)
    exists = await session.execute(text(
        "SELECT 1 FROM member_assessment WHERE period = :p LIMIT 1"), {"p": period.strip()})
    if exists.first() is None:
        await assess_period(session, period=period, now=now)
    rows = await session.execute(select(MemberAssessment).from_statement(text(_VISIBLE)), {
        "period": period.strip(), **visible_params(viewer), "member": scope.member_id,
        "group": scope.building_group_id, "grid": scope.grid_id,
        "community": scope.community_id, "after": page.after, "first": page.first})
    return list(rows.scalars())
