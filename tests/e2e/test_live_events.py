"""Live events end to end: the real `gridsteward serve` process, a graphql-transport-ws
subscription over a WebSocket, and events written by ANOTHER process (a Python subprocess
inserting rows with psycopg, as a worker would) reaching the screen through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from schema.common.ids import encode_id
from server.auth import issue_token
from server.events import libpq_url
from tests.e2e.serving import running_api
from tests.factories import load
from tests.requests_factory import community_with_stewards

SECRET = "e2e-live-secret-used-only-by-this-test-0123456789-abcdefgh"
DEADLINE = 20.0  # seconds for an event to arrive, retries included
ATTEMPT = 3.0    # seconds to wait for one written batch before writing it again
SUBSCRIBE = """subscription ($scope: ScopeInput) { serviceRequestEvents(scope: $scope) {
  kind note toStatus request { number status grid { code } } } }"""

#: Run in a separate Python process: inserts, for each spec, a minimal service_request and
#: one request_event, each in its own transaction (autocommit), in the order given.
WRITER = """
import json, sys, uuid
import psycopg
url, specs = sys.argv[1], json.loads(sys.argv[2])
with psycopg.connect(url, autocommit=True) as conn:
    for spec in specs:
        request_id = conn.execute(
            "INSERT INTO service_request (number, category, description, status, grid_id, "
            "community_id, assignee_id, due_at) SELECT %s, 'MAINTENANCE', '楼道灯不亮', "
            "'SUBMITTED', g.id, g.community_id, %s, now() + interval '4 hours' "
            "FROM grid g WHERE g.code = %s RETURNING id",
            ("E2E" + uuid.uuid4().hex[:20], spec.get("assignee"), spec["grid"])).fetchone()[0]
        conn.execute("INSERT INTO request_event (request_id, kind, to_status, actor, note) "
                     "VALUES (%s, 'SUBMITTED', 'SUBMITTED', 'resident', %s)",
                     (request_id, spec["note"]))
"""


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    """The API in its own process; yields its ws:// GraphQL address."""
    with running_api(database_url, SECRET) as base:
        yield base.replace("http://", "ws://") + "/graphql"


class Screen:
    """A dispatch screen: one graphql-transport-ws connection with one subscription."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next protocol message, answering pings; None when none came in time."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message: dict[str, Any] = json.loads(await self.ws.recv())
                    if message["type"] != "ping":
                        return message
                    await self.send({"type": "pong"})
        except TimeoutError:
            return None

    async def subscribe(self, scope: dict[str, Any] | None = None) -> None:
        await self.send({"id": "1", "type": "subscribe",
                         "payload": {"query": SUBSCRIBE, "variables": {"scope": scope}}})


@asynccontextmanager
async def _screen(url: str, *, payload: dict[str, Any] | None = None,
                  header: str | None = None) -> AsyncIterator[Screen]:
    """An acknowledged connection; `payload` goes in connection_init, `header` is sent as
    the handshake's Authorization header."""
    headers = {"Authorization": header} if header else None
    async with connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                       additional_headers=headers, proxy=None, open_timeout=10) as ws:
        screen = Screen(ws)
        await screen.send({"type": "connection_init", "payload": payload or {}})
        ack = await screen.receive(10)
        assert ack is not None and ack["type"] == "connection_ack", ack
        yield screen


def _bearer(**claims: Any) -> str:
    return f"Bearer {issue_token(SECRET, **claims)}"


async def _write(database_url: str, specs: list[dict[str, Any]]) -> None:
    """Writes `specs` from another Python process, as a worker would."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, libpq_url(database_url), json.dumps(specs),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()


async def _first_event(screen: Screen, database_url: str,
                       specs: list[dict[str, Any]]) -> dict[str, Any]:
    """Writes `specs` from another process and returns the first event the screen receives.
    The subscription starts asynchronously on the server, so a batch that finds it not yet
    listening is written again (the specs are written in order, so which one comes first
    still tells what the screen is allowed to see)."""
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE:
        await _write(database_url, specs)
        message = await screen.receive(ATTEMPT)
        if message is not None:
            assert message["type"] == "next" and "errors" not in message["payload"], message
            return message["payload"]["data"]["serviceRequestEvents"]
    raise AssertionError(f"no event within {DEADLINE} s")


async def _grid_id(sessions: Any, code: str) -> str:
    async with sessions() as session:
        found = await session.execute(text("SELECT id FROM grid WHERE code = :c"), {"c": code})
        return encode_id("Grid", int(found.scalar_one()))


async def test_an_event_written_by_another_process_reaches_the_screen(
        server: str, database_url: str, sessions: Any) -> None:
    await load(sessions)
    async with _screen(server, payload={"Authorization": _bearer(admin=True)}) as screen:
        await screen.subscribe()
        started = time.monotonic()
        event = await _first_event(screen, database_url, [{"grid": "G1", "note": "from a worker"}])
    assert event["kind"] == "SUBMITTED" and event["note"] == "from a worker"
    assert event["request"]["grid"] == {"code": "G1"}
    assert event["request"]["status"] == "SUBMITTED"
    assert time.monotonic() - started < DEADLINE


async def test_a_member_receives_only_events_of_requests_assigned_to_them(
        server: str, database_url: str, sessions: Any) -> None:
    me, other = await community_with_stewards(sessions, 2)
    async with _screen(server, header=_bearer(member_id=me)) as screen:  # header this time
        await screen.subscribe()
        event = await _first_event(screen, database_url, [
            {"grid": "G1", "assignee": other, "note": "theirs"},
            {"grid": "G1", "assignee": None, "note": "nobody's"},
            {"grid": "G1", "assignee": me, "note": "mine"}])
    assert event["note"] == "mine"


async def test_a_scope_narrows_live_events(server: str, database_url: str,
                                           sessions: Any) -> None:
    await load(sessions)
    async with _screen(server, payload={"authorization": _bearer(admin=True)}) as screen:
        await screen.subscribe({"gridId": await _grid_id(sessions, "G2")})
        event = await _first_event(screen, database_url, [{"grid": "G1", "note": "west"},
                                                          {"grid": "G2", "note": "east"}])
    assert (event["note"], event["request"]["grid"]["code"]) == ("east", "G2")


async def test_a_bad_token_closes_the_connection(server: str) -> None:
    forged = f"Bearer {issue_token('x' * 48, admin=True)}"
    placements: list[tuple[dict[str, str], dict[str, str] | None]] = [
        ({"Authorization": forged}, None), ({}, {"Authorization": forged})]
    for payload, headers in placements:
        async with connect(server, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                           additional_headers=headers, proxy=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_anonymous_screens_are_told_to_sign_in(server: str) -> None:
    async with _screen(server) as screen:
        await screen.subscribe()
        message = await screen.receive(10)
    assert message is not None, "no answer"
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
