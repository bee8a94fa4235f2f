"""What happened around one measured phase of the dispatch benchmark: the CPU each party
used (benchmarks/cpu_use.py), the sweeper's triggers and the warnings in the worker's log,
and what this process logged at WARNING or above (a failed enqueue, say)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator

from benchmarks import cpu_use
from benchmarks.coverage import Database
from benchmarks.worker_stack import RunningWorker

SWEEP_LINE = re.compile(r"gridsteward\.sweeper.*sweep: \d+ accept timeouts, \d+ escalations, "
                        r"(\d+) triggers enqueued")
TROUBLE_LINE = re.compile(r"^.*\] \[(?:WARNING|ERROR|CRITICAL)\] .*$", re.MULTILINE)


class Watch:
    """CPU snapshots and the worker log's sweeper lines over one phase's window."""

    def __init__(self, db: Database, worker: RunningWorker | None,
                 server_pid: int | None) -> None:
        """`worker` may be None when the phase starts the worker itself: `attach` it then
        (its whole log and CPU count, boot included)."""
        self.db, self.server_pid = db, server_pid
        self._worker = worker
        self.start: cpu_use.Snapshot | None = None
        self.end: cpu_use.Snapshot | None = None
        self.log_from = 0

    @property
    def worker(self) -> RunningWorker:
        assert self._worker is not None, "no worker attached"
        return self._worker

    def attach(self, worker: RunningWorker) -> None:
        self._worker = worker

    def begin(self) -> None:
        self.log_from = self._worker.log.stat().st_size if self._worker else 0
        self.start = cpu_use.snapshot()

    def finish(self) -> None:
        self.end = cpu_use.snapshot()

    def cores(self) -> dict[str, float]:
        assert self.start is not None and self.end is not None
        end = self.end
        parties = {"workers": cpu_use.tree(end, [self.worker.pid]),
                   "PostgreSQL": cpu_use.backends_of(end, self.db.name),
                   "benchmark": {os.getpid()}}
        parties["API server"] = (cpu_use.tree(end, [self.server_pid])
                                 if self.server_pid else set())
        return cpu_use.cores(self.start, end, parties)

    def _log(self) -> str:
        with self.worker.log.open("rb") as log:
            log.seek(self.log_from)
            return log.read().decode(errors="replace")

    def sweeper_triggers(self) -> int:
        return sum(int(m.group(1)) for m in SWEEP_LINE.finditer(self._log()))

    def trouble(self) -> list[str]:
        """The worker's warnings and errors during the phase."""
        return TROUBLE_LINE.findall(self._log())


class Complaints(logging.Handler):
    """Collects what this process logs at WARNING or above (failed enqueues, say)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"[{record.name}] {record.getMessage()}")

    @contextlib.contextmanager
    def attached(self) -> Iterator[Complaints]:
        root = logging.getLogger()
        root.addHandler(self)
        try:
            yield self
        finally:
            root.removeHandler(self)
