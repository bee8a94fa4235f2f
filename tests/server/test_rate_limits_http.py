"""Rate limits through the whole app: the lifespan makes the limiter RATE_LIMIT_STORE names
(the database by default), every request's context carries it, and X-Forwarded-For counts
behind TRUSTED_PROXIES."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import uuid4

import httpx
import pytest

from server.app import create_app
from tests.settings import make_settings

REFRESH = {"query": 'mutation { refreshSession(refreshToken: "x") { errors { code } } }'}


@asynccontextmanager
async def _client(database_url: str, **values: str) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app, its lifespan included, with limits of 2 a minute per address."""
    settings = make_settings(DATABASE_URL=database_url, GRIDSTEWARD_ENV="test",
                             SECRET_KEY="rate-limit-secret-used-only-by-this-test-0123456789",
                             BROKER_URL="redis://127.0.0.1:6379/15",
                             RATE_LIMIT_PREFIX=f"test:{uuid4().hex}:",
                             RATE_LIMIT_SIGN_IN_PER_ADDRESS="2/1m", TRUSTED_PROXIES="127.0.0.1",
                             **values)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(database_url) as client:
        yield client


async def _code(client: httpx.AsyncClient, forwarded_for: str) -> object:
    answer = await client.post("/graphql", json=REFRESH,
                               headers={"X-Forwarded-For": forwarded_for})
    body = answer.json()
    if "errors" in body:  # refused whole: 429, Retry-After as in the error
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == str(body["errors"][0]["extensions"]["retryAfter"])
        return body["errors"][0]["extensions"]
    assert answer.status_code == 200
    return body["data"]["refreshSession"]["errors"][0]["code"]


async def test_limits_hold_per_forwarded_address_over_http(client: httpx.AsyncClient) -> None:
    assert [await _code(client, "5.5.5.5") for _ in range(2)] == ["INVALID_TOKEN"] * 2
    assert await _code(client, "5.5.5.5") == {"code": "RATE_LIMITED", "retryAfter": 30}
    assert await _code(client, "6.6.6.6") == "INVALID_TOKEN"


async def test_a_store_that_is_down_lets_everyone_through(database_url: str) -> None:
    async with _client(database_url, RATE_LIMIT_STORE="redis://127.0.0.1:1/0") as client:
        codes = [await _code(client, "5.5.5.5") for _ in range(4)]
    assert codes == ["INVALID_TOKEN"] * 4  # never a 500, never RATE_LIMITED
