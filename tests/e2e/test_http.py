"""End to end over HTTP: the real `gridsteward serve` process on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from server.auth import issue_token
from tests.factories import X0, Y0, load

SECRET = "e2e-secret-used-only-by-this-test-0123456789-abcdefghij"
BODY_LIMIT = 20_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
           "GRIDSTEWARD_ENV": "production", "MAX_BODY_BYTES": str(BODY_LIMIT)}
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise RuntimeError(f"server exited:\n{output}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start within 30 s")


def _post(base: str, query: str, variables: dict[str, Any] | None = None,
          token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{base}/graphql", json={"query": query, "variables": variables or {}},
                      headers=headers, timeout=10)


async def test_coverage_over_http(server: str, sessions: Any) -> None:
    await load(sessions)
    query = ("query ($p: PointInput) { coverage(point: $p) { buildingGroup { name } "
             "grid { code } contacts { phone } } }")
    response = _post(server, query, {"p": {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}})
    assert response.status_code == 200
    assert response.json() == {"data": {"coverage": {
        "buildingGroup": {"name": "船山路63号党小组"}, "grid": {"code": "G1"}, "contacts": []}}}


async def test_tokens_over_http(server: str, sessions: Any) -> None:
    await load(sessions)
    query = "{ grids { totalCount } }"
    missing = _post(server, query).json()
    assert missing["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    good = _post(server, query, token=issue_token(SECRET, admin=True)).json()
    assert good == {"data": {"grids": {"totalCount": 2}}}
    expired = _post(server, query, token=issue_token(SECRET, admin=True, ttl_seconds=1,
                                                      now=time.time() - 60))
    assert expired.status_code == 401 and "expired" in expired.json()["errors"][0]["message"]
    forged = _post(server, query, token=issue_token("x" * 48, admin=True))
    assert forged.status_code == 401


def test_bad_input_is_never_a_500(server: str) -> None:
    response = _post(server, "query { coverage(point: {lon: 1, lat: 100}) { grid { code } } }")
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["field"] == "point.lat"
    assert "Traceback" not in response.text
    garbage = httpx.post(f"{server}/graphql", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert garbage.status_code == 400


def test_oversized_body_is_refused(server: str) -> None:
    response = _post(server, "{ __typename }", {"pad": "x" * (BODY_LIMIT + 1)})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_graphiql_on_get(server: str) -> None:
    response = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
