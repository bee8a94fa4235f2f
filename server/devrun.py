"""`gridsteward dev`: one command from a fresh clone to a running API with the demo community."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

#: Default ports of the brokers BROKER_URL may name.
_BROKER_PORTS = {"amqp": 5672, "amqps": 5671, "redis": 6379, "rediss": 6379}
#: How long the worker may take to stop gracefully before it is killed.
_WORKER_STOP_SECONDS = 15


def _prepare_environment(state_dir: Path) -> None:
    from server.cli import dev_secret
    from server.localdb import ensure_local_cluster
    os.environ.setdefault("GRIDSTEWARD_ENV", "dev")
    os.environ.setdefault("SECRET_KEY", dev_secret(state_dir))
    if not os.environ.get("DATABASE_URL"):
        cluster = ensure_local_cluster(state_dir / "pg")
        os.environ["DATABASE_URL"] = cluster.url()
        print(f"local PostGIS: {cluster.url()} (data in {cluster.data_dir})")


def _step(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "server.cli", *argv], check=True)


def run_dev(state_dir: Path, *, host: str, port: int) -> int:
    """Local database when DATABASE_URL is unset, migrations, demo data, then the API and one
    worker until Ctrl-C. Prints an admin token for trying the API in GraphiQL."""
    _prepare_environment(state_dir)
    _step("migrate")
    _step("demo")
    token = subprocess.run([sys.executable, "-m", "server.cli", "token", "--admin"],
                           check=True, capture_output=True, text=True).stdout.strip()
    print(f"\nGraphiQL: http://{host}:{port}/graphql\nadmin token (Authorization: Bearer …):"
          f"\n{token}\n")
    with _worker(), contextlib.suppress(KeyboardInterrupt):
        _step("serve", "--host", host, "--port", str(port))
    return 0


def _broker_address(url: str) -> tuple[str, int]:
    """Host and port of BROKER_URL (without its credentials, which are not for printing)."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or _BROKER_PORTS.get(parts.scheme, 0)


def _reachable(address: tuple[str, int]) -> bool:
    """Whether something listens there (a quick TCP connect)."""
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _worker() -> Iterator[None]:
    """One worker process (and its sweeper) beside the API, stopped when the API stops.
    Without a reachable broker it is left out, with a word on how to get one."""
    from server.settings import Settings
    host, port = _broker_address(Settings().broker_url)
    if not _reachable((host, port)):
        print(f"no broker at {host}:{port} (BROKER_URL): requests stay SUBMITTED until a "
              "worker runs; start RabbitMQ, or set BROKER_URL=redis://127.0.0.1:6379/0")
        yield
        return
    # Its own session: Ctrl-C reaches only us, and we stop it with exactly one SIGTERM
    # (Dramatiq takes a second one as "kill at once").
    worker = subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--processes",
                               "1", "--threads", "2"], start_new_session=True)
    try:
        yield
    finally:
        _stop(worker)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the worker's supervisor (a graceful Dramatiq stop), then SIGKILL to its
    whole process group if it does not end in time, so no worker process is left behind."""
    if process.poll() is None:
        process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_WORKER_STOP_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
