"""The loop under every periodic job: a failed run is logged and the next one runs; stopping
does not wait out the pause."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from workers.periodic import repeat

log = logging.getLogger("tests.periodic")


async def test_a_failed_run_is_logged_and_the_next_one_runs(
        caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    stop = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database away")
        if len(runs) == 3:
            stop.set()
    with caplog.at_level(logging.ERROR, logger=log.name):
        await asyncio.wait_for(repeat(job, pause=lambda: 0.01, stop=stop, log=log,
                                      what="the job"), timeout=5)
    assert runs == [0, 1, 2]
    (record,) = caplog.records
    assert record.getMessage() == "the job failed; trying again in 0.01s"
    assert record.exc_info is not None and "database away" in str(record.exc_info[1])


async def test_stopping_does_not_wait_out_the_pause() -> None:
    stop = asyncio.Event()
    runs: list[float] = []

    async def job() -> None:
        runs.append(time.monotonic())
    loop = asyncio.create_task(repeat(job, pause=lambda: 3600, stop=stop, log=log, what="job"))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop, timeout=1)
    assert len(runs) == 1
