"""HTTP bodies that are not a GraphQL request, over the real ASGI app: each is a 400 with a
JSON error body, never a 500 and never a stack trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.e2e.serving import app_client

JSON = {"content-type": "application/json"}
BODIES = {
    "a JSON string": b'"hello"',
    "JSON null": b"null",
    "a JSON number": b"1",
    "a JSON array": b'[{"query": "{ __typename }"}]',
    "invalid UTF-8": b'{"query": "{ coverage(address: \\"\xff\xfe\\") { matchedAddress } }"}',
    "UTF-16": '{"query": "{ __typename }"}'.encode("utf-16"),
    "JSON nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "an object nested 100,000 deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "variables nested too deep": b'{"query": "{ __typename }", "variables": {"v": '
                                 + b"[" * 500 + b"]" * 500 + b"}}",
    "NaN": b'{"query": "query ($p: PointInput) { coverage(point: $p) { matchedAddress } }", '
           b'"variables": {"p": {"lon": NaN, "lat": 1}}}',
    "truncated JSON": b'{"query": "{ __typename }"',
    "query not a string": b'{"query": 1}',
    "variables not an object": b'{"query": "{ __typename }", "variables": [1]}',
    "operationName not a string": b'{"query": "{ __typename }", "operationName": {"a": 1}}',
    "operationName unknown": b'{"query": "{ __typename }", "operationName": "a\\u0000"}',
    "no query": b'{"variables": {}}',
}

SECRET = "http-abuse-secret-used-only-by-this-test-0123456789"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(database_url, SECRET) as client:
        yield client


def _refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize("name", list(BODIES))
async def test_body_that_is_not_a_request_is_400(client: httpx.AsyncClient, name: str) -> None:
    _refused(await client.post("/graphql", content=BODIES[name], headers=JSON))


async def test_variables_in_the_query_string_are_bounded_too(client: httpx.AsyncClient) -> None:
    deep = "[" * 1000 + "]" * 1000
    for variables in ("null", "1", deep, "\"x\"", "%ff"):
        _refused(await client.get("/graphql", params={"query": "{ __typename }",
                                                      "variables": variables}))


async def test_a_good_request_still_works(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


async def test_other_refusals_are_json_too(client: httpx.AsyncClient) -> None:
    body = _refused(await client.post("/graphql", content=b"{ __typename }",
                                      headers={"content-type": "text/plain"}))
    assert body["errors"][0]["message"] == "Unsupported content type"
