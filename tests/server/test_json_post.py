"""A JSON POST, answered straight through the schema (server.json_post), answers as
strawberry's view answers the same request by GET or multipart: same data, same errors, same
refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.json_post import is_json_post
from tests.e2e.serving import app_client

QUERY = "query ($a: String!) { coverage(address: $a) { matchedAddress } }"

SECRET = "json-post-secret-used-only-by-this-test-0123456789"


@pytest.fixture
async def client(database_url: str, sessions: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a database emptied for the test (`sessions`)."""
    async with app_client(database_url, SECRET) as client:
        yield client


def _scope(method: str, content_type: bytes | None) -> dict[str, Any]:
    headers = [(b"host", b"api")] + ([(b"content-type", content_type)] if content_type else [])
    return {"type": "http", "method": method, "headers": headers}


@pytest.mark.parametrize(("method", "content_type", "taken"), [
    ("POST", b"application/json", True),
    ("POST", b"application/json; charset=utf-8", True),
    ("POST", b"application/graphql-response+json", False),
    ("POST", b"Application/JSON", False),  # strawberry's test is case-sensitive: its 400
    ("POST", b"multipart/form-data; boundary=x", False),
    ("POST", None, False),
    ("GET", b"application/json", False),
])
def test_which_requests_are_json_posts(method: str, content_type: bytes | None,
                                       taken: bool) -> None:
    assert is_json_post(_scope(method, content_type)) is taken


async def test_a_json_post_answers_as_a_get(client: httpx.AsyncClient) -> None:
    variables = '{"a": "船山路63号"}'
    posted = await client.post("/graphql", json={"query": QUERY, "variables": {"a": "船山路63号"}})
    got = await client.get("/graphql", params={"query": QUERY, "variables": variables})
    assert posted.status_code == got.status_code == 200
    assert posted.json() == got.json() == {"data": {"coverage": None}}
    assert posted.headers["content-type"] == "application/json"
    assert int(posted.headers["content-length"]) == len(posted.content)


async def test_a_body_in_pieces_is_read_whole(client: httpx.AsyncClient) -> None:
    body = b'{"query": "{ __typename }"}'

    async def pieces() -> AsyncIterator[bytes]:
        for at in range(0, len(body), 5):
            yield body[at:at + 5]

    answer = await client.post("/graphql", content=pieces(),
                               headers={"content-type": "application/json; charset=utf-8"})
    assert answer.status_code == 200 and answer.json() == {"data": {"__typename": "Query"}}


async def test_errors_have_the_views_shape(client: httpx.AsyncClient) -> None:
    answer = await client.post("/graphql", json={"query": "{ nothingHere }"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"] is None and "nothingHere" in body["errors"][0]["message"]
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 3}]


@pytest.mark.parametrize(("body", "reason"), [
    ({"variables": {}}, "No GraphQL query found in the request"),
    ({"query": "{ __typename }", "operationName": "Other"}, 'Unknown operation named "Other".'),
    ({"query": 1}, "The GraphQL operation's `query` must be a string or null, if provided."),
    ({"query": "{ __typename }", "extensions": [1]},
     "The GraphQL operation's `extensions` must be an object or null, if provided."),
])
async def test_refusals_are_the_views(client: httpx.AsyncClient, body: dict[str, Any],
                                      reason: str) -> None:
    answer = await client.post("/graphql", json=body)
    assert answer.status_code == 400
    assert answer.json() == {"data": None, "errors": [
        {"message": reason, "extensions": {"code": "BAD_REQUEST"}}]}
