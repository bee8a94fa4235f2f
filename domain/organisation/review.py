"""Review (优者上、庸者下、劣者汰): members rated POOR two periods running.

Reads the stored assessment snapshots (domain.surveys.assessment; `assessments(period:)` or
the periodic job stores them) of a period and the one before it, of the same kind: 2026-11
and 2026-10, 2026-Q1 and 2025-Q4. Only members who are ACTIVE or SUSPENDED and within the
caller's territories are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.surveys.assessment import period_bounds
from domain.visibility import Kind, condition, visible_params

_REVIEW = """
    SELECT m.id AS member_id, a.score AS score, p.score AS previous_score
    FROM member_assessment a
    JOIN member_assessment p ON p.member_id = a.member_id AND p.period = :previous
    JOIN member m ON m.id = a.member_id
    WHERE a.period = :period AND a.tier = 'POOR' AND p.tier = 'POOR'
      AND m.status IN ('ACTIVE', 'SUSPENDED')
      AND (CAST(:community AS integer) IS NULL OR a.community_id = :community)
      AND {visible}
    ORDER BY a.score NULLS FIRST, m.id"""


@dataclass(frozen=True)
class ReviewCase:
    """A member rated POOR in `period` and the period before, with both scores."""

    member_id: int
    period: str
    previous_period: str
    score: float | None
    previous_score: float | None


def previous_period(period: str, field: str = "period") -> str:
    """The period before a month or quarter (INVALID_PERIOD naming `field` if malformed)."""
    period_bounds(period, field)
    year, _, part = period.strip().partition("-")
    if part.startswith("Q"):
        quarter = int(part[1:])
        return f"{int(year) - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    month = int(part)
    return f"{int(year) - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


async def members_for_review(session: AsyncSession, *, viewer: Viewer, period: str,
                             community_id: int | None = None) -> list[ReviewCase]:
    """Members rated POOR in `period` and the one before, lowest score first."""
    before = previous_period(period)
    sql = text(_REVIEW.format(visible=condition(viewer, Kind.ASSESSMENT, "a")))
    rows = await session.execute(sql, {
        "period": period.strip(), "previous": before, "community": community_id,
        **visible_params(viewer)})
    return [ReviewCase(int(r.member_id), period.strip(), before, r.score, r.previous_score)
            for r in rows]
