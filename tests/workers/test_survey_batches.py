"""The survey batch as the worker runs it: on a controllable clock with the configured times
and link, skipped while another process holds the lock, and never stopped by an error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.settings import Settings
from domain.surveys.batch import BatchCounts, run_survey_batch
from tests.requests_factory import community_with_stewards, completed_request
from tests.settings import changed
from tests.workers.conftest import scalar
from workers import schedule
from workers.periodic import advisory_lock, repeat, run_once
from workers.schedule import SURVEY_BATCH_LOCK, survey_batch

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LINK = "https://example.org/survey?token="


@pytest.fixture
def config(worker_settings: Settings) -> Settings:
    """Surveys an hour after completion, a reminder two days after sending, to LINK."""
    return changed(worker_settings, survey_delay_seconds=3600, survey_reminder_seconds=172800,
                   survey_expiry_seconds=604800, survey_batch_interval_seconds=0.01,
                   survey_link=LINK)


@pytest.fixture
async def request_id(sessions: Any) -> int:
    await community_with_stewards(sessions)
    made, _ = await completed_request(sessions, at=T0)
    return made


def clock_over(times: list[datetime | Exception], stop: asyncio.Event) -> Callable[[], datetime]:
    """A clock that reads `times` in turn (an exception in the list is raised instead) and
    sets `stop` on the last one."""
    pending = list(times)

    def now() -> datetime:
        at = pending.pop(0)
        if not pending:
            stop.set()
        if isinstance(at, Exception):
            raise at
        return at
    return now


async def test_the_worker_runs_the_batch_on_its_clock_and_logs_the_counts(
        sessions: Any, engine: AsyncEngine, config: Settings, request_id: int,
        caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    clock = clock_over([T0 + timedelta(minutes=30), T0 + timedelta(hours=1),
                        T0 + timedelta(days=2, hours=1)], stop)
    with caplog.at_level(logging.INFO, logger="gridsteward.periodic"):
        await asyncio.wait_for(repeat(survey_batch(config, engine, clock), engine, stop), 20)
    assert [r.getMessage() for r in caplog.records] == [
        "survey batch: 1 scheduled, 0 skipped (no phone), 0 sent, 0 reminded, 0 expired",
        "survey batch: 0 scheduled, 0 skipped (no phone), 1 sent, 0 reminded, 0 expired",
        "survey batch: 0 scheduled, 0 skipped (no phone), 0 sent, 1 reminded, 0 expired"]
    token = await scalar(sessions, "SELECT survey_token FROM outbound_message "
                         "WHERE kind = 'SURVEY' AND request_id = :id", id=request_id)
    for kind in ("SURVEY", "SURVEY_REMINDER"):
        body = await scalar(sessions, "SELECT body FROM outbound_message WHERE kind = :kind",
                            kind=kind)
        assert body.endswith(LINK + token)
    assert await scalar(sessions, "SELECT status FROM survey") == "SENT"


async def test_a_second_run_skips_while_the_first_holds_the_lock(
        sessions: Any, engine: AsyncEngine, config: Settings, request_id: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    inside, release = asyncio.Event(), asyncio.Event()

    async def held_open(*args: Any, **kwargs: Any) -> BatchCounts:
        inside.set()
        await release.wait()
        return await run_survey_batch(*args, **kwargs)
    monkeypatch.setattr(schedule, "run_survey_batch", held_open)
    row = survey_batch(config, engine, lambda: T0 + timedelta(hours=1))
    first = asyncio.create_task(run_once(row, engine))
    await asyncio.wait_for(inside.wait(), 10)
    assert await run_once(row, engine) is None
    assert await scalar(sessions, "SELECT count(*) FROM survey") == 0
    release.set()
    counts = await asyncio.wait_for(first, 20)
    assert counts is not None and (counts.scheduled, counts.sent) == (1, 1)


async def test_another_holder_of_the_lock_makes_the_batch_skip(
        sessions: Any, engine: AsyncEngine, config: Settings, request_id: int) -> None:
    """The lock taken elsewhere (another worker machine, say) is respected."""
    row = survey_batch(config, engine, lambda: T0 + timedelta(hours=1))
    async with advisory_lock(engine, SURVEY_BATCH_LOCK) as held:
        assert held is not None
        assert await run_once(row, engine) is None
    counts = await run_once(row, engine)
    assert counts is not None and counts.sent == 1


async def test_an_error_does_not_stop_the_batches(
        sessions: Any, engine: AsyncEngine, config: Settings, request_id: int,
        caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    clock = clock_over([RuntimeError("clock trouble"), T0 + timedelta(hours=1)], stop)
    with caplog.at_level(logging.ERROR, logger="gridsteward.periodic"):
        await asyncio.wait_for(repeat(survey_batch(config, engine, clock), engine, stop), 20)
    (failure,) = caplog.records
    assert failure.getMessage().startswith("survey batch failed; trying again in")
    assert await scalar(sessions, "SELECT status FROM survey") == "SENT"


async def test_a_failed_batch_releases_the_lock(
        sessions: Any, engine: AsyncEngine, config: Settings, request_id: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any, **kwargs: Any) -> BatchCounts:
        raise ConnectionError("database away")
    monkeypatch.setattr(schedule, "run_survey_batch", broken)
    row = survey_batch(config, engine, lambda: T0 + timedelta(hours=1))
    with pytest.raises(ConnectionError):
        await run_once(row, engine)
    monkeypatch.undo()
    counts = await run_once(row, engine)
    assert counts is not None and counts.sent == 1
