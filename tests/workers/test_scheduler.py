"""The periodic process as `gridsteward worker` runs it: the survey batch writes a survey, the
sweep hands it to the delivery actor, the assessment refresh stores the running periods, all
side by side until stopped."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.surveys.snapshots import running_periods
from tests.requests_factory import community_with_stewards, completed_request
from tests.workers.conftest import Stub, scalar
from tests.workers.live import wait_until
from workers.config import WorkerConfig
from workers.scheduler import serve

LINK = "https://example.org/survey?token="


async def test_the_periodic_jobs_run_side_by_side_until_stopped(
        sessions: Any, stub_factory: Any, worker_config: WorkerConfig,
        caplog: pytest.LogCaptureFixture) -> None:
    await community_with_stewards(sessions, 1)
    await completed_request(sessions, at=datetime.now(UTC) - timedelta(hours=2))
    config = replace(worker_config, dispatch_stale_seconds=30, survey_link=LINK,
                     survey_batch_interval_seconds=0.2, assessment_interval_seconds=0.2)
    stub: Stub = stub_factory(config)
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stub.actors, stop))

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
