"""`gridsteward worker`: Dramatiq's own command line, with the periodic jobs beside the
workers.

Dramatiq's CLI (`dramatiq.cli.main`) already does what a worker supervisor must: it forks
`processes` worker processes of `threads` threads each, collects their logs, turns SIGINT and
SIGTERM into a graceful stop, reloads on SIGHUP, and exits when a worker process dies (so
systemd or Kubernetes restarts the whole set). The periodic jobs (sweep, survey batch,
assessment refresh; workers.scheduler) run in one more process under it, a `--fork-function`.
Settings reach the child processes as a WorkerConfig in the environment (workers.config),
since `workers` does not import `server`.
"""

from __future__ import annotations

import dramatiq.cli

from workers.broker import TIME_LIMIT_MS
from workers.config import WorkerConfig, WorkerSettings

#: Graceful stop: running actors may finish (they are bounded by the time limit).
SHUTDOWN_TIMEOUT_MS = TIME_LIMIT_MS + 5_000


def dramatiq_arguments(processes: int, threads: int) -> list[str]:
    """The `dramatiq` command line `gridsteward worker` runs."""
    return ["workers.boot:setup", "--processes", str(processes), "--threads", str(threads),
            "--fork-function", "workers.scheduler:run",
            "--worker-shutdown-timeout", str(SHUTDOWN_TIMEOUT_MS)]


def run_worker(settings: WorkerSettings, processes: int, threads: int) -> int:
    """Run `processes` Dramatiq worker processes of `threads` threads, consuming every queue,
    and one process of periodic jobs, until stopped; returns the exit status."""
    if processes < 1 or threads < 1:
        raise ValueError("--processes and --threads must be at least 1")
    WorkerConfig.from_settings(settings, pool_size=threads).export()
    args = dramatiq.cli.make_argument_parser().parse_args(dramatiq_arguments(processes, threads))
    return int(dramatiq.cli.main(args) or 0)
