"""The real `gridsteward serve` process for end-to-end tests, on a free port; and the same
application in the test's own process behind httpx (`app_client`)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from domain.settings import Settings
from server.app import create_app


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_api(database_url: str, secret: str, **env: str) -> Iterator[str]:
    """`gridsteward serve` in production mode against `database_url`, with `env` added to the
    environment (rate limits off unless `env` sets RATE_LIMIT_STORE); yields its base URL
    (http://127.0.0.1:PORT) once /healthz answers."""
    with logged_api(database_url, secret, None, env) as base:
        yield base


@contextmanager
def logged_api(database_url: str, secret: str, log: Path | None,
               env: dict[str, str]) -> Iterator[str]:
    """`running_api`, its output appended to `log` (when given)."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret,
                   "GRIDSTEWARD_ENV": "production", "RATE_LIMIT_STORE": "off", **env}
    with log.open("ab") if log else contextlib.nullcontext(subprocess.PIPE) as output:
        process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port",
                                    str(port)], env=environment, stdout=output,
                                   stderr=subprocess.STDOUT)
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
            output = process.stdout.read().decode() if process.stdout else "(see its log)"
            raise RuntimeError(f"server exited:\n{output}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start within 30 s")


def post(base: str, query: str, variables: dict[str, Any] | None = None,
         token: str | None = None) -> httpx.Response:
    """One GraphQL request over HTTP, with a bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{base}/graphql", json={"query": query, "variables": variables or {}},
                      headers=headers, timeout=10)


#: The header a multipart request must carry (CSRF: browsers cannot send it cross-site
#: without a preflight).
PREFLIGHT = {"GraphQL-Require-Preflight": "1"}


def multipart(base: str, query: str, variables: dict[str, Any], files: dict[str, bytes],
              token: str | None = None, headers: dict[str, str] | None = None
              ) -> httpx.Response:
    """A GraphQL multipart request: `files` maps variable paths (input.photos.0) to bytes."""
    names = {str(i): path for i, path in enumerate(files)}
    parts: dict[str, tuple[str | None, Any] | tuple[str, bytes, str]] = {
        "operations": (None, json.dumps({"query": query, "variables": variables})),
        "map": (None, json.dumps({n: [f"variables.{p}"] for n, p in names.items()}))}
    for name, path in names.items():
        parts[name] = (f"photo{name}.jpg", files[path], "application/octet-stream")
    sent = dict(PREFLIGHT if headers is None else headers)
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{base}/graphql", files=parts, headers=sent, timeout=60)


@contextlib.asynccontextmanager
async def app_client(database_url: str, secret: str) -> AsyncIterator[httpx.AsyncClient]:
    """The application in this process, its lifespan run, behind httpx's ASGI transport
    (an error in the app is answered as the server would answer it, not raised), at
    http://api."""
    settings = Settings(DATABASE_URL=database_url, GRIDSTEWARD_ENV="test", SECRET_KEY=secret,
                        BROKER_URL="redis://127.0.0.1:6379/15")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client
