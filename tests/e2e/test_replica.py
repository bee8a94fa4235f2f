"""Reads on a real streaming replica: with DATABASE_REPLICA_URL set, the lag-tolerant reads
(here `coverage`) are answered by the replica, writes go to the primary, and the caller who
just wrote reads the primary (by the cookie its answer set, and by its address in the API
process), while everyone else still reads the replica.

The primary is a cluster of this module's own in a temporary folder (as the restart test's),
migrated with the demo community; the replica is made from it with `pg_basebackup -R`
(server.localdb.start_replica) into a second folder and streams from it. To tell the sides
apart, the replica's replay is paused and a grid renamed on the primary: only the primary
knows the new name until replay resumes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from domain.infra.db import libpq_url
from server.localdb import (
    LocalCluster,
    LocalDatabaseError,
    ensure_local_cluster,
    start_replica,
    stop_cluster,
)
from server.replica import COOKIE
from tests.conftest import ROOT
from tests.e2e.serving import free_port, logged_api
from tests.unavailable import unavailable
from tests.workers.live import rabbitmq_vhost

SECRET = "replica-secret-used-only-by-this-test-0123456789-abcdefgh"
COVERAGE = "query ($p: PointInput!) { coverage(point: $p) { grid { id name } } }"
SUBMIT = ("mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) "
          "{ request { id } errors { code } } }")
RENAMED = " (renamed on the primary)"


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[LocalCluster, LocalCluster]]:
    """(primary, replica): a migrated cluster with the demo community, and its replica."""
    root = Path(tempfile.mkdtemp(prefix="gridsteward-replica-"))
    root.chmod(0o755)  # PostgreSQL's own user (under root: postgres) enters it
    made: list[LocalCluster] = []
    try:
        try:
            made.append(ensure_local_cluster(root / "primary", port=free_port()))
            for step in ("migrate", "demo"):
                subprocess.run([sys.executable, "-m", "server.cli", step], cwd=ROOT,
                               check=True, capture_output=True, timeout=120,
                               env={"DATABASE_URL": made[0].url(), "GRIDSTEWARD_ENV": "test",
                                    "PATH": "/usr/bin:/bin"})
            made.append(start_replica(made[0], root / "replica", port=free_port()))
        except LocalDatabaseError as exc:
            unavailable(f"cannot start a primary and its replica: {exc}")
        yield made[0], made[1]
    finally:
        for cluster in reversed(made):
            with suppress(LocalDatabaseError):
                stop_cluster(cluster, mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


def _sql(cluster: LocalCluster, statement: str) -> Any:
    """The first row `statement` returns, if any."""
    with psycopg.connect(libpq_url(cluster.url()), autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchone() if cursor.description else None


def _wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


class Caller:
    """An HTTP client at its own address (X-Forwarded-For through a trusted proxy), keeping
    the cookies it is given."""

    def __init__(self, base: str, address: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=10,
                                   headers={"X-Forwarded-For": address})

    def post(self, query: str, variables: dict[str, Any]) -> httpx.Response:
        response = self.client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        return response

    def grid_name(self, point: dict[str, float]) -> str:
        data = self.post(COVERAGE, {"p": point}).json()["data"]
        return str(data["coverage"]["grid"]["name"])


def test_lag_tolerant_reads_are_served_by_the_replica_and_a_writer_reads_the_primary(
        clusters: tuple[LocalCluster, LocalCluster], tmp_path: Path) -> None:
    primary, replica = clusters
    grid_id, name, lon, lat = _sql(primary, "SELECT id, name, ST_X(p), ST_Y(p) FROM (SELECT "
                                   "id, name, ST_PointOnSurface(boundary) AS p FROM grid "
                                   "ORDER BY id LIMIT 1) g")
    point = {"lon": lon, "lat": lat}
    assert _sql(replica, "SELECT pg_is_in_recovery()") == (True,)
    assert _sql(primary, "SELECT pg_is_in_recovery()") == (False,)
    env = {"DATABASE_REPLICA_URL": replica.url(), "TRUSTED_PROXIES": "127.0.0.1",
           "REPLICA_STICKY_SECONDS": "60"}
    with rabbitmq_vhost() as broker, logged_api(primary.url(), SECRET, tmp_path / "api.log",
                                                 {"BROKER_URL": broker, **env}) as base:
        health = httpx.get(f"{base}/healthz", timeout=10).json()
        assert health["checks"]["replica"].startswith("ok"), health
        reader, writer = Caller(base, "10.0.0.2"), Caller(base, "10.0.0.1")
        assert reader.grid_name(point) == name

        _sql(replica, "SELECT pg_wal_replay_pause()")
        _sql(primary, f"UPDATE grid SET name = name || '{RENAMED}' WHERE id = {grid_id}")
        assert _sql(replica, f"SELECT name FROM grid WHERE id = {grid_id}") == (name,)
        # Before anyone writes, both read the replica, which does not know the new name yet.
        assert reader.grid_name(point) == name
        assert writer.grid_name(point) == name
        sessions = _sql(replica, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                        "'gridsteward' AND backend_type = 'client backend'")[0]
        assert sessions >= 2  # the API's pool on the replica (and this test's connection)

        submitted = writer.post(SUBMIT, {"input": {
            "category": "MAINTENANCE", "address": "船山路六十三号",
            "description": "楼道灯不亮"}})
        payload = submitted.json()["data"]["submitServiceRequest"]
        assert payload["errors"] == [] and payload["request"] is not None
        assert COOKIE in submitted.cookies
        assert "max-age=60" in submitted.headers["set-cookie"].lower()

        # The writer reads its own write from the primary: by its cookie, and by its address
        # even without the cookie (a client that keeps none); everyone else the replica.
        assert writer.grid_name(point) == name + RENAMED
        assert Caller(base, "10.0.0.1").grid_name(point) == name + RENAMED
        elsewhere = Caller(base, "10.0.0.3")
        elsewhere.client.cookies.set(COOKIE, "1")
        assert elsewhere.grid_name(point) == name + RENAMED
        assert reader.grid_name(point) == name

        _sql(replica, "SELECT pg_wal_replay_resume()")
        _wait_for(lambda: reader.grid_name(point) == name + RENAMED, 30,
                  "the replica to replay the rename")
    assert "Traceback" not in (tmp_path / "api.log").read_text(errors="replace")
