"""CPU use per party of the coverage benchmark, read per process from /proc: the server's
processes, the PostgreSQL backends of the benchmark database, the load process itself, other
long-lived processes and what is left (short-lived processes and the kernel)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far, per process of the server and per PostgreSQL backend
    connected to the benchmark database; by this process; by the whole machine."""

    server: dict[int, float]
    postgres: dict[int, float]
    everyone: dict[int, float]  # every process
    client: float
    busy: float
    sessions: int  # database sessions ever opened (pg_stat_database.sessions)


def cpu_snapshot(server_pid: int | None, database: str,
                 stats: psycopg.Connection[Any] | None) -> CpuSnapshot:
    tick = float(os.sysconf("SC_CLK_TCK"))
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    backends: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            rest = stat[stat.rfind(")") + 2:].split()
            pid = int(entry)
            parents[pid] = int(rest[1])
            used[pid] = (int(rest[11]) + int(rest[12])) / tick
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            if cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline:
                backends.add(pid)
    server: set[int] = set()
    if server_pid is not None:
        server = {server_pid}
        grew = True
        while grew:
            children = {pid for pid, ppid in parents.items() if ppid in server} - server
            server |= children
            grew = bool(children)
    sessions = 0
    if stats is not None:
        row = stats.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s",
                            (database,)).fetchone()
        sessions = int(row[0]) if row else 0
    return CpuSnapshot(server={pid: used[pid] for pid in server if pid in used},
                       postgres={pid: used[pid] for pid in backends}, everyone=used,
                       client=time.process_time(), busy=machine_busy_seconds(),
                       sessions=sessions)


def cpu_use(start: CpuSnapshot, end: CpuSnapshot, seconds: float) -> dict[str, float]:
    """Cores used between two snapshots. Per process, so that a process which starts during
    the window counts from zero; one that exits during it is missed: short-lived processes
    (PostgreSQL's parallel query workers among them) and the kernel are "unattributed"."""
    def delta(a: dict[int, float], b: dict[int, float]) -> float:
        return sum(v - a.get(pid, 0.0) for pid, v in b.items())
    ours = {*end.server, *end.postgres, os.getpid()}
    others = {pid: v for pid, v in end.everyone.items() if pid not in ours}
    use = {"server": delta(start.server, end.server) / seconds,
           "postgres": delta(start.postgres, end.postgres) / seconds,
           "client": (end.client - start.client) / seconds,
           "other": delta(start.everyone, others) / seconds,
           "busy": (end.busy - start.busy) / seconds,
           "new sessions/s": (end.sessions - start.sessions) / seconds}
    use["unattributed"] = max(0.0, use["busy"] - sum(
        use[k] for k in ("server", "postgres", "client", "other")))
    return use


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (/proc/stat; guest time is
    already inside user time)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / float(os.sysconf("SC_CLK_TCK"))


def wait_for_quiet(limit: float, threshold: float) -> float:
    """Wait (at most `limit` s) until the machine, between phases, uses less than
    `threshold` cores: other sessions' work on shared cores skews every figure. Returns the
    cores last seen busy."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - before
        if busy < threshold or time.monotonic() >= deadline:
            return busy

