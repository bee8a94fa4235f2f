"""`gridsteward dev`: one command from a fresh clone to a running API with the demo community.

It starts `gridsteward serve` and, when a broker answers, one `gridsteward worker`, each a
`server.child.Child` in its own session, and stops them both on SIGTERM or SIGINT (Ctrl-C) as
a process manager would, so that nothing it started outlives it. The commands run as
`python -m server.cli …`: this module does not import the command line.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType

from server.child import Child, stop_all
from workers.cli import SHUTDOWN_TIMEOUT_MS

#: How long `serve` and the worker may take to stop after SIGTERM before their process groups
#: are killed: Dramatiq's graceful window, in which running actors finish.
STOP_GRACE_SECONDS = SHUTDOWN_TIMEOUT_MS / 1000
#: How often the children are looked at while they run.
WATCH_SECONDS = 0.5
#: The pause before a worker that exited on its own is started again.
WORKER_RESTART_SECONDS = 1.0


class StopSignals:
    """While entered, SIGTERM and SIGINT set `requested` instead of ending the process, so
    that the children are stopped first; a second one sets `hurry` (kill them now)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.hurry = threading.Event()
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested.is_set():
            self.hurry.set()
        self.requested.set()


def dev_secret(state_dir: Path) -> str:
    """A random secret kept in the state folder, so dev tokens survive restarts."""
    path = state_dir / "secret_key"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _prepare_environment(state_dir: Path) -> None:
    from server.localdb import ensure_local_cluster
    os.environ.setdefault("GRIDSTEWARD_ENV", "dev")
    os.environ.setdefault("SECRET_KEY", dev_secret(state_dir))
    if not os.environ.get("DATABASE_URL"):
        cluster = ensure_local_cluster(state_dir / "pg")
        os.environ["DATABASE_URL"] = cluster.url()
        print(f"local PostGIS: {cluster.url()} (data in {cluster.data_dir})")


def command(name: str, *args: str) -> Child:
    """`gridsteward NAME ARGS…` as a child, not yet started."""
    return Child(name, [sys.executable, "-m", "server.cli", name, *args],
                 grace=STOP_GRACE_SECONDS)


def run_dev(state_dir: Path, *, host: str, port: int) -> int:
    """Local database when DATABASE_URL is unset, migrations, demo data, then the API and one
    worker until SIGTERM or Ctrl-C. Prints an admin token for trying the API in GraphiQL."""
    with StopSignals() as stop:
        _prepare_environment(state_dir)
        for step in (command("migrate"), command("demo")):
            status = _run_step(step, stop)
            if stop.requested.is_set():
                return 0
            if status != 0:
                return 1
        _print_welcome(host, port)
        children = [command("serve", "--host", host, "--port", str(port))]
        worker = _worker()
        children += [worker] if worker is not None else []
        try:
            for child in children:
                child.start()
            return _watch(children, stop)
        finally:
            if any(child.running for child in children):
                print("gridsteward dev: stopping (once more to kill at once)", file=sys.stderr,
                      flush=True)
            stop_all(children, stop.hurry)


def _run_step(step: Child, stop: StopSignals) -> int | None:
    """Run a preparing command to its end, or stop it when a stop is requested meanwhile;
    its exit status."""
    step.start()
    while step.running and not stop.requested.wait(WATCH_SECONDS):
        pass
    return step.stop(stop.hurry)


def _watch(children: list[Child], stop: StopSignals) -> int:
    """Wait until a stop is requested (status 0) or `serve` exits on its own (status 1, said
    on stderr). The worker, when it exits on its own, is started again after
    WORKER_RESTART_SECONDS, as systemd's Restart= would: its periodic jobs run only while it
    does (workers.periodic)."""
    while not stop.requested.wait(WATCH_SECONDS):
        for child in children:
            if child.exit_code is None:
                continue
            if child.name != "worker":
                print(f"gridsteward dev: {child.name} exited (status {child.exit_code}); "
                      "stopping", file=sys.stderr)
                return 1
            print(f"gridsteward dev: the worker exited (status {child.exit_code}); starting "
                  f"it again in {WORKER_RESTART_SECONDS:g} s", file=sys.stderr, flush=True)
            if stop.requested.wait(WORKER_RESTART_SECONDS):
                return 0
            child.finish(time.monotonic())  # SIGKILL whatever it left in its group
            child.start()
    return 0


def _print_welcome(host: str, port: int) -> None:
    from domain.settings import Settings
    from server.auth import issue_token
    settings = Settings()
    token = issue_token(settings.secret_key, admin=True,
                        ttl_seconds=settings.token_ttl_seconds)
    print(f"\nGraphiQL: http://{host}:{port}/graphql\nadmin token (Authorization: Bearer …):"
          f"\n{token}\n", flush=True)


def _worker() -> Child | None:
    """One worker (and its periodic jobs) beside the API; without a reachable broker none,
    with a word on how to get one."""
    from domain.settings import Settings
    from server.probe import unreachable
    why = unreachable(Settings().broker_url)
    if why is not None:
        print(f"no broker at {why} (BROKER_URL): requests stay SUBMITTED until a worker "
              "runs; start RabbitMQ, or set BROKER_URL=redis://127.0.0.1:6379/0")
        return None
    return command("worker", "--processes", "1", "--threads", "2")
