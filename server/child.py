"""A child process that `gridsteward dev` starts and, whatever happens, ends with all of its own.

Each child runs in its own session (and so its own process group): a terminal's Ctrl-C or a
process manager's SIGTERM reaches `gridsteward dev` alone, which then stops each child the way
a process manager would: exactly one SIGTERM to the child itself (Dramatiq takes a second one
as "kill at once"; uvicorn forwards it to its workers), and once the child has exited or its
grace has run out, SIGKILL to its whole group, so that nothing it started is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence


class Child:
    """One command in its own session; `start()` it, watch `exit_code`, `stop()` it."""

    def __init__(self, name: str, argv: Sequence[str], *, grace: float) -> None:
        self.name = name
        self.argv = list(argv)
        self.grace = grace
        self._process: subprocess.Popen[bytes] | None = None
        self._terminated = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> Child:
        """Start the command (again, if it ran before and has exited)."""
        self._process = subprocess.Popen(self.argv, start_new_session=True)
        self._terminated = False
        return self

    @property
    def exit_code(self) -> int | None:
        """None while it runs (or before it started); then its exit status, negative for a
        signal as in `subprocess`."""
        return self._process.poll() if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def terminate(self) -> None:
        """Ask it to stop: one SIGTERM to the child alone, never a second one."""
        if self.running and not self._terminated and self._process is not None:
            self._terminated = True
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()

    def finish(self, deadline: float, hurry: threading.Event | None = None) -> int | None:
        """Wait for it until `deadline` (time.monotonic()) or until `hurry` is set, then
        SIGKILL its whole group (the child if it is still there, and whatever it left);
        returns its exit status."""
        if self._process is None:
            return None
        while self.running and time.monotonic() < deadline and not (hurry and hurry.is_set()):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        return self._process.wait()

    def stop(self, hurry: threading.Event | None = None) -> int | None:
        """`terminate()`, then `finish()` within its grace."""
        self.terminate()
        return self.finish(time.monotonic() + self.grace, hurry)


def stop_all(children: Iterable[Child], hurry: threading.Event | None = None) -> None:
    """Stop several children at once: SIGTERM to each, then wait for each within its grace
    (counted from the same moment) or until `hurry` is set, then SIGKILL to each group."""
    started = [child for child in children if child.pid is not None]
    for child in started:
        child.terminate()
    now = time.monotonic()
    for child in started:
        child.finish(now + child.grace, hurry)
