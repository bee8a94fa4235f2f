"""Which assessment snapshots to compute, and when: the running month and quarter are
refreshed as they go, and a period that has ended is computed once more after its end, so the
snapshot it keeps is final (nothing that happens later counts towards it).

Periods are calendar months and quarters in China Standard Time (domain.calendar), as
domain.surveys.assessment counts them. A
period nobody asked for is not computed here: `list_assessments` does that on its first read,
which after the period's end is final at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.calendar import ZONE
from domain.infra.db import transaction
from domain.surveys.assessment import assess_period, period_bounds


def running_periods(now: datetime) -> list[str]:
    """The month and the quarter `now` falls in, e.g. ["2026-11", "2026-Q4"]."""
    at = now.astimezone(ZONE)
    return [f"{at.year}-{at.month:02d}", f"{at.year}-Q{(at.month - 1) // 3 + 1}"]


async def unfinished_periods(session: AsyncSession, *, now: datetime) -> list[str]:
    """Periods ended by `now` whose stored snapshot was computed before their end."""
    rows = await session.execute(text(
        "SELECT period, max(computed_at) FROM member_assessment GROUP BY period"))
    return sorted(period for period, computed_at in rows
                  if computed_at < period_bounds(period)[1] <= now)


async def refresh_snapshots(sessions: async_sessionmaker[AsyncSession], *,
                            now: datetime) -> dict[str, int]:
    """Finish every ended period whose snapshot predates its end, then assess the running
    month and quarter, each in a transaction of its own; returns the members assessed per
    period."""
    async with sessions() as session:
        periods = await unfinished_periods(session, now=now) + running_periods(now)
    assessed: dict[str, int] = {}
    for period in periods:
        async with transaction(sessions) as session:
            assessed[period] = await assess_period(session, period=period, now=now)
    return assessed
