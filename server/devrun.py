"""`gridsteward dev`: one command from a fresh clone to a running API with the demo community."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path


def _prepare_environment(state_dir: Path) -> None:
    from server.cli import dev_secret
    from server.localdb import ensure_local_cluster
    os.environ.setdefault("GRIDSTEWARD_ENV", "dev")
    os.environ.setdefault("SECRET_KEY", dev_secret(state_dir))
    if not os.environ.get("DATABASE_URL"):
        cluster = ensure_local_cluster(state_dir / "pg")
        os.environ["DATABASE_URL"] = cluster.url()
        print(f"local PostGIS: {cluster.url()} (data in {cluster.data_dir})")


def _step(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "server.cli", *argv], check=True)


def run_dev(state_dir: Path, *, host: str, port: int) -> int:
    """Local database when DATABASE_URL is unset, migrations, demo data, then the API until
    Ctrl-C. Prints an admin token for trying the API in GraphiQL."""
    _prepare_environment(state_dir)
    _step("migrate")
    _step("demo")
    token = subprocess.run([sys.executable, "-m", "server.cli", "token", "--admin"],
                           check=True, capture_output=True, text=True).stdout.strip()
    print(f"\nGraphiQL: http://{host}:{port}/graphql\nadmin token (Authorization: Bearer …):"
          f"\n{token}\n")
    with contextlib.suppress(KeyboardInterrupt):
        _step("serve", "--host", host, "--port", str(port))
    return 0
