"""`gridsteward dev` ends everything it started when told to stop, as a process manager
(SIGTERM) or a terminal (SIGINT, Ctrl-C) tells it: the API on its port, the worker and all
of their processes, within Dramatiq's graceful window."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import make_url

from domain.infra.db import libpq_url
from server.devrun import STOP_GRACE_SECONDS
from server.localdb import port_is_free
from tests.conftest import ROOT
from tests.e2e.serving import free_port
from tests.workers.live import rabbitmq_vhost

DEV_DATABASE = "gridsteward_devrun_test"


@pytest.fixture(scope="module")
def dev_database_url(database_url: str) -> str:
    """A fresh, empty database beside the test database: `dev` migrates and loads it."""
    url = make_url(database_url)
    with psycopg.connect(libpq_url(url.set(database="postgres").render_as_string(False)),
                         autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DEV_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DEV_DATABASE}")
    return url.set(database=DEV_DATABASE).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    with rabbitmq_vhost() as url:
        yield url


def _stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: state, ppid, …, starttime (20th)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2:].split()


def _descendants(root: int) -> dict[int, str]:
    """Every process below `root`, by pid, with its start time (to tell a reused pid)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, IndexError):
                continue
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        try:
            found[pid] = _stat(pid)[19]
        except OSError:
            continue
        todo += children.get(pid, [])
    return found


def _alive(pid: int, started: str) -> bool:
    try:
        fields = _stat(pid)
    except OSError:
        return False
    return fields[19] == started and fields[0] != "Z"


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _wait_until_running(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    """Until /healthz answers and the worker process is ready for action."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dev exited early:\n{log.read_text()}"
        try:
            up = httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            up = False
        if up and "Worker process is ready for action" in log.read_text():
            return
        time.sleep(0.3)
    pytest.fail(f"dev did not come up within 180 s:\n{log.read_text()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_dev_stops_everything_it_started(sig: signal.Signals, dev_database_url: str,
                                         broker_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": dev_database_url, "BROKER_URL": broker_url,
           "GRIDSTEWARD_ENV": "dev", "GRIDSTEWARD_HOME": str(tmp_path / "home")}
    env.pop("SECRET_KEY", None)
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        dev = subprocess.Popen([sys.executable, "-m", "server.cli", "dev", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_running(dev, f"http://127.0.0.1:{port}", log)
        started = _descendants(dev.pid)
        commands = " | ".join(_command_line(pid) for pid in started)
        assert "server.cli serve" in commands and "server.cli worker" in commands, commands
        dev.send_signal(sig)
        assert dev.wait(timeout=STOP_GRACE_SECONDS + 10) == 0, log.read_text()
    finally:
        if dev.poll() is None:
            dev.kill()
    deadline = time.monotonic() + 10  # a SIGKILL takes effect a moment after it is sent
    while (left := {pid: _command_line(pid) for pid, at in started.items()
                    if _alive(pid, at)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still running after dev exited: {left}\n{log.read_text()}"
    assert port_is_free(port)
