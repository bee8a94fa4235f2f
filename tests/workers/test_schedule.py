"""The table of periodic jobs as a worker process runs it: the survey batch writes a survey,
the sweep hands it to the delivery actor, the assessment refresh stores the running periods,
all side by side until stopped; the refresh on its clock, logged, and skipped while another
process holds its lock."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.settings import Settings
from domain.surveys.snapshots import running_periods
from tests.requests_factory import community_with_stewards, completed_request
from tests.settings import changed
from tests.workers.conftest import Stub, scalar
from tests.workers.live import wait_until
from workers.periodic import advisory_lock, lead, run_once
from workers.schedule import ASSESSMENT_LOCK, assessment_refresh, periodic_jobs

LINK = "https://example.org/survey?token="
NOV_15 = datetime(2026, 11, 15, 9, tzinfo=UTC)


async def test_the_periodic_jobs_run_side_by_side_until_stopped(
        sessions: Any, engine: AsyncEngine, stub_factory: Any, worker_settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    await community_with_stewards(sessions, 1)
    await completed_request(sessions, at=datetime.now(UTC) - timedelta(hours=2))
    config = changed(worker_settings, dispatch_stale_seconds=30, survey_link=LINK,
                     survey_batch_interval_seconds=0.2, assessment_interval_seconds=0.2)
    stub: Stub = stub_factory(config)
    stop = asyncio.Event()
    running = asyncio.create_task(lead(periodic_jobs(config, stub.actors, engine), engine,
                                       stop, retry=0.2))

    async def done() -> bool:
        sent = await scalar(sessions, "SELECT count(*) FROM outbound_message "
                            "WHERE kind = 'SURVEY' AND status = 'SENT'")
        periods = await scalar(sessions, "SELECT count(DISTINCT period) "
                               "FROM member_assessment")
        return bool(sent == 1 and periods == 2)
    with caplog.at_level(logging.INFO, logger="gridsteward.outbound"):
        try:
            await wait_until(done, seconds=30, what="a survey sent and two snapshots")
        finally:
            stop.set()
            await asyncio.wait_for(running, 10)
    (survey,) = [line for line in (json.loads(r.getMessage()) for r in caplog.records
                                   if r.name == "gridsteward.outbound")
                 if line["kind"] == "SURVEY"]
    assert survey["body"].endswith(LINK + survey["survey_token"])
    assert await scalar(sessions, "SELECT string_agg(DISTINCT period, ',' ORDER BY period) "
                        "FROM member_assessment") == ",".join(sorted(running_periods(
                            datetime.now(UTC))))


async def test_the_refresh_stores_the_running_periods_on_its_clock(
        sessions: Any, engine: AsyncEngine, worker_settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    await community_with_stewards(sessions, 2)
    refresh = assessment_refresh(worker_settings, engine, clock=lambda: NOV_15)
    with caplog.at_level(logging.INFO, logger="gridsteward.periodic"):
        assert await run_once(refresh, engine) == {"2026-11": 2, "2026-Q4": 2}
    assert [r.getMessage() for r in caplog.records] == [
        "assessment snapshots: 2026-11 2 members, 2026-Q4 2 members"]
    assert await scalar(sessions, "SELECT count(DISTINCT computed_at) FROM member_assessment "
                        "WHERE computed_at = :at", at=NOV_15) == 1


async def test_a_refresh_skips_while_another_process_holds_the_lock(
        sessions: Any, engine: AsyncEngine, worker_settings: Settings) -> None:
    await community_with_stewards(sessions, 2)
    refresh = assessment_refresh(worker_settings, engine, clock=lambda: NOV_15)
    async with advisory_lock(engine, ASSESSMENT_LOCK) as held:
        assert held is not None
        assert await run_once(refresh, engine) is None
    assert await scalar(sessions, "SELECT count(*) FROM member_assessment") == 0
    assert await run_once(refresh, engine) == {"2026-11": 2, "2026-Q4": 2}
