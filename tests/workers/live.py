"""Real brokers and real `gridsteward worker` processes for the integration tests.

Each test session gets its own RabbitMQ virtual host (when rabbitmqctl is at hand) and an
empty Redis database, so a developer's running worker never takes the tests' messages. A
broker that is not running skips these tests locally, with the reason, and fails them in CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from tests.unavailable import unavailable

ROOT = Path(__file__).resolve().parents[2]
AMQP_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def require(url: str, what: str) -> None:
    """Skip (locally) or fail (in CI) unless something listens where `url` points."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 2):
            return
    except OSError as exc:
        reason = f"{what} is not reachable at {parts.hostname}:{parts.port}: {exc}"
    unavailable(reason)


def rabbitmqctl(*args: str, timeout: float = 60) -> None:
    """Run rabbitmqctl (the broker on this machine), failing the test if it fails."""
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=timeout)


def has_rabbitmqctl() -> bool:
    return shutil.which("rabbitmqctl") is not None


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """An AMQP URL on a fresh virtual host, deleted afterwards; the default virtual host
    when rabbitmqctl is not available (a broker in a container, say)."""
    require(AMQP_URL, "RabbitMQ")
    if not has_rabbitmqctl():
        yield AMQP_URL
        return
    vhost = f"gridsteward-test-{os.getpid()}-{secrets.token_hex(3)}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, urlsplit(AMQP_URL).username or "guest",
                ".*", ".*", ".*")
    try:
        yield AMQP_URL.rstrip("/") + "/" + vhost
    finally:
        # Not checked: on a broker shared with other sessions, one that cleans up test vhosts
        # may have deleted it already (exit status 64), which fails nothing of ours.
        subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True, timeout=60)


@contextmanager
def redis_database() -> Iterator[str]:
    """A Redis URL on a database that held nothing, emptied afterwards."""
    require(REDIS_URL, "Redis")
    for index in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_URL.rstrip('/')}/{index}")
        if client.dbsize() == 0:
            try:
                yield f"{REDIS_URL.rstrip('/')}/{index}"
            finally:
                client.flushdb()
                client.close()
            return
    pytest.skip("no empty Redis database to run the tests in")


#: What every test's worker is given unless its test says otherwise: the workers' "table
#: statistics" job (domain.infra.table_stats) would ANALYZE the shared test tables whenever a
#: test leaves 1,000 rows in one, and the statistics of that test's data (every request in
#: one community, all of them DISPATCHED) outlive its TRUNCATE and turn the plans that later
#: plan tests check (tests/plans.py). The job's own test runs it in a schema of its own.
QUIET_STATISTICS = {"TABLE_STATISTICS_INTERVAL_SECONDS": "86400"}


class Worker:
    """One `gridsteward worker` command in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log: Path, processes: int, threads: int) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "worker", "--processes", str(processes),
                 "--threads", str(threads)],
                cwd=ROOT, env={**QUIET_STATISTICS, **env}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def kill(self) -> None:
        """SIGKILL the whole group: the main process and its worker processes."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """A graceful stop, then SIGKILL whatever is left. SIGTERM goes to the main process
        only: it forwards it, and Dramatiq takes a second SIGTERM as "kill now"."""
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=20)
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


class Workers:
    """Starts workers for one test with one environment, and stops them all afterwards."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = env
        self.tmp = tmp
        self.started: list[Worker] = []

    def start(self, processes: int = 1, threads: int = 2) -> Worker:
        worker = Worker(self.env, self.tmp / f"worker-{len(self.started)}.log", processes,
                        threads)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()

    def logs(self) -> str:
        return "\n".join(w.output() for w in self.started)


async def wait_until(check: Callable[[], Awaitable[bool]], *, seconds: float,
                     what: str, logs: Callable[[], str] = lambda: "",
                     every: float = 0.1) -> None:
    """Poll `check` until it holds, or fail after `seconds` showing the workers' logs."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds}s waiting for {what}\n{logs()}")
        await asyncio.sleep(every)


