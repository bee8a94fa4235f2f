"""What every benchmark command does the same way: signals that unwind through its clean-up,
the stamp of its start, NAME=VALUE options, and its own section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from domain.infra.db import libpq_url
from domain.infra.migrate import upgrade_database
from server.localdb import ensure_local_cluster

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"

_INTRO = """# Benchmarks

Each section below is written by its benchmark (`benchmarks/`) between its markers; re-running
a benchmark replaces its own section only.
"""


def unwind_on_signals() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, so the finally blocks that stop servers and
    workers run, even when the shell started us with SIGINT ignored (a background job)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def started_utc() -> str:
    """Now, as `date -u` prints it (the stamp of a run in the docs)."""
    return subprocess.run(["date", "-u"], capture_output=True, text=True,
                          check=False).stdout.strip()


def env_pair(text: str) -> tuple[str, str]:
    """An argparse type for NAME=VALUE."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def write_section(path: Path, name: str, section: str) -> None:
    """Replace the section `name` of `path` (between `<!-- name:start -->` and
    `<!-- name:end -->`), or append it, leaving the rest as it is."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{section}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else _INTRO
    if start in old and end in old:
        head, _, rest = old.partition(start)
        new = head + block + rest.partition(end)[2]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")


def publish(text: str, *, name: str, docs: str | Path | None) -> None:
    """Print a run's report and, unless `docs` is None, write it as section `name`."""
    print()
    print(text)
    if docs is not None:
        write_section(Path(docs), name, text)
        print(f"\nwritten to {docs}")


def local_database(name: str, *, fresh: bool = True) -> str:
    """The URL of database `name` in the project's local cluster (.gridsteward/pg), dropped
    and created anew when `fresh`, and migrated."""
    cluster = ensure_local_cluster(ROOT / ".gridsteward" / "pg", databases=())
    if fresh:
        with psycopg.connect(libpq_url(cluster.url("postgres")), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    url = cluster.url(name)
    upgrade_database(url)
    return url
