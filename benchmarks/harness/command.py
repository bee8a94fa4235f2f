"""What every benchmark command does the same way: signals that unwind through its clean-up,
its common options, the stamp of its start, the machine and versions it ran on, and its own
section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
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


@dataclass
class Run:
    """What every report's head states: the options, when the run started, on what machine
    (read before the run: its load average then is other people's work), with what versions."""

    args: argparse.Namespace
    started_utc: str
    machine: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)


def start(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> Run:
    """Parse the options, unwind on signals from now on (and print each line as it comes),
    stamp the run."""
    args = parse(parser, argv)
    unwind_on_signals()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return Run(args, started_utc(), machine())


def parser(name: str, module_doc: str | None) -> argparse.ArgumentParser:
    """The options of `python -m benchmarks.NAME`, described by the first paragraph of its
    module's docstring."""
    return argparse.ArgumentParser(
        prog=f"python -m benchmarks.{name}", description=(module_doc or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)


def add_common(parser: argparse.ArgumentParser, *, database: str | None) -> None:
    """--docs and --no-docs; with a `database`, the options of a benchmark that builds its
    data there and runs the real server on it."""
    if database:
        parser.add_argument("--database-url", default=None,
                            help="benchmark database (dropped and recreated unless "
                            "--skip-load; its name must contain 'bench'); default: "
                            f"{database} in the local cluster .gridsteward/pg")
        parser.add_argument("--skip-load", action="store_true",
                            help="reuse the benchmark database and its data")
        parser.add_argument("--server-env", type=env_pair, action="append", default=[],
                            metavar="NAME=VALUE",
                            help="extra environment for the API server (e.g. DB_POOL_SIZE=20)")
        parser.add_argument("--quiet-wait", type=float, default=20.0,
                            help="before each phase, wait up to this many seconds for other "
                            "processes to leave the CPUs alone; 0 does not wait")
        parser.add_argument("--quiet-threshold", type=float, default=0.25,
                            help="cores busy (over 1 s) below which the machine counts as "
                            "quiet")
    parser.add_argument("--docs", default=str(DOCS), help="Markdown file to update")
    parser.add_argument("--no-docs", "--no-write", dest="no_docs", action="store_true",
                        help="print only, leave the Markdown file as it is")


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The options, every `--*-env NAME=VALUE` list made a dict."""
    args = parser.parse_args(argv)
    for name, value in vars(args).items():
        if name.endswith("_env"):
            setattr(args, name, dict(value))
    return args


def options_text(args: argparse.Namespace, names: Sequence[str]) -> str:
    """The effective options `names` of this run, defaults included, as one would type them
    (a list gives its words, a dict one `--flag NAME=VALUE` per pair)."""
    words: list[str] = []
    for name in names:
        value, flag = getattr(args, name), "--" + name.replace("_", "-")
        if isinstance(value, dict):
            for pair in value.items():
                words += [flag, "=".join(pair)]
        else:
            items = value if isinstance(value, list) else [value]
            words += [flag, *(f"{v:g}" if isinstance(v, float) else str(v) for v in items)]
    return shlex.join(words)


def machine() -> dict[str, str]:
    """Cores, CPU model, memory, kernel and load average (call it before the run: the load
    average then is other people's work)."""
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(line.split()[1]) for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout
    return {"nproc": nproc.strip() or str(os.cpu_count()), "cpu": model,
            "ram": f"{mem_kb / 1048576:.1f} GiB", "kernel": platform.release(),
            "load average before the run": load_average()}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def versions(conn: psycopg.Connection[Any], *packages: str) -> dict[str, str]:
    """Python, PostgreSQL, PostGIS and the server's packages, then `packages`."""
    row = conn.execute("SELECT current_setting('server_version'), postgis_lib_version(), "
                       "postgis_geos_version()").fetchone()
    assert row is not None
    found = {"Python": platform.python_version(), "PostgreSQL": row[0],
             "PostGIS": f"{row[1]} (GEOS {row[2]})"}
    for package in ("strawberry-graphql", "starlette", "uvicorn", "SQLAlchemy", "psycopg"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    for package in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[f"{package} (Python)"] = metadata.version(package)
    return found


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


def publish(text: str, *, name: str, args: argparse.Namespace) -> None:
    """Print a run's report and, unless --no-docs, write it as section `name` of --docs."""
    print()
    print(text)
    if not args.no_docs:
        write_section(Path(args.docs), name, text)
        print(f"\nwritten to {args.docs}")
