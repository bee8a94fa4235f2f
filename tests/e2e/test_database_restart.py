"""PostgreSQL restarted under load: every submission meanwhile is either a success or a
retryable UNAVAILABLE (HTTP 503, Retry-After, `extensions.retryAfter`), never a server error;
the outage is logged in single lines, without tracebacks; /healthz names the database while
it is down; and once it is back, submissions succeed again.

The restarted PostgreSQL is a cluster of this test's own, in a temporary folder on a free
port: the machine's PostgreSQL and the suite's cluster are left alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.localdb import (
    LocalCluster,
    LocalDatabaseError,
    ensure_local_cluster,
    start_cluster,
    stop_cluster,
)
from tests.conftest import ROOT
from tests.e2e.serving import free_port, logged_api
from tests.unavailable import unavailable
from tests.workers.live import rabbitmq_vhost

SECRET = "outage-secret-used-only-by-this-test-0123456789-abcdefgh"
SUBMIT = ("mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) "
          "{ request { id } errors { code } } }")
CLIENTS = 4


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """A PostGIS cluster for this module alone, migrated, with the demo community."""
    root = Path(tempfile.mkdtemp(prefix="gridsteward-restart-"))
    try:
        started = ensure_local_cluster(root, port=free_port())
    except LocalDatabaseError as exc:
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"cannot start a PostgreSQL cluster of our own: {exc}")
    try:
        for step in ("migrate", "demo"):
            subprocess.run([sys.executable, "-m", "server.cli", step], cwd=ROOT, check=True,
                           env={"DATABASE_URL": started.url(), "GRIDSTEWARD_ENV": "test",
                                "PATH": "/usr/bin:/bin"}, capture_output=True, timeout=120)
        yield started
    finally:
        with suppress(LocalDatabaseError):
            stop_cluster(started, mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


class Load:
    """CLIENTS threads submitting requests in a closed loop, keeping every answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.answers: list[tuple[float, int, dict[str, Any], str | None]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in
                         range(CLIENTS)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _client(self, number: int) -> None:
        with httpx.Client(timeout=30) as client:
            sent = 0
            while not self._stop.is_set():
                sent += 1
                variables = {"input": {"category": "MAINTENANCE", "address": "船山路六十三号",
                                       "description": f"楼道灯不亮 {number}-{sent}"}}
                try:
                    response = client.post(f"{self.base}/graphql",
                                           json={"query": SUBMIT, "variables": variables})
                    answer = (response.status_code, response.json(),
                              response.headers.get("retry-after"))
                except (httpx.HTTPError, ValueError) as exc:  # shown among the wrong answers
                    answer = (0, {"exception": repr(exc)}, None)
                self.answers.append((time.monotonic(), *answer))

    def successes_since(self, moment: float) -> int:
        return sum(1 for at, status, body, _ in self.answers if at > moment and status == 200
                   and ((body.get("data") or {}).get("submitServiceRequest") or {}).get(
                       "request"))


def _wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


def _is_success(status: int, body: dict[str, Any]) -> bool:
    payload = (body.get("data") or {}).get("submitServiceRequest") or {}
    return status == 200 and "errors" not in body and payload.get("request") is not None


def _is_unavailable(status: int, body: dict[str, Any], retry_after: str | None) -> bool:
    errors = body.get("errors") or []
    return (status == 503 and retry_after == "5" and body.get("data") is None and bool(errors)
            and all(e["extensions"] == {"code": "UNAVAILABLE", "retryAfter": 5}
                    for e in errors))


def test_a_database_restart_under_load_is_unavailable_then_served(
        cluster: LocalCluster, tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    with rabbitmq_vhost() as broker, logged_api(cluster.url(), SECRET, log,
                                                 {"BROKER_URL": broker}) as base, \
            Load(base) as load:
        _wait_for(lambda: load.successes_since(0) >= 10, 60, "submissions before the restart")
        stopping = time.monotonic()
        stop_cluster(cluster)
        stopped = time.monotonic()
        _wait_for(lambda: any(at > stopped for at, *_ in load.answers), 30, "answers")
        health = httpx.get(f"{base}/healthz", timeout=10)
        start_cluster(cluster)
        started = time.monotonic()
        _wait_for(lambda: load.successes_since(started) >= 10, 60,
                  "submissions after the restart")
    assert health.status_code == 503, health.text
    assert health.json()["status"] == "unavailable"
    assert health.json()["checks"]["database"].startswith("down: ")
    wrong = [(status, body) for _, status, body, retry_after in load.answers
             if not _is_success(status, body) and not _is_unavailable(status, body,
                                                                       retry_after)]
    assert not wrong, wrong[:5]
    unavailable = [at for at, status, *_ in load.answers if status == 503]
    assert unavailable, "no submission met the outage"
    assert stopping <= min(unavailable) and max(unavailable) <= started + 60
    output = log.read_text(errors="replace")
    assert "Traceback" not in output and "unexpected error" not in output, output[-5000:]
    assert "database unavailable at ['submitServiceRequest']" in output
