"""What every benchmark report prints the same way: the nearest-rank percentile, numbers and
verdicts, Markdown table rows, and the head of a section (title, how to run it, the run's
machine and versions)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmarks.harness.command import Run


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` from 0 to 1) of `values`; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def number(value: float, digits: int = 1) -> str:
    """`value` with thousands separators, "–" when not measured (NaN)."""
    return "–" if math.isnan(value) else f"{value:,.{digits}f}"


def row(*cells: object) -> str:
    """One Markdown table row."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def heading(title: str, intro: str, command: str, run: Run, shared: str) -> list[str]:
    """A section's head: its title and what it measures, the command that runs it, the run's
    stamp, and its machine (`shared`: who shares its cores) and versions bullets."""
    machine = run.machine
    after = machine.get("load average after the run")
    return [
        f"## {title}", "", intro, "", "```sh", command, "```", "",
        f"### Run of {run.started_utc}", "",
        f"- **Machine**: {machine['nproc']} cores ({machine['cpu']}), {machine['ram']} RAM, "
        f"Linux {machine['kernel']}; load average before the run "
        f"{machine['load average before the run']}" + (f", after it {after}" if after else "")
        + f". {shared}",
        "- **Versions**: " + ", ".join(f"{k} {v}" for k, v in run.versions.items()) + ".",
    ]
