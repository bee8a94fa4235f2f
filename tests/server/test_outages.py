"""An unreachable database is an outage to wait out, not a bug: real connection failures and
pool timeouts are told from bugs; GraphQL answers UNAVAILABLE with the seconds to wait (HTTP
503 and Retry-After when nothing was answered), logged in one line; /healthz names what is
down. The database restarted under load is tests/e2e/test_database_restart.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette

from domain.infra.db import libpq_url, make_async_engine, outage, session_factory
from domain.settings import Settings
from schema.common.context import Context
from schema.common.ids import encode_id
from server.app import create_app
from server.auth import issue_token
from server.middleware import refusal
from tests.conftest import ADMIN
from tests.e2e.serving import free_port
from tests.settings import make_settings

SECRET = "outage-unit-secret-used-only-by-these-tests-0123456789"
NOWHERE = f"postgresql+psycopg://gridsteward@127.0.0.1:{free_port()}/nothing"
NO_BROKER = "redis://127.0.0.1:1/0"
UNAVAILABLE = {"code": "UNAVAILABLE", "retryAfter": 5}


def test_a_refused_connection_is_an_outage() -> None:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(libpq_url(NOWHERE), connect_timeout=2)
    assert (outage(refused.value) or "").startswith("OperationalError: connection failed")


async def test_a_pool_timeout_is_an_outage(database_url: str) -> None:
    engine = create_async_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        async with engine.connect():
            with pytest.raises(sqlalchemy.exc.TimeoutError) as timed_out:
                async with engine.connect():
                    pass
    finally:
        await engine.dispose()
    assert outage(timed_out.value) is not None


def test_bugs_are_not_outages() -> None:
    duplicate = sqlalchemy.exc.IntegrityError("INSERT …", {}, psycopg.errors.UniqueViolation())
    assert outage(duplicate) is None
    assert outage(ValueError("no")) is None
    try:  # raised while handling an outage, but not from it: still a bug
        try:
            raise psycopg.OperationalError("gone")
        except psycopg.OperationalError:
            raise KeyError("bug") from None
    except KeyError as bug:
        assert outage(bug) is None


async def test_a_query_without_database_is_unavailable_and_logged_once(
        gql_schema: Any, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_async_engine(NOWHERE, pool_size=1)
    context = Context(sessions=session_factory(engine), settings=make_settings(), viewer=ADMIN)
    try:
        with caplog.at_level(logging.WARNING, logger="gridsteward.errors"):
            result = await gql_schema.execute(
                "query ($id: ID!) { a: node(id: $id) { id } b: node(id: $id) { id } }",
                variable_values={"id": encode_id("Grid", 1)}, context_value=context)
    finally:
        await engine.dispose()
    assert result.data == {"a": None, "b": None}
    assert [e.formatted["extensions"] for e in result.errors] == [UNAVAILABLE] * 2
    records = [r for r in caplog.records if r.name == "gridsteward.errors"]
    assert len(records) == 1 and records[0].exc_info is None
    assert "database unavailable at ['a'] (and 1 more fields): OperationalError" in (
        records[0].getMessage())


@pytest.mark.parametrize(("answer", "nothing"), [
    ({"data": None, "errors": [{"path": ["a"], "extensions": UNAVAILABLE}]}, True),
    ({"data": {"a": None}, "errors": [{"path": ["a"], "extensions": UNAVAILABLE}]}, True),
    ({"data": {"a": None, "b": 1}, "errors": [{"path": ["a"], "extensions": UNAVAILABLE}]},
     False),
    ({"data": {"a": None, "b": None}, "errors": [{"path": ["a"], "extensions": UNAVAILABLE}]},
     False),
    ({"data": None, "errors": [{"path": ["a"], "extensions": {"code": "FORBIDDEN"}}]}, False),
    ({"data": {"a": 1}}, False),
    ([{"data": None, "errors": [{"path": ["a"], "extensions": UNAVAILABLE}]}], False),
])
def test_nothing_answered_is_told_apart(answer: object, nothing: bool) -> None:
    assert (refusal(answer) == (503, 5)) is nothing


LIMITED = {"code": "RATE_LIMITED", "retryAfter": 30}


@pytest.mark.parametrize(("answer", "refused"), [
    ({"data": None, "errors": [{"path": ["a"], "extensions": LIMITED}]}, (429, 30)),
    ({"data": None, "errors": [{"path": ["a"], "extensions": UNAVAILABLE}]}, (503, 5)),
    ({"data": {"a": None, "b": None}, "errors": [{"path": ["a"], "extensions": LIMITED},
                                                 {"path": ["b"], "extensions": UNAVAILABLE}]},
     (503, 30)),
    ({"data": {"a": None, "b": 1}, "errors": [{"path": ["a"], "extensions": LIMITED}]}, None),
    ({"data": None, "errors": [{"path": ["a"], "extensions": {"code": "FORBIDDEN"}}]}, None),
])
def test_a_refusal_names_its_status_and_wait(answer: object,
                                             refused: tuple[int, int] | None) -> None:
    assert refusal(answer) == refused


@asynccontextmanager
async def _client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app, its lifespan included, on `database_url` and an unreachable broker."""
    app: Starlette = create_app(Settings(DATABASE_URL=database_url, BROKER_URL=NO_BROKER,
                                         SECRET_KEY=SECRET, GRIDSTEWARD_ENV="test"))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


async def test_without_database_healthz_and_the_caller_look_up_are_503() -> None:
    member = issue_token(SECRET, member_id=1)
    async with _client(NOWHERE) as client:
        health = await client.get("/healthz")
        looked_up = await client.post("/graphql", json={"query": "{ grids { totalCount } }"},
                                      headers={"Authorization": f"Bearer {member}"})
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert health.json()["checks"]["database"].startswith("down: OperationalError")
    assert health.json()["checks"]["broker"] == "down: 127.0.0.1:1: Connection refused"
    assert looked_up.status_code == 503 and looked_up.headers["retry-after"] == "5"
    assert looked_up.json()["errors"][0]["extensions"] == UNAVAILABLE


async def test_without_broker_the_api_is_degraded_but_serving(database_url: str) -> None:
    async with _client(database_url) as client:
        health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "degraded", "checks": {
        "database": "ok", "broker": "down: 127.0.0.1:1: Connection refused"}}


async def test_an_answer_with_nothing_but_unavailable_is_503() -> None:
    admin = issue_token(SECRET, admin=True)
    async with _client(NOWHERE) as client:
        answer = await client.post("/graphql", json={"query": "{ grids { totalCount } }"},
                                   headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json()["data"] is None
    assert answer.json()["errors"][0]["extensions"] == UNAVAILABLE


@pytest.mark.parametrize("question", ['point: {lon: 112.6, lat: 26.9}', 'address: "船山路63号"'])
async def test_coverage_without_database_is_503(question: str) -> None:
    """Coverage reads through psycopg on a pooled connection (domain.infra.rows), not a
    Session: a refused connection there is the same outage, answered the same way."""
    async with _client(NOWHERE) as client:
        answer = await client.post("/graphql", json={
            "query": f"{{ coverage({question}) {{ grid {{ id }} building {{ id }} }} }}"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json()["errors"][0]["extensions"] == UNAVAILABLE


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_without_database_a_websocket_is_closed_try_again_later() -> None:
    from starlette.testclient import TestClient  # its WebSocket client; httpx has none
    member = issue_token(SECRET, member_id=1)
    app = create_app(Settings(DATABASE_URL=NOWHERE, BROKER_URL=NO_BROKER, SECRET_KEY=SECRET,
                              GRIDSTEWARD_ENV="test"))
    with TestClient(app) as client, client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        socket.send_json({"type": "connection_init",
                          "payload": {"Authorization": f"Bearer {member}"}})
        assert socket.receive() == {"type": "websocket.close", "code": 1013}
