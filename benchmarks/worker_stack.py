"""A private broker and a real `gridsteward worker` on it, for benchmarks.

The broker is a fresh RabbitMQ virtual host (made and deleted with rabbitmqctl) or a Redis
database that held nothing (emptied afterwards), so a developer's worker, another checkout's
tests or another benchmark never take these messages. The worker is the real command in its
own process group, logging to a file; it is stopped however the block ends.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis

ROOT = Path(__file__).resolve().parent.parent
AMQP_URL = os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
#: Marks a Redis database as taken, so that a test session looking for an empty one skips it.
REDIS_CLAIM_KEY = "gridsteward-bench:claimed"


def _rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True,
                          timeout=120)
    return done.stdout


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """An AMQP URL on a new virtual host, deleted afterwards (its queues with it)."""
    if shutil.which("rabbitmqctl") is None:
        raise SystemExit("benchmark: rabbitmqctl is needed to make a private virtual host")
    vhost = f"gridsteward-bench-{os.getpid()}-{secrets.token_hex(3)}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, urlsplit(AMQP_URL).username or "guest",
                     ".*", ".*", ".*")
        yield AMQP_URL.rstrip("/") + "/" + vhost
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@contextlib.contextmanager
def redis_database() -> Iterator[str]:
    """A Redis URL on a database that held nothing, claimed with a marker key and emptied
    afterwards. Test sessions search from 15 downwards; this searches from 1 upwards."""
    base = REDIS_URL.rstrip("/")
    for index in range(1, 16):
        client = redis.Redis.from_url(f"{base}/{index}")
        try:
            if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, os.getpid(), nx=True):
                try:
                    yield f"{base}/{index}"
                finally:
                    client.flushdb()
                return
        finally:
            client.close()
    raise SystemExit("benchmark: no empty Redis database (1-15) to run in")


def rabbitmq_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return _rabbitmqctl("version").strip()
    return "unknown"


def redis_version() -> str:
    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(REDIS_URL)
        try:
            info: dict[str, Any] = client.info("server")  # type: ignore[assignment]
            return str(info["redis_version"])
        finally:
            client.close()
    return "unknown"


@dataclass
class RunningWorker:
    """A `gridsteward worker` process group and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:]


def _command() -> list[str]:
    script = Path(sys.executable).parent / "gridsteward"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server.cli"]


@contextlib.contextmanager
def running_worker(env: dict[str, str], *, processes: int,
                   threads: int) -> Iterator[RunningWorker]:
    """`gridsteward worker --processes P --threads T` with `env` (DATABASE_URL, BROKER_URL,
    ...) until the block ends: ready once every worker process and the sweeper said so."""
    handle, name = tempfile.mkstemp(prefix="gridsteward-bench-worker-", suffix=".log")
    log = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            process = subprocess.Popen(
                [*_command(), "worker", "--processes", str(processes), "--threads",
                 str(threads)], env={**os.environ, **env}, cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        worker = RunningWorker(process, log)
        try:
            _wait_until_ready(worker, processes)
            yield worker
        finally:
            _stop(process)
    finally:
        log.unlink(missing_ok=True)


def _wait_until_ready(worker: RunningWorker, processes: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.process.returncode}:\n"
                               f"{worker.output()}")
        text = worker.log.read_text(errors="replace")
        if (text.count("Worker process is ready for action") >= processes
                and "gridsteward.scheduler" in text):
            return
        time.sleep(0.2)
    raise RuntimeError(f"worker not ready within 60 s:\n{worker.output()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the supervisor (it forwards it; a second one would mean "kill now"), then
    SIGKILL to whatever is left of the group."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

