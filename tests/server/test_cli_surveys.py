"""`gridsteward surveys` and `gridsteward assess` as operators run them: a real process on the
test database, counts printed, a bad period refused with exit status 2 and no traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import ROOT
from tests.requests_factory import community_with_stewards, completed_request
from tests.workers.conftest import scalar
from workers.periodic import advisory_lock
from workers.schedule import SURVEY_BATCH_LOCK

LINK = "https://example.org/survey?token="


def gridsteward(*args: str, database_url: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m server.cli ARGS` in the project folder, on `database_url`."""
    env = {**os.environ, "DATABASE_URL": database_url, "SURVEY_LINK": LINK,
           "GRIDSTEWARD_ENV": "test"}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
async def completed(sessions: Any) -> int:
    """A request completed two hours ago: its survey is due now."""
    await community_with_stewards(sessions, 1)
    made, _ = await completed_request(sessions, at=datetime.now(UTC) - timedelta(hours=2))
    return made


async def test_surveys_runs_one_batch_and_prints_the_counts(
        sessions: Any, database_url: str, completed: int) -> None:
    done = await asyncio.to_thread(gridsteward, "surveys", database_url=database_url)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == ("survey batch: 1 scheduled, 0 skipped (no phone), 1 sent, "
                           "0 reminded, 0 expired\n")
    body = await scalar(sessions, "SELECT body FROM outbound_message WHERE kind = 'SURVEY' "
                        "AND status = 'PENDING' AND request_id = :id", id=completed)
    assert LINK in body
    again = await asyncio.to_thread(gridsteward, "surveys", database_url=database_url)
    assert again.stdout.startswith("survey batch: 0 scheduled, 0 skipped (no phone), 0 sent")


async def test_surveys_skips_while_a_batch_is_running(
        sessions: Any, engine: AsyncEngine, database_url: str, completed: int) -> None:
    async with advisory_lock(engine, SURVEY_BATCH_LOCK) as held:
        assert held is not None
        done = await asyncio.to_thread(gridsteward, "surveys", database_url=database_url)
    assert done.returncode == 0
    assert done.stdout.startswith("survey batch skipped: another one is running")
    assert await scalar(sessions, "SELECT count(*) FROM survey") == 0


async def test_assess_stores_a_period_and_prints_the_members(
        sessions: Any, database_url: str, completed: int) -> None:
    done = await asyncio.to_thread(gridsteward, "assess", " 2026-Q4 ",
                                   database_url=database_url)
    assert (done.returncode, done.stdout, done.stderr) == (0, "assessment 2026-Q4: 1 member\n",
                                                            "")
    assert await scalar(sessions, "SELECT count(*) FROM member_assessment "
                        "WHERE period = '2026-Q4'") == 1


@pytest.mark.parametrize("period", ["2026-13", ""])
def test_assess_refuses_a_bad_period(period: str) -> None:
    done = gridsteward("assess", period)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "argument PERIOD: period must be a month like 2026-11 or a quarter like 2026-Q4" \
        in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("command", "explains"), [
    ("surveys", "SURVEY_BATCH_INTERVAL_SECONDS"),
    ("assess", "ASSESSMENT_INTERVAL_SECONDS"),
])
def test_help_explains_each_command(command: str, explains: str) -> None:
    done = gridsteward(command, "--help")
    assert done.returncode == 0
    assert explains in done.stdout
