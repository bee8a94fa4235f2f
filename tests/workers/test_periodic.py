"""How the periodic jobs run: advisory locks with one holder at a time across connections (as
across machines); a failed run is logged and the next one runs; stopping does not wait out a
pause; a locked row skips its turn while another holds its lock; one table runs at a time,
and another process takes it over when its holder stops; the middleware runs the table from
worker boot to shutdown, and ends its process when the table fails."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.settings import Settings
from tests.workers.live import wait_until
from workers import periodic
from workers.periodic import (
    Periodic,
    PeriodicJobs,
    advisory_lock,
    lead,
    lock_key,
    repeat,
    run_once,
)


def test_a_key_is_stable_and_fits_a_bigint() -> None:
    assert lock_key("gridsteward:survey-batch") == lock_key("gridsteward:survey-batch")
    assert lock_key("a") != lock_key("b")
    assert -2**63 <= lock_key("a") < 2**63


async def test_one_holder_at_a_time(engine: AsyncEngine) -> None:
    async with (advisory_lock(engine, "tests:one") as first,
                advisory_lock(engine, "tests:one") as second,
                advisory_lock(engine, "tests:other") as other):
        assert (first is not None, second is None, other is not None) == (True, True, True)
    async with advisory_lock(engine, "tests:one") as again:
        assert again is not None


async def test_the_lock_is_released_when_the_block_raises(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with advisory_lock(engine, "tests:raise") as held:
            assert held is not None
            raise RuntimeError("the job failed")
    async with advisory_lock(engine, "tests:raise") as again:
        assert again is not None


def _row(run: Any, *, pause: float = 0.01, lock: str | None = None) -> Periodic:
    return Periodic("the job", lambda: pause, lock, run)


async def test_a_failed_run_is_logged_and_the_next_one_runs(
        engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    stop = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database away")
        if len(runs) == 3:
            stop.set()
    with caplog.at_level(logging.ERROR, logger="gridsteward.periodic"):
        await asyncio.wait_for(repeat(_row(job), engine, stop), timeout=5)
    assert runs == [0, 1, 2]
    (record,) = caplog.records
    assert record.getMessage() == "the job failed; trying again in 0.01s"
    assert record.exc_info is not None and "database away" in str(record.exc_info[1])


async def test_stopping_does_not_wait_out_the_pause(engine: AsyncEngine) -> None:
    stop = asyncio.Event()
    runs: list[float] = []

    async def job() -> None:
        runs.append(time.monotonic())
    loop = asyncio.create_task(repeat(_row(job, pause=3600), engine, stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop, timeout=1)
    assert len(runs) == 1


async def test_a_locked_row_skips_its_turn_while_another_holds_the_lock(
        engine: AsyncEngine) -> None:
    async def job() -> str:
        return "ran"
    row = _row(job, lock="tests:row")
    async with advisory_lock(engine, "tests:row") as held:
        assert held is not None
        assert await run_once(row, engine) is None
    assert await run_once(row, engine) == "ran"


async def test_one_table_runs_at_a_time_and_another_takes_it_over(
        engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    """Two processes' loops on one database (their own connections): only the holder of the
    table's lock runs the rows; once it stops, the other takes over."""
    ran: dict[str, int] = {"first": 0, "second": 0}

    def table(who: str) -> list[Periodic]:
        async def job() -> None:
            ran[who] += 1
        return [_row(job, pause=0.02)]
    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(lead(table("first"), engine, first_stop, retry=0.05))

    async def first_runs() -> bool:
        return ran["first"] > 0
    await wait_until(first_runs, seconds=10, what="the first loop to run the table")
    second = asyncio.create_task(lead(table("second"), engine, second_stop, retry=0.05))
    await asyncio.sleep(0.5)  # ten of its tries
    assert ran["second"] == 0
    first_stop.set()
    await asyncio.wait_for(first, 5)

    async def second_runs() -> bool:
        return ran["second"] > 0
    await wait_until(second_runs, seconds=10, what="the second loop to take over")
    second_stop.set()
    await asyncio.wait_for(second, 5)


def test_the_middleware_runs_the_table_from_boot_to_shutdown(
        worker_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr(periodic.os, "_exit", exits.append)
    ran = threading.Event()

    async def job() -> None:
        ran.set()
    jobs = PeriodicJobs(worker_settings, lambda engine: [_row(job, pause=0.01)])
    broker = StubBroker()
    jobs.after_worker_boot(broker, None)  # type: ignore[arg-type]
    assert ran.wait(10)
    jobs.before_worker_shutdown(broker, None)  # type: ignore[arg-type]
    jobs.after_worker_shutdown(broker, None)  # type: ignore[arg-type]
    assert jobs._thread is not None and not jobs._thread.is_alive()
    assert exits == []


def test_a_worker_process_whose_periodic_jobs_fail_exits_to_be_restarted(
        worker_settings: Settings, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    exited = threading.Event()
    codes: list[int] = []

    def record(code: int) -> None:
        codes.append(code)
        exited.set()
    monkeypatch.setattr(periodic.os, "_exit", record)

    def broken(engine: AsyncEngine) -> list[Periodic]:
        raise RuntimeError("a bug in the table")
    jobs = PeriodicJobs(worker_settings, broken)
    with caplog.at_level(logging.CRITICAL, logger="gridsteward.periodic"):
        jobs.after_worker_boot(StubBroker(), None)  # type: ignore[arg-type]
        assert exited.wait(10)
    assert codes == [periodic.LOST_JOBS_EXIT]
    assert "the periodic jobs stopped unexpectedly" in caplog.text
