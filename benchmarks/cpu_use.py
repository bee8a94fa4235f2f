"""Who used the CPUs during a measured window, read per process from /proc.

On a small shared machine every party of a benchmark (API, workers, PostgreSQL, the load
generator) takes its cycles from the others, and other people's work takes from all of
them; so each phase reports the cores each party used, and what other processes used.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_TICK = float(os.sysconf("SC_CLK_TCK"))


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


def tree(snap: Snapshot, roots: Iterable[int]) -> set[int]:
    """The processes `roots` and all their descendants."""
    found = set(roots)
    while grown := {pid for pid, ppid in snap.parents.items() if ppid in found} - found:
        found |= grown
    return found


def backends_of(snap: Snapshot, database: str) -> set[int]:
    """PostgreSQL backends connected to `database`."""
    return {pid for pid, cmd in snap.backends.items()
            if cmd.startswith("postgres: ") and f" {database} " in cmd}


def cores(start: Snapshot, end: Snapshot, parties: dict[str, set[int]]) -> dict[str, float]:
    """Cores each party used between two snapshots (a process that started in between
    counts from zero; one that ended in between is missed and lands in `unattributed` with
    the kernel's own work); `other` is every long-lived process outside the parties;
    `busy` the whole machine; `seconds` the window."""
    seconds = max(1e-9, end.at - start.at)

    def use(pids: Iterable[int]) -> float:
        return sum(end.used[p] - start.used.get(p, 0.0) for p in pids if p in end.used)

    ours = set().union(*parties.values()) if parties else set()
    result = {name: use(pids) / seconds for name, pids in parties.items()}
    result["other"] = use(set(end.used) - ours) / seconds
    result["busy"] = (end.busy - start.busy) / seconds
    result["seconds"] = seconds
    result["unattributed"] = max(0.0, result["busy"] - sum(
        v for k, v in result.items() if k not in {"busy", "seconds"}))
    return result


def wait_for_quiet(limit: float, threshold: float) -> float:
    """Wait (at most `limit` s) until the machine uses less than `threshold` cores over a
    second; returns the cores last seen busy."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy_seconds()
        time.sleep(1.0)
        busy = machine_busy_seconds() - before
        if busy < threshold or time.monotonic() >= deadline:
            return busy
