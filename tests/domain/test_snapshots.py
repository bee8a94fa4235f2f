"""Assessment snapshots over time: the running month and quarter are refreshed, an ended
period is computed once more after its end (its final figures) and then left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text

from domain.infra.db import transaction
from domain.surveys.assessment import assess_period
from domain.surveys.snapshots import refresh_snapshots, running_periods
from tests.requests_factory import community_with_stewards, completed_request

OCT_20 = datetime(2026, 10, 20, 9, tzinfo=UTC)
NOV_10 = datetime(2026, 11, 10, 9, tzinfo=UTC)
NOV_15 = datetime(2026, 11, 15, 9, tzinfo=UTC)
NOV_20 = datetime(2026, 11, 20, 9, tzinfo=UTC)
AFTER_NOV = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("now", "periods"), [
    (NOV_15, ["2026-11", "2026-Q4"]),
    (datetime(2027, 1, 1, tzinfo=UTC), ["2027-01", "2027-Q1"]),
    (datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC), ["2026-03", "2026-Q1"]),
    (datetime(2026, 3, 31, 16, tzinfo=UTC), ["2026-04", "2026-Q2"]),  # 00:00 in Beijing
    (datetime(2026, 12, 1, 2, tzinfo=timezone(timedelta(hours=8))), ["2026-12", "2026-Q4"]),
    (datetime(2026, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), ["2027-01", "2027-Q1"]),
])
def test_running_periods_are_counted_in_china_time(now: datetime, periods: list[str]) -> None:
    assert running_periods(now) == periods


async def _snapshot(sessions: Any, period: str) -> tuple[int, datetime]:
    """The steward's completions in the stored snapshot of `period`, and when it was made."""
    async with sessions() as session:
        row = (await session.execute(text(
            "SELECT completed, computed_at FROM member_assessment WHERE period = :p"),
            {"p": period})).one()
    return int(row.completed), row.computed_at


async def test_running_periods_are_refreshed_and_ended_ones_finished(sessions: Any) -> None:
    await community_with_stewards(sessions, 1)
    async with transaction(sessions) as session:  # read once in October, never since
        await assess_period(session, period="2026-10", now=OCT_20)
    await completed_request(sessions, at=NOV_10)

    assert await refresh_snapshots(sessions, now=NOV_15) == {
        "2026-10": 1, "2026-11": 1, "2026-Q4": 1}
    assert await _snapshot(sessions, "2026-10") == (0, NOV_15)
    assert await _snapshot(sessions, "2026-11") == (1, NOV_15)

    await completed_request(sessions, at=NOV_20)
    assert await _snapshot(sessions, "2026-11") == (1, NOV_15)  # until the next refresh
    assert await refresh_snapshots(sessions, now=AFTER_NOV) == {
        "2026-11": 1, "2026-12": 1, "2026-Q4": 1}
    assert await _snapshot(sessions, "2026-11") == (2, AFTER_NOV)  # final

    later = AFTER_NOV + timedelta(hours=1)
    assert await refresh_snapshots(sessions, now=later) == {"2026-12": 1, "2026-Q4": 1}
    assert await _snapshot(sessions, "2026-11") == (2, AFTER_NOV)
    assert await _snapshot(sessions, "2026-Q4") == (2, later)
