"""Real `gridsteward worker` processes on real brokers: every request ends dispatched exactly
once, on RabbitMQ, Redis and PostgreSQL, after a worker is SIGKILLed mid-dispatch, across a
RabbitMQ restart during which submissions still commit, and across database connections cut
mid-dispatch; surveys go out on schedule; a worker whose periodic jobs are killed exits for
its process manager to restart it, and the dev runner does; of two worker machines one runs
the periodic jobs, and the other takes over when it dies."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from domain.infra.db import libpq_url
from domain.settings import Settings
from server import devrun
from server.background import DramatiqBackground
from tests.requests_factory import community_with_stewards, completed_request
from tests.settings import make_settings
from tests.workers.conftest import events, scalar, sent_messages, submit
from tests.workers.live import (
    Workers,
    has_rabbitmqctl,
    rabbitmq_vhost,
    rabbitmqctl,
    redis_database,
    wait_until,
)

SWEEP_SECONDS = 0.5
STALE_SECONDS = 2.0
SURVEY_LINK = "https://example.org/survey?token="

WORKER_APP = "gridsteward-test-worker"  # the workers' application_name in pg_stat_activity
JOBS_PROCESS = re.compile(r"periodic jobs running in process (\d+)")

BROKERS = {"rabbitmq": rabbitmq_vhost, "redis": redis_database}


@pytest.fixture(scope="module", params=[*sorted(BROKERS), "postgresql"])
def broker_url(request: pytest.FixtureRequest, database_url: str) -> Iterator[str]:
    """Each broker in turn; PostgreSQL's is the test database itself (dramatiq.queue)."""
    if request.param == "postgresql":
        yield database_url
        return
    context: AbstractContextManager[str] = BROKERS[request.param]()
    with context as url:
        yield url


@pytest.fixture(scope="module")
def rabbitmq_url() -> Iterator[str]:
    with rabbitmq_vhost() as url:
        yield url


def _config(database_url: str, broker: str) -> Settings:
    return make_settings(database_url=database_url, broker_url=broker,
                         dispatch_stale_seconds=STALE_SECONDS,
                         sweep_interval_seconds=SWEEP_SECONDS)


def _environment(database_url: str, broker: str) -> dict[str, str]:
    """What the workers of these tests read their settings from."""
    return {"DATABASE_URL": database_url, "BROKER_URL": broker,
            "SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
            "DISPATCH_STALE_SECONDS": str(STALE_SECONDS), "OUTBOUND_CHANNEL": "log",
            "SURVEY_BATCH_INTERVAL_SECONDS": str(SWEEP_SECONDS), "SURVEY_LINK": SURVEY_LINK,
            "GRIDSTEWARD_ENV": "test", "PGAPPNAME": WORKER_APP}


def _workers(database_url: str, broker: str, tmp_path: Path) -> Iterator[Workers]:
    """Worker processes on `broker` (started by each test), all stopped afterwards."""
    started = Workers({**os.environ, **_environment(database_url, broker)}, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def workers(database_url: str, broker_url: str, tmp_path: Path,
            sessions: Any) -> Iterator[Workers]:
    """On each broker in turn."""
    yield from _workers(database_url, broker_url, tmp_path)


@pytest.fixture
def rabbit_workers(database_url: str, rabbitmq_url: str, tmp_path: Path,
                   sessions: Any) -> Iterator[Workers]:
    """On RabbitMQ, the production broker."""
    yield from _workers(database_url, rabbitmq_url, tmp_path)


def _enqueue(config: Settings, ids: list[int]) -> None:
    """What the API does after commit: hand each request to the workers."""
    background = DramatiqBackground(config)
    for request_id in ids:
        background.dispatch(request_id)
    background.close()


async def _all_dispatched(sessions: Any, ids: list[int], workers: Workers) -> None:
    async def done() -> bool:
        return set(await events(sessions, "DISPATCHED")) >= set(ids)
    await wait_until(done, seconds=60, what=f"{len(ids)} dispatches", logs=workers.logs)


async def _exactly_once(sessions: Any, ids: list[int]) -> None:
    assert await events(sessions, "DISPATCHED") == dict.fromkeys(ids, 1)
    assert await scalar(sessions, "SELECT count(*) FROM service_request "
                        "WHERE status <> 'DISPATCHED'") == 0
    notices = await scalar(sessions, "SELECT count(*) FROM outbound_message "
                           "WHERE kind = 'DISPATCH_NOTICE'")
    assert notices == len(ids)


async def test_a_real_worker_dispatches_every_request_exactly_once(
        sessions: Any, database_url: str, broker_url: str, workers: Workers) -> None:
    await community_with_stewards(sessions, 3)
    workers.start(processes=2, threads=2)
    ids = await submit(sessions, 30, now=datetime.now(UTC))
    _enqueue(_config(database_url, broker_url), ids)
    await _all_dispatched(sessions, ids, workers)

    async def notices_sent() -> bool:
        return await sent_messages(sessions) == len(ids)
    await wait_until(notices_sent, seconds=30, what="notices sent", logs=workers.logs)
    await _exactly_once(sessions, ids)


async def test_a_real_worker_sends_surveys_on_schedule(sessions: Any, workers: Workers) -> None:
    await community_with_stewards(sessions, 1)
    await completed_request(sessions, at=datetime.now(UTC) - timedelta(hours=2))
    workers.start(processes=1, threads=2)

    async def survey_sent() -> bool:
        return await scalar(sessions, "SELECT count(*) FROM outbound_message WHERE kind = "
                            "'SURVEY' AND status = 'SENT' AND body LIKE :link",
                            link=f"%{SURVEY_LINK}%") == 1
    await wait_until(survey_sent, seconds=60, what="the survey sent", logs=workers.logs)
    assert "survey batch: 1 scheduled, 0 skipped (no phone), 1 sent" in workers.logs()


async def test_a_worker_killed_mid_dispatch_loses_and_doubles_nothing(
        sessions: Any, database_url: str, rabbitmq_url: str, rabbit_workers: Workers) -> None:
    await community_with_stewards(sessions, 3)
    # Enough that the kill lands mid-way: a batch of 50 takes a few milliseconds.
    ids = await submit(sessions, 1000, now=datetime.now(UTC))
    _enqueue(_config(database_url, rabbitmq_url), ids)
    first = rabbit_workers.start(processes=1, threads=2)

    async def started() -> bool:
        return len(await events(sessions, "DISPATCHED")) >= 20
    await wait_until(started, seconds=60, what="the first dispatches",
                     logs=rabbit_workers.logs, every=0.02)
    first.kill()
    at_kill = len(await events(sessions, "DISPATCHED"))
    assert at_kill < len(ids), "the worker finished before it could be killed"

    rabbit_workers.start(processes=1, threads=2)
    await _all_dispatched(sessions, ids, rabbit_workers)
    await _exactly_once(sessions, ids)


@pytest.mark.skipif(not has_rabbitmqctl() and not os.environ.get("CI"),
                    reason="restarting RabbitMQ needs rabbitmqctl on this machine")
async def test_a_broker_restart_loses_and_doubles_nothing(
        sessions: Any, database_url: str, rabbitmq_url: str, rabbit_workers: Workers) -> None:
    await community_with_stewards(sessions, 3)
    config = _config(database_url, rabbitmq_url)
    rabbit_workers.start(processes=1, threads=2)
    before = await submit(sessions, 5, now=datetime.now(UTC))
    _enqueue(config, before)
    await _all_dispatched(sessions, before, rabbit_workers)

    rabbitmqctl("stop_app")
    try:
        during = await submit(sessions, 10, now=datetime.now(UTC))
        _enqueue(config, during)  # fails quietly: the sweep will dispatch them
        assert await scalar(sessions, "SELECT count(*) FROM service_request "
                            "WHERE status = 'SUBMITTED'") == len(during)
    finally:
        rabbitmqctl("start_app")
    after = await submit(sessions, 5, now=datetime.now(UTC))
    _enqueue(config, after)
    await _all_dispatched(sessions, before + during + after, rabbit_workers)
    await _exactly_once(sessions, before + during + after)


async def test_a_database_restart_loses_and_doubles_nothing(
        sessions: Any, database_url: str, rabbitmq_url: str, rabbit_workers: Workers) -> None:
    """Every connection of the workers cut, again and again, while they dispatch (what a
    database restart does to them); the test's own connections are left alone."""
    await community_with_stewards(sessions, 3)
    ids = await submit(sessions, 500, now=datetime.now(UTC))
    _enqueue(_config(database_url, rabbitmq_url), ids)
    rabbit_workers.start(processes=1, threads=2)
    mid_dispatch = 0  # cuts that hit connections while requests were still waiting
    # Cuts once the workers are dispatching, 50 ms apart, the pause doubling (up to 2 s)
    # while no more requests get dispatched: a batch slower than the pause (a loaded
    # machine) would otherwise never commit, and the test never end.
    pause, last, deadline = 0.05, 0, time.monotonic() + 120
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url),
                                                     autocommit=True) as admin:
        while (done := len(await events(sessions, "DISPATCHED"))) < len(ids):
            assert time.monotonic() < deadline, f"{done} of {len(ids)} dispatched in 120 s"
            if not done:
                await asyncio.sleep(0.01)
                continue
            cursor = await admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s", (WORKER_APP,))
            mid_dispatch += bool(((await cursor.fetchone()) or (0,))[0])
            pause, last = (0.05, done) if done > last else (min(pause * 2, 2.0), last)
            await asyncio.sleep(pause)
            if mid_dispatch >= 5:
                break
    assert mid_dispatch, "no connection was cut while the workers were dispatching"
    await _all_dispatched(sessions, ids, rabbit_workers)
    await _exactly_once(sessions, ids)

async def _jobs_process(workers: Workers, *, not_in: frozenset[int] = frozenset()) -> int:
    """The pid of the worker process running the periodic jobs, as it logs it: the first
    one not in `not_in`."""
    found: list[int] = []

    async def logged() -> bool:
        found[:] = [int(pid) for pid in JOBS_PROCESS.findall(workers.logs())
                    if int(pid) not in not_in]
        return bool(found)
    await wait_until(logged, seconds=60, what="the periodic jobs' process", logs=workers.logs)
    return found[0]


async def test_a_worker_whose_periodic_jobs_are_killed_exits_for_a_restart(
        sessions: Any, rabbit_workers: Workers) -> None:
    """Killing the process that runs the jobs ends the whole `gridsteward worker` with a
    failure status, so that systemd, Kubernetes or `gridsteward dev` starts it again."""
    worker = rabbit_workers.start(processes=2, threads=2)
    os.kill(await _jobs_process(rabbit_workers), signal.SIGKILL)
    status = await asyncio.to_thread(worker.process.wait, 60)
    assert status != 0, rabbit_workers.logs()
    assert "exited unexpectedly" in rabbit_workers.logs()


async def test_under_the_dev_runner_killed_jobs_run_again(
        sessions: Any, database_url: str, rabbitmq_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`gridsteward dev` starts its worker again when it exits: the sweep dispatches
    requests nobody enqueued, after the process running it was SIGKILLed."""
    await community_with_stewards(sessions, 3)
    for name, value in _environment(database_url, rabbitmq_url).items():
        monkeypatch.setenv(name, value)
    worker = devrun.command("worker", "--processes", "1", "--threads", "2").start()
    stop = devrun.StopSignals()  # not entered: this test sets `requested` itself
    watching = threading.Thread(target=devrun._watch, args=([worker], stop), daemon=True)
    watching.start()
    try:
        first = await _sweeping_process(sessions, worker)
        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()
        ids = await submit(sessions, 3, now=datetime.now(UTC))  # not enqueued: a sweep must

        async def dispatched() -> bool:
            return set(await events(sessions, "DISPATCHED")) >= set(ids)
        await wait_until(dispatched, seconds=60, what="the sweep after the restart")
        print(f"killed jobs running again under the dev runner after "
              f"{time.monotonic() - killed:.1f} s")
    finally:
        stop.requested.set()
        watching.join(30)
        worker.stop()


async def _sweeping_process(sessions: Any, worker: Any) -> int:
    """The worker process of the dev runner's worker, once its sweep has dispatched a
    request nobody enqueued."""
    ids = await submit(sessions, 1, now=datetime.now(UTC))

    async def swept() -> bool:
        return set(await events(sessions, "DISPATCHED")) >= set(ids)
    await wait_until(swept, seconds=60, what="the first sweep")
    children = _children(worker.pid)
    assert len(children) == 1, children
    return children[0]


def _children(pid: int) -> list[int]:
    """The worker processes Dramatiq forked (not multiprocessing's helpers)."""
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in found
            if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]


async def test_two_workers_run_one_table_and_the_second_takes_it_over(
        sessions: Any, rabbit_workers: Workers) -> None:
    """Two worker machines (two `gridsteward worker`, two processes each): one process runs
    the periodic jobs, so one survey batch at a time; killed, the other machine takes over."""
    await community_with_stewards(sessions, 3)
    await completed_request(sessions, at=datetime.now(UTC) - timedelta(hours=2))
    machines = [rabbit_workers.start(processes=2, threads=2) for _ in range(2)]
    holder = await _jobs_process(rabbit_workers)

    async def survey_sent() -> bool:
        return await sent_messages(sessions, "SURVEY") == 1
    await wait_until(survey_sent, seconds=60, what="the survey sent", logs=rabbit_workers.logs)
    running = [m for m in machines if JOBS_PROCESS.search(m.output())]
    assert len(running) == 1 and len(JOBS_PROCESS.findall(rabbit_workers.logs())) == 1
    (other,) = [m for m in machines if m is not running[0]]
    assert "survey batch:" in running[0].output() and "survey batch:" not in other.output()

    running[0].kill()
    await _jobs_process(rabbit_workers, not_in=frozenset({holder}))
    assert JOBS_PROCESS.search(other.output())
    ids = await submit(sessions, 3, now=datetime.now(UTC))  # not enqueued: only a sweep can
    await _all_dispatched(sessions, ids, rabbit_workers)


async def test_a_first_start_on_a_fresh_broker_logs_no_missing_queue(
        sessions: Any, database_url: str, tmp_path: Path) -> None:
    """Dramatiq issue #794: a delay queue's consumer could start before its queue existed."""
    await community_with_stewards(sessions, 1)
    with rabbitmq_vhost() as fresh, contextmanager(_workers)(database_url, fresh,
                                                             tmp_path) as workers:
        workers.start(processes=2, threads=2)  # before anything is sent: no queue exists

        async def consuming() -> bool:  # every consumer of both processes has started
            return workers.logs().count("Worker process is ready for action") == 2
        await wait_until(consuming, seconds=30, what="both worker processes",
                         logs=workers.logs)
        ids = await submit(sessions, 1, now=datetime.now(UTC))
        _enqueue(_config(database_url, fresh), ids)
        await _all_dispatched(sessions, ids, workers)
        assert "NOT_FOUND" not in workers.logs()
