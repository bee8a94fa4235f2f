"""A private PostGIS cluster inside the project folder, for `gridsteward dev` and the tests.

Used only when DATABASE_URL is unset: it lives in `.gridsteward/pg` (data, socket and log),
listens on 127.0.0.1:54329 by default and trusts local connections, so a newcomer needs nothing
configured. PostgreSQL refuses to run as root, so under root the cluster belongs to `postgres`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 54329
SUPERUSER = "gridsteward"


class LocalDatabaseError(RuntimeError):
    """The local cluster could not be prepared; the message says what to do."""


@dataclass(frozen=True)
class LocalCluster:
    """Where the local cluster lives and how to reach it."""

    root: Path
    port: int = DEFAULT_PORT

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "gridsteward") -> str:
        """SQLAlchemy URL of a database in this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


def find_bindir() -> Path:
    """The newest PostgreSQL server binaries that have PostGIS beside them."""
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        version = Path(initdb).parts[-3]
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            return Path(initdb).parent
    raise LocalDatabaseError(
        "PostgreSQL with PostGIS is not installed: run "
        "`sudo apt-get update && sudo apt-get install -y postgresql-15-postgis-3` "
        "or set DATABASE_URL to a PostGIS database."
    )


def _as_owner(argv: list[str]) -> list[str]:
    """Run as `postgres` when we are root; PostgreSQL will not run as root."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_as_owner(argv), check=False, capture_output=True, text=True)


def _initdb(cluster: LocalCluster, bindir: Path) -> None:
    cluster.root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        uid = pwd.getpwnam("postgres")
        os.chown(cluster.root, uid.pw_uid, uid.pw_gid)
    done = _run([str(bindir / "initdb"), "-D", str(cluster.data_dir), "-U", SUPERUSER,
                 "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
    if done.returncode != 0:
        shutil.rmtree(cluster.data_dir, ignore_errors=True)
        raise LocalDatabaseError(f"initdb failed:\n{done.stderr}")


def _is_running(cluster: LocalCluster, bindir: Path) -> bool:
    return _run([str(bindir / "pg_ctl"), "-D", str(cluster.data_dir), "status"]).returncode == 0


def _start(cluster: LocalCluster, bindir: Path) -> None:
    options = (f"-p {cluster.port} -k {cluster.root} -c listen_addresses=127.0.0.1 "
               "-c max_connections=200 -c shared_buffers=256MB -c fsync=on")
    done = _run([str(bindir / "pg_ctl"), "-D", str(cluster.data_dir), "-l",
                 str(cluster.log_file), "-o", options, "-w", "-t", "60", "start"])
    if done.returncode != 0:
        raise LocalDatabaseError(
            f"could not start PostgreSQL (see {cluster.log_file}):\n{done.stderr}{done.stdout}"
        )


def _create_database(cluster: LocalCluster, bindir: Path, name: str) -> None:
    exists = _run([str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
                   SUPERUSER, "-d", "postgres", "-tAc",
                   f"SELECT 1 FROM pg_database WHERE datname = '{name}'"])
    if exists.stdout.strip() == "1":
        return
    _run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
          SUPERUSER, name])


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port` now."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _choose_port(root: Path, preferred: int) -> int:
    """The port this cluster used last time if still free, else the first free one from
    `preferred` on (another checkout's cluster may hold 54329); remembered in `root/port`."""
    remembered = root / "port"
    if remembered.exists() and port_is_free(int(remembered.read_text())):
        return int(remembered.read_text())
    port = next(p for p in range(preferred, preferred + 100) if port_is_free(p))
    remembered.write_text(str(port))
    return port


def stop_cluster(cluster: LocalCluster, *, mode: str = "fast") -> None:
    """Stop the cluster (`pg_ctl stop -m fast`: connections are cut, as in a restart)."""
    done = _run([str(find_bindir() / "pg_ctl"), "-D", str(cluster.data_dir), "-m", mode,
                 "-w", "stop"])
    if done.returncode != 0:
        raise LocalDatabaseError(f"could not stop PostgreSQL:\n{done.stderr}{done.stdout}")


def start_cluster(cluster: LocalCluster) -> None:
    """Start the (stopped) cluster again on its port; returns once it accepts connections."""
    _start(cluster, find_bindir())


def start_replica(primary: LocalCluster, root: Path, *, port: int) -> LocalCluster:
    """A hot-standby streaming replica of the running `primary` in `root` (which must not hold
    a cluster yet), on `port`: `pg_basebackup -R` (it writes standby.signal and the
    primary_conninfo that streams from `primary`, as trusted local replication allows),
    then started; returns once it accepts read-only connections."""
    bindir = find_bindir()
    replica = LocalCluster(root=root.resolve(), port=port)
    replica.root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        uid = pwd.getpwnam("postgres")
        os.chown(replica.root, uid.pw_uid, uid.pw_gid)
    done = _run([str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                 "-U", SUPERUSER, "-D", str(replica.data_dir), "-R", "-X", "stream",
                 "-c", "fast"])
    if done.returncode != 0:
        shutil.rmtree(replica.data_dir, ignore_errors=True)
        raise LocalDatabaseError(f"pg_basebackup failed:\n{done.stderr}")
    _start(replica, bindir)
    return replica


def ensure_local_cluster(root: Path, *, port: int = DEFAULT_PORT,
                         databases: tuple[str, ...] = ("gridsteward",)) -> LocalCluster:
    """Create (once) and start (if stopped) the local cluster; make sure `databases` exist."""
    root = root.resolve()
    bindir = find_bindir()
    cluster = LocalCluster(root=root, port=port)
    if not (cluster.data_dir / "PG_VERSION").exists():
        _initdb(cluster, bindir)
    if _is_running(cluster, bindir):  # postmaster.pid's fourth line is the port it listens on
        running = (cluster.data_dir / "postmaster.pid").read_text().splitlines()[3]
        cluster = LocalCluster(root=root, port=int(running))
    else:
        cluster = LocalCluster(root=root, port=_choose_port(root, port))
        _start(cluster, bindir)
    port = cluster.port
    for _attempt in range(50):
        if _run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]).returncode == 0:
            break
        time.sleep(0.2)
    for name in databases:
        _create_database(cluster, bindir, name)
    return cluster

