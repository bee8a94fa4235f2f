"""Keeping one child process running: started again, after a growing pause, whenever it dies.

Dramatiq's command line watches its worker processes (one that dies stops the whole worker, so
systemd or Kubernetes restarts the set) but not its fork processes. The periodic jobs run in
one (workers.scheduler); had they died with it (SIGKILL, the OOM killer, a crash at boot),
accept timeouts, escalations, retries and survey batches would stop, silently, until someone
restarted the worker. So that fork process is a small supervisor: it forks the process that
runs the jobs, waits for it, and starts it again when it exits without being asked to.

POSIX only (os.fork): Dramatiq's fork processes are daemonic, and multiprocessing refuses
children to a daemonic process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

log = logging.getLogger("gridsteward.scheduler")

#: Seconds a child has to finish after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Backoff:
    """Pauses before restarts: `first`, doubling up to `longest`; back to `first` once a child
    has run `healthy_after` seconds (it was fine, and died of something new)."""

    first: float = 1.0
    longest: float = 60.0
    healthy_after: float = 60.0

    def pause(self, previous: float | None, ran: float) -> float:
        """The pause before the next start, after a child that ran `ran` seconds; `previous`
        is the pause before that child (None for the first)."""
        if previous is None or ran >= self.healthy_after:
            return self.first
        return min(self.longest, previous * 2)


def keep_running(target: Callable[[int], object], *, name: str,
                 backoff: Backoff = Backoff()) -> NoReturn:
    """Run `target(supervisor_pid)` in a forked child, and again after each unexpected exit,
    until this process is told to stop (a SystemExit or KeyboardInterrupt raised by a signal
    handler, as Dramatiq's fork processes have); then the child gets SIGTERM and
    STOP_GRACE_SECONDS before SIGKILL. The child should stop by itself when the supervisor
    dies: `target` gets the supervisor's pid to watch for that."""
    pause: float | None = None
    while True:
        started = time.monotonic()
        pid = _fork(target)
        log.info("%s running in process %d", name, pid)
        try:
            status = os.waitpid(pid, 0)[1]
        except BaseException:
            _stop(pid)
            raise
        ran = time.monotonic() - started
        pause = backoff.pause(pause, ran)
        log.critical("%s (process %d) exited unexpectedly (%s) after %.1f s; starting it again "
                     "in %.0f s", name, pid, _describe(status), ran, pause)
        time.sleep(pause)


def _fork(target: Callable[[int], object]) -> int:
    """Fork; in the child run `target` and leave with its exit code, never returning."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        target(parent)
        code = 0
    except SystemExit as exc:  # sys.exit(): None is success, a message is failure
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        log.exception("the supervised process failed")
    finally:
        logging.shutdown()
        os._exit(code)


def _stop(pid: int) -> None:
    """SIGTERM, a grace period, then SIGKILL; reaps the child whatever happens meanwhile."""
    reaped = False
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while not (reaped := os.waitpid(pid, os.WNOHANG)[0] != 0):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    except ChildProcessError:
        reaped = True
    finally:
        if not reaped:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
