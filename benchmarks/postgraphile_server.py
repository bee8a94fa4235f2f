"""PostGraphile, the peer of the side-by-side benchmark (benchmarks/peer.py): installed from
npm and run on the benchmark's database, stopped however the run ends.

Its packages are pinned in benchmarks/postgraphile/package.json and package-lock.json
(committed); `npm ci` installs them into benchmarks/postgraphile/node_modules (ignored by
git) the first time, and again whenever the lock file changes (a stamp file there remembers
which lock it installed). benchmarks/postgraphile/server.js says how it is configured.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchmarks.harness import processes
from benchmarks.harness.command import ROOT

FOLDER = ROOT / "benchmarks" / "postgraphile"
READY = "postgraphile ready"
#: The npm packages whose versions the report states.
PACKAGES = ("postgraphile", "@graphile/postgis", "postgraphile-plugin-connection-filter",
            "postgraphile-plugin-connection-filter-postgis")


def node_missing() -> str | None:
    """Why PostGraphile cannot run here (no node or npm), or None."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not found (install Node.js 18+)" if missing else None


def install(folder: Path = FOLDER) -> None:
    """`npm ci` in `folder` unless node_modules already holds what its lock file names."""
    lock = folder / "package-lock.json"
    stamp = folder / "node_modules" / f".installed-{_digest(lock)}"
    if stamp.exists():
        return
    print(f"installing PostGraphile from npm into {folder / 'node_modules'} (npm ci) ...")
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=folder, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark: npm ci failed in {folder}:\n{done.stderr[-2000:]}")
    for old in stamp.parent.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def versions(folder: Path = FOLDER) -> dict[str, str]:
    """Node.js's version and the installed versions of PACKAGES."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    found = {"Node.js": node.stdout.strip().lstrip("v") or "unknown"}
    for package in PACKAGES:
        with contextlib.suppress(OSError, ValueError, KeyError):
            manifest = folder / "node_modules" / package / "package.json"
            found[package] = json.loads(manifest.read_text())["version"]
    return found


@contextlib.contextmanager
def running(db: processes.Database, *, workers: int, pool_size: int
            ) -> Iterator[tuple[str, processes.Running]]:
    """PostGraphile (server.js) with `workers` processes of `pool_size` connections each on a
    free port, ready once every process built its schema and a GraphQL request is answered;
    yields its base URL and process."""
    install()
    base = f"http://127.0.0.1:{processes.free_port()}"

    def ready(log: str) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return log.count(READY) >= workers and httpx.post(
                f"{base}/graphql", json={"query": "{ __typename }"}, timeout=5
            ).status_code == 200
        return False
    env = {"DATABASE_URL": db.conninfo, "PORT": base.rsplit(":", 1)[1],
           "WORKERS": str(workers), "POOL_SIZE": str(pool_size), "NODE_ENV": "production"}
    with processes.service(["node", "server.js"], env, ready=ready, grace=10,
                           name="postgraphile", cwd=FOLDER) as server:
        yield base, server
