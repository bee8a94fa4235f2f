"""Who used the CPUs during a measured window, read per process from /proc.

On a small shared machine every party of a benchmark (API server, workers, PostgreSQL, the
load generator) takes its cycles from the others, and other people's work takes from all of
them; so each phase reports the cores each party used, and what other processes used.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Clock ticks per second, the unit of the CPU times in /proc.
TICK = _TICK = float(os.sysconf("SC_CLK_TCK"))


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds used so far by every process, their parents and PostgreSQL backends'
    command lines, and by the whole machine (not idle)."""

    at: float
    used: dict[int, float]
    parents: dict[int, int]
    backends: dict[int, str]
    busy: float


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / _TICK


def snapshot() -> Snapshot:
    used: dict[int, float] = {}
    parents: dict[int, int] = {}
    backends: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            rest = stat[stat.rfind(")") + 2:].split()
            pid = int(entry)
            parents[pid] = int(rest[1])
            used[pid] = (int(rest[11]) + int(rest[12])) / _TICK
            if stat[stat.find("(") + 1:].startswith("postgres"):
                backends[pid] = Path(f"/proc/{entry}/cmdline").read_bytes().decode(
                    errors="replace")
    return Snapshot(time.monotonic(), used, parents, backends, machine_busy_seconds())


def tree(snap: Snapshot, roots: Iterable[int | None]) -> set[int]:
    """The processes `roots` and all their descendants."""
    found = {pid for pid in roots if pid}
    while grown := {pid for pid, ppid in snap.parents.items() if ppid in found} - found:
        found |= grown
    return found


def parties(snap: Snapshot, *, database: str, server: int | None = None,
            workers: int | None = None) -> dict[str, set[int]]:
    """The benchmark's parties: the API server's and the workers' process trees, the
    PostgreSQL backends connected to `database`, and this process (the client)."""
    return {"server": tree(snap, [server]), "workers": tree(snap, [workers]),
            "postgres": {pid for pid, cmd in snap.backends.items()
                         if cmd.startswith("postgres: ") and f" {database} " in cmd},
            "client": {os.getpid()}}


def cores(start: Snapshot, end: Snapshot, parties: dict[str, set[int]]) -> dict[str, float]:
    """Cores each party used between two snapshots (a process that started in between
    counts from zero; one that ended in between is missed and lands in `unattributed` with
    the kernel's own work); `other` is every long-lived process outside the parties;
    `busy` the whole machine; `seconds` the window."""
    seconds = max(1e-9, end.at - start.at)
    ours = set().union(*parties.values()) if parties else set()
    result = {name: used(start, end, pids) / seconds for name, pids in parties.items()}
    result["other"] = used(start, end, set(end.used) - ours) / seconds
    result["busy"] = (end.busy - start.busy) / seconds
    result["seconds"] = seconds
    result["unattributed"] = max(0.0, result["busy"] - sum(
        v for k, v in result.items() if k not in {"busy", "seconds"}))
    return result


def used(start: Snapshot, end: Snapshot, pids: Iterable[int]) -> float:
    """CPU seconds the processes `pids` used between two snapshots."""
    return sum(end.used[p] - start.used.get(p, 0.0) for p in pids if p in end.used)


def wait_for_quiet(limit: float, threshold: float) -> None:
    """Wait (at most `limit` s) until the machine uses less than `threshold` cores over a
    second; say so when it did not get quiet."""
    deadline = time.monotonic() + limit
    while limit > 0:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - before
        if busy < threshold:
            return
        if time.monotonic() >= deadline:
            print(f"  (the machine is busy with other work: {busy:.2f} cores before the "
                  "phase)")
            return
