"""The real stack a benchmark measures, each piece made for the run and removed however the
run ends (errors, Ctrl-C, SIGTERM): its own database in the project's local PostGIS cluster,
`gridsteward serve`, `gridsteward worker`, and a private broker (a fresh RabbitMQ virtual
host, or a Redis database that held nothing), so that a developer's worker, another
checkout's tests or another benchmark never take its messages.

Servers and workers are the real commands, each in its own process group, logging to a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis

from benchmarks.harness.command import ROOT
from benchmarks.harness.project import ensure_local_cluster, upgrade_database

PROTECTED_DATABASES = frozenset({"gridsteward", "gridsteward_test", "postgres", "template0",
                                 "template1"})
AMQP_URL = os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
#: Marks a Redis database as taken, so that a test session looking for an empty one skips it.
REDIS_CLAIM_KEY = "gridsteward-bench:claimed"
#: What the processes log once they are ready: uvicorn's and Dramatiq's lines, and the worker
#: process that took the periodic jobs' table (workers.periodic).
SERVER_READY = "Application startup complete"
WORKER_READY = "Worker process is ready for action"
PERIODIC_READY = "periodic jobs running in process"


# --- the database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    sqlalchemy_url: str  # postgresql+psycopg://...
    conninfo: str  # postgresql://... for psycopg
    name: str

    @classmethod
    def from_url(cls, url: str) -> Database:
        scheme, sep, rest = url.partition("://")
        if not sep or not scheme.startswith("postgres"):
            raise SystemExit(f"benchmark: not a postgresql:// URL: {url}")
        name = urlsplit(url).path.lstrip("/")
        return cls(f"postgresql+psycopg://{rest}", f"postgresql://{rest}", name)

    def admin_conninfo(self) -> str:
        return urlunsplit(urlsplit(self.conninfo)._replace(path="/postgres"))


def bench_database(name: str, url: str | None = None) -> Database:
    """The database at `url`, or the database `name` in the local cluster (started if need
    be)."""
    if url:
        return Database.from_url(url)
    cluster = ensure_local_cluster(ROOT / ".gridsteward" / "pg", databases=())
    return Database.from_url(cluster.url(name))


def recreate(db: Database) -> None:
    """Drop and create `db` (only a benchmark's: its name must contain "bench"), migrate."""
    if db.name in PROTECTED_DATABASES or "bench" not in db.name:
        raise SystemExit(f"benchmark: refusing to drop database {db.name!r} (its name must "
                         "contain 'bench')")
    with psycopg.connect(db.admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db.name}"')
    upgrade_database(db.sqlalchemy_url)


# --- servers and workers -----------------------------------------------------------------------


@dataclass
class Running:
    """A `gridsteward` process group and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:]


@contextlib.contextmanager
def gridsteward(argv: list[str], env: dict[str, str], *, ready: Callable[[str], bool],
                grace: float) -> Iterator[Running]:
    """`gridsteward ARGV` with `env` until the block ends, once `ready(its log)`; then SIGTERM
    (which it forwards to its children), `grace` seconds, SIGKILL to what is left of it."""
    script = Path(sys.executable).parent / "gridsteward"
    with service([str(script) if script.exists() else "gridsteward", *argv],
                 {"GRIDSTEWARD_ENV": "dev", "SECRET_KEY": secrets.token_urlsafe(36), **env},
                 ready=ready, grace=grace, name=argv[0]) as running:
        yield running


@contextlib.contextmanager
def service(argv: list[str], env: dict[str, str], *, ready: Callable[[str], bool],
            grace: float, name: str, cwd: Path = ROOT) -> Iterator[Running]:
    """The command `argv` in its own process group with `env` (over ours), logging to a file,
    until the block ends, once `ready(its log)`; then SIGTERM, `grace` seconds, SIGKILL to
    what is left of its group."""
    handle, log_name = tempfile.mkstemp(prefix=f"gridsteward-bench-{name}-", suffix=".log")
    log = Path(log_name)
    try:
        with os.fdopen(handle, "wb") as out:
            process = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **env}, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        running = Running(process, log)
        try:
            _wait_until_ready(running, ready, name)
            yield running
        finally:
            _stop(process, grace)
    finally:
        log.unlink(missing_ok=True)


def _wait_until_ready(running: Running, ready: Callable[[str], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(f"{what} exited with {running.process.returncode}:\n"
                               f"{running.output()}")
        if ready(running.log.read_text(errors="replace")):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready within 60 s:\n{running.output()}")


def _stop(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(db: Database, *, workers: int, env: dict[str, str]
                   ) -> Iterator[tuple[str, Running]]:
    """`gridsteward serve --workers N` on a free port, ready once every worker started its
    application and /healthz answers; yields its base URL and process. Its rate limits are
    off (RATE_LIMIT_STORE=off): a load test submits from one address."""
    base = f"http://127.0.0.1:{free_port()}"

    def ready(log: str) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return (log.count(SERVER_READY) >= workers
                    and httpx.get(f"{base}/healthz", timeout=2).status_code == 200)
        return False
    argv = ["serve", "--host", "127.0.0.1", "--port", base.rsplit(":", 1)[1],
            "--workers", str(workers)]
    with gridsteward(argv, {"DATABASE_URL": db.conninfo, "RATE_LIMIT_STORE": "off", **env},
                     ready=ready, grace=15) as server:
        yield base, server


def running_worker(env: dict[str, str], *, processes: int,
                   threads: int) -> contextlib.AbstractContextManager[Running]:
    """`gridsteward worker --processes P --threads T` with `env` (DATABASE_URL, BROKER_URL,
    ...), ready once every worker process and the periodic jobs said so."""
    def ready(log: str) -> bool:
        return (log.count(WORKER_READY) >= processes
                and PERIODIC_READY in log)
    argv = ["worker", "--processes", str(processes), "--threads", str(threads)]
    return gridsteward(argv, env, ready=ready, grace=30)


# --- brokers -----------------------------------------------------------------------------------


def _rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True,
                          timeout=120).stdout


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


BROKERS: dict[str, Callable[[], contextlib.AbstractContextManager[str]]] = {
    "rabbitmq": rabbitmq_vhost, "redis": redis_database}


def broker_versions() -> dict[str, str]:
    """The RabbitMQ and Redis servers' versions ("unknown" when one does not answer)."""
    found = {"RabbitMQ": "unknown", "Redis": "unknown"}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found["RabbitMQ"] = _rabbitmqctl("version").strip()
    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(REDIS_URL)
        try:
            info: dict[str, Any] = client.info("server")  # type: ignore[assignment]
            found["Redis"] = str(info["redis_version"])
        finally:
            client.close()
    return found
