"""MAX_BODY_BYTES (server.middleware.BodyLimit): a body over the limit is a 413 with a JSON
error whether it declares its length or arrives in chunks; one within it reaches the app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from server.middleware import BodyLimit

LIMIT = 100


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await JSONResponse({"length": len(body)})(scope, receive, send)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=BodyLimit(echo_length, max_bytes=LIMIT))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


async def _pieces(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 10):
        yield b"x" * 10


@pytest.mark.parametrize("chunked", [False, True])
async def test_within_the_limit_reaches_the_app(client: httpx.AsyncClient,
                                                chunked: bool) -> None:
    answer = await client.post("/", content=_pieces(LIMIT) if chunked else b"x" * LIMIT)
    assert answer.status_code == 200 and answer.json() == {"length": LIMIT}


@pytest.mark.parametrize("chunked", [False, True])
async def test_over_the_limit_is_413(client: httpx.AsyncClient, chunked: bool) -> None:
    answer = await client.post("/", content=_pieces(LIMIT + 10) if chunked
                               else b"x" * (LIMIT + 1))
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
