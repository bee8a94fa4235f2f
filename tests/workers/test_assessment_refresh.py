"""The assessment refresh as the worker runs it: on its clock, logged, and skipped while
another process holds its lock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.requests_factory import community_with_stewards
from tests.workers.conftest import scalar
from workers.assessments import ASSESSMENT_LOCK, AssessmentRefresh
from workers.config import WorkerConfig
from workers.lock import advisory_lock

NOV_15 = datetime(2026, 11, 15, 9, tzinfo=UTC)


async def test_the_worker_refreshes_the_running_periods_on_its_clock(
        sessions: Any, engine: AsyncEngine, worker_config: WorkerConfig,
        caplog: pytest.LogCaptureFixture) -> None:
    await community_with_stewards(sessions, 2)
    refresh = AssessmentRefresh(worker_config, engine, clock=lambda: NOV_15)
    with caplog.at_level(logging.INFO, logger="gridsteward.assessments"):
        assert await refresh.run_once() == {"2026-11": 2, "2026-Q4": 2}
    assert [r.getMessage() for r in caplog.records] == [
        "assessment snapshots: 2026-11 2 members, 2026-Q4 2 members"]
    assert await scalar(sessions, "SELECT count(DISTINCT computed_at) FROM member_assessment "
                        "WHERE computed_at = :at", at=NOV_15) == 1


async def test_a_refresh_skips_while_another_process_holds_the_lock(
        sessions: Any, engine: AsyncEngine, worker_config: WorkerConfig) -> None:
    await community_with_stewards(sessions, 2)
    refresh = AssessmentRefresh(worker_config, engine, clock=lambda: NOV_15)
    async with advisory_lock(engine, ASSESSMENT_LOCK) as taken:
        assert taken
        assert await refresh.run_once() is None
    assert await scalar(sessions, "SELECT count(*) FROM member_assessment") == 0
    assert await refresh.run_once() == {"2026-11": 2, "2026-Q4": 2}
