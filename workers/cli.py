"""`gridsteward worker`: Dramatiq's own command line, each worker process running the actors
and the periodic jobs (workers.periodic).

Dramatiq's CLI (`dramatiq.cli.main`) forks `processes` worker processes of `threads` threads
each, collects their logs, turns SIGINT and SIGTERM into a graceful stop, reloads on SIGHUP,
and, when a worker process dies, stops the others and exits non-zero, so that systemd,
Kubernetes or `gridsteward dev` starts the whole set again. Each worker process calls `setup`
(Dramatiq's broker callable) and reads the settings from the environment it inherited.
"""

from __future__ import annotations

import dramatiq
import dramatiq.cli

from domain.settings import Settings
from workers.actors import declare_actors
from workers.broker import TIME_LIMIT_MS, declare_queues, make_broker
from workers.periodic import PeriodicJobs
from workers.runtime import Runtime
from workers.schedule import periodic_jobs

#: Graceful stop: running actors may finish (they are bounded by the time limit).
SHUTDOWN_TIMEOUT_MS = TIME_LIMIT_MS + 5_000


def dramatiq_arguments(processes: int, threads: int) -> list[str]:
    """The `dramatiq` command line `gridsteward worker` runs."""
    return ["workers.cli:setup", "--processes", str(processes), "--threads", str(threads),
            "--worker-shutdown-timeout", str(SHUTDOWN_TIMEOUT_MS)]


def run_worker(processes: int, threads: int) -> int:
    """Run `processes` Dramatiq worker processes of `threads` threads, consuming every queue
    and running the periodic jobs, until stopped; returns the exit status (non-zero when a
    worker process died)."""
    if processes < 1 or threads < 1:
        raise ValueError("--processes and --threads must be at least 1")
    args = dramatiq.cli.make_argument_parser().parse_args(dramatiq_arguments(processes, threads))
    return int(dramatiq.cli.main(args) or 0)


def setup() -> None:
    """Dramatiq's broker callable, in each worker process: the broker, set as Dramatiq's
    global broker before the actors are declared on it (explicitly, in that order), the
    periodic jobs beside them, and the queues created before they are consumed."""
    settings = Settings()
    broker = make_broker(settings.broker_url)
    dramatiq.set_broker(broker)
    actors = declare_actors(broker, Runtime(settings))
    broker.add_middleware(PeriodicJobs(
        settings, lambda engine: periodic_jobs(settings, actors, engine)))
    declare_queues(broker)
