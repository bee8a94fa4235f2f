"""serviceRequestEvents through `schema.subscribe` with a real context and a scripted feed:
who receives what, scopes, fresh requests on every event, and the errors a screen can get."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import ANONYMOUS, Viewer
from domain.infra.db import transaction
from domain.requests.feed import FeedLost
from domain.requests.submit import NewRequest, submit_request
from schema.common.context import Context
from schema.common.ids import encode_id
from tests.factories import X0, Y0
from tests.requests_factory import TUNING, community_with_stewards, completed_request
from tests.settings import make_settings

ADMIN = Viewer(admin=True)
SUBSCRIBE = """subscription ($scope: ScopeInput) { serviceRequestEvents(scope: $scope) {
  kind note fromStatus toStatus request { id number status assignee { id } } } }"""
WAIT = 10.0


@dataclass
class ScriptedFeed:
    """An EventFeed that yields the given ids, runs `between` after each one is taken, and
    ends (or raises FeedLost when `lost`)."""

    ids: list[int]
    lost: bool = False
    between: Callable[[int], Awaitable[None]] | None = None
    taken: list[int] = field(default_factory=list)
    closed: bool = False

    async def subscribe(self) -> AsyncIterator[int]:
        try:
            for event_id in self.ids:
                yield event_id
                self.taken.append(event_id)
                if self.between is not None:
                    await self.between(event_id)
            if self.lost:
                raise FeedLost("fell behind")
        finally:
            self.closed = True


@dataclass(frozen=True)
class Timeline:
    """Request A (G1, completed by `member`), request B (G2, unassigned) with a DECLINED
    entry naming `named`, and every event id in order."""

    a: int
    b: int
    member: int
    named: int
    events: dict[int, int]  # event id -> request id

    def of(self, request_id: int) -> list[int]:
        return [e for e, r in self.events.items() if r == request_id]


async def _timeline(sessions: Any) -> Timeline:
    stewards = await community_with_stewards(sessions)
    a, member = await completed_request(sessions, at=datetime.now(UTC))
    named = next(s for s in stewards if s != member)
    async with transaction(sessions) as session:
        made = await submit_request(session, NewRequest(
            category="CULTURE", description="活动室", point=(X0 + 0.015, Y0 + 0.005)),
            now=datetime.now(UTC), tuning=TUNING)
        await session.execute(text(
            "INSERT INTO request_event (request_id, kind, member_id, note) "
            "VALUES (:r, 'DECLINED', :m, 'not mine')"), {"r": made.request_id, "m": named})
        rows = await session.execute(text("SELECT id, request_id FROM request_event "
                                          "ORDER BY id"))
        events = {int(r.id): int(r.request_id) for r in rows}
    return Timeline(a=a, b=made.request_id, member=member, named=named, events=events)


async def _run(gql_schema: Any, sessions: Any, viewer: Viewer, feed: Any,
               scope: dict[str, Any] | None = None) -> list[Any]:
    """Every result the subscription sends until it ends."""
    context = Context(sessions=sessions, settings=make_settings(), viewer=viewer, events=feed)
    stream = await gql_schema.subscribe(SUBSCRIBE, variable_values={"scope": scope},
                                        context_value=context)
    async with asyncio.timeout(WAIT):
        return [result async for result in stream]


def _events(results: list[Any]) -> list[dict[str, Any]]:
    assert all(r.errors is None for r in results), [r.errors for r in results]
    return [r.data["serviceRequestEvents"] for r in results]


def _requests(results: list[Any]) -> list[str]:
    return [e["request"]["id"] for e in _events(results)]


def _gid(request_id: int) -> str:
    return encode_id("ServiceRequest", request_id)


async def _ids(sessions: Any, table: str, code: str) -> int:
    async with sessions() as session:
        found = await session.execute(text(f"SELECT id FROM {table} WHERE code = :c"),
                                      {"c": code})
        return int(found.scalar_one())


async def test_an_administrator_receives_every_event(gql_schema: Any, sessions: Any) -> None:
    world = await _timeline(sessions)
    results = await _run(gql_schema, sessions, ADMIN, ScriptedFeed(list(world.events)))
    events = _events(results)
    assert [e["request"]["id"] for e in events] == [_gid(r) for r in world.events.values()]
    completed = next(e for e in events if e["kind"] == "COMPLETED")
    assert completed["toStatus"] == "COMPLETED"
    assert completed["request"]["assignee"]["id"] == encode_id("Member", world.member)


async def test_members_receive_their_requests_and_what_names_them(gql_schema: Any,
                                                                   sessions: Any) -> None:
    world = await _timeline(sessions)
    feed = list(world.events)
    assignee = await _run(gql_schema, sessions, Viewer(member_id=world.member),
                          ScriptedFeed(feed))
    assert _requests(assignee) == [_gid(world.a)] * len(world.of(world.a))
    named = _events(await _run(gql_schema, sessions, Viewer(member_id=world.named),
                               ScriptedFeed(feed)))
    assert [(e["kind"], e["note"]) for e in named] == [("DECLINED", "not mine")]


async def test_grid_workers_receive_the_events_of_their_grids(gql_schema: Any,
                                                              sessions: Any) -> None:
    world = await _timeline(sessions)
    g2 = await _ids(sessions, "grid", "G2")
    worker = Viewer(member_id=world.named + 1000, grid_ids=frozenset({g2}))
    results = await _run(gql_schema, sessions, worker, ScriptedFeed(list(world.events)))
    assert _requests(results) == [_gid(world.b)] * len(world.of(world.b))


@pytest.mark.parametrize(("kind", "table", "code", "which"), [
    ("gridId", "grid", "G2", "b"),
    ("buildingGroupId", "building_group", "L1", "a"),
    ("communityId", "community", "C1", None),
])
async def test_a_scope_narrows_the_events(gql_schema: Any, sessions: Any, kind: str,
                                          table: str, code: str, which: str | None) -> None:
    world = await _timeline(sessions)
    node = {"grid": "Grid", "building_group": "BuildingGroup", "community": "Community"}
    scope = {kind: encode_id(node[table], await _ids(sessions, table, code))}
    results = await _run(gql_schema, sessions, ADMIN, ScriptedFeed(list(world.events)), scope)
    wanted = [r for r in world.events.values()
              if which is None or r == getattr(world, which)]
    assert _requests(results) == [_gid(r) for r in wanted]


async def test_a_member_scope_takes_the_requests_assigned_to_them(gql_schema: Any,
                                                                   sessions: Any) -> None:
    world = await _timeline(sessions)
    scope = {"memberId": encode_id("Member", world.member)}
    results = await _run(gql_schema, sessions, ADMIN, ScriptedFeed(list(world.events)), scope)
    assert set(_requests(results)) == {_gid(world.a)}


async def test_each_event_carries_its_request_as_it_is_now(gql_schema: Any,
                                                          sessions: Any) -> None:
    world = await _timeline(sessions)

    async def close_a(event_id: int) -> None:
        async with transaction(sessions) as session:
            await session.execute(text("UPDATE service_request SET status = 'CLOSED' "
                                       "WHERE id = :id"), {"id": world.a})

    first, last = world.of(world.a)[0], world.of(world.a)[-1]
    results = await _run(gql_schema, sessions, ADMIN, ScriptedFeed([first, last], between=close_a))
    assert [e["request"]["status"] for e in _events(results)] == ["COMPLETED", "CLOSED"]


async def test_unknown_event_ids_are_passed_over(gql_schema: Any, sessions: Any) -> None:
    world = await _timeline(sessions)
    results = await _run(gql_schema, sessions, ADMIN,
                         ScriptedFeed([max(world.events) + 1, world.of(world.b)[0]]))
    assert _requests(results) == [_gid(world.b)]


async def _error(gql_schema: Any, sessions: Any, viewer: Viewer, feed: Any,
                 scope: dict[str, Any] | None = None) -> dict[str, Any]:
    results = await _run(gql_schema, sessions, viewer, feed, scope)
    assert results[-1].errors, results
    return results[-1].errors[0].extensions


async def test_anonymous_callers_are_refused(gql_schema: Any, sessions: Any) -> None:
    feed = ScriptedFeed([1])
    assert (await _error(gql_schema, sessions, ANONYMOUS, feed))["code"] == "UNAUTHENTICATED"
    assert feed.taken == []


async def test_a_scope_naming_two_things_is_refused(gql_schema: Any, sessions: Any) -> None:
    scope = {"gridId": encode_id("Grid", 1), "communityId": encode_id("Community", 1)}
    error = await _error(gql_schema, sessions, ADMIN, ScriptedFeed([1]), scope)
    assert (error["code"], error["field"]) == ("INVALID_SCOPE", "scope")


async def test_without_a_feed_the_subscription_says_so(gql_schema: Any,
                                                       sessions: Any) -> None:
    assert (await _error(gql_schema, sessions, ADMIN, None))["code"] == "UNAVAILABLE"


async def test_a_screen_that_fell_behind_is_told(gql_schema: Any, sessions: Any) -> None:
    world = await _timeline(sessions)
    first = world.of(world.b)[0]
    results = await _run(gql_schema, sessions, ADMIN, ScriptedFeed([first], lost=True))
    assert _requests(results[:1]) == [_gid(world.b)]
    assert results[1].errors[0].extensions["code"] == "EVENTS_DROPPED"
    assert "subscribe again" in results[1].errors[0].message


async def test_a_screen_that_leaves_is_forgotten_by_the_feed_at_once(gql_schema: Any,
                                                                     sessions: Any) -> None:
    world = await _timeline(sessions)
    feed = ScriptedFeed(list(world.events))
    context = Context(sessions=sessions, settings=make_settings(), viewer=ADMIN, events=feed)
    stream = await gql_schema.subscribe(SUBSCRIBE, context_value=context)
    async with asyncio.timeout(WAIT):
        first = await anext(stream)
        assert first.errors is None
        await stream.aclose()
    assert feed.closed and len(feed.taken) < len(world.events)


@dataclass
class HangingFeed:
    """An EventFeed that yields `ids`, then waits for events that never come."""

    ids: list[int] = field(default_factory=list)
    closed: bool = False

    async def subscribe(self) -> AsyncIterator[int]:
        try:
            for event_id in self.ids:
                yield event_id
            await asyncio.Event().wait()
        finally:
            self.closed = True


async def _signed_in_member(sessions: Any, member: int) -> Viewer:
    from domain.access import load_viewer
    from domain.people.sessions import start_session
    async with transaction(sessions) as session:
        issued = await start_session(session, now=datetime.now(UTC), member_id=member)
    async with sessions() as session:
        return await load_viewer(session, admin=False, member_id=member,
                                 session_id=issued.session_id)


@pytest.mark.parametrize("hanging", [True, False])
async def test_signing_out_ends_the_callers_subscriptions(gql_schema: Any, sessions: Any,
                                                          monkeypatch: Any,
                                                          hanging: bool) -> None:
    """A signed-out session's subscription ends with SESSION_ENDED: between events, or while
    no event comes at all (checked every SESSION_CHECK_SECONDS)."""
    from schema.requests import subscriptions
    monkeypatch.setattr(subscriptions, "SESSION_CHECK_SECONDS", 0.05)
    world = await _timeline(sessions)
    viewer = await _signed_in_member(sessions, world.member)
    first = world.of(world.a)[0]

    async def sign_out(event_id: int) -> None:
        async with transaction(sessions) as session:
            await session.execute(text("UPDATE auth_session SET revoked_at = now() "
                                       "WHERE id = :id"), {"id": viewer.session_id})
        await asyncio.sleep(0.1)

    feed: Any = HangingFeed([first]) if hanging else ScriptedFeed(world.of(world.a),
                                                                  between=sign_out)
    if hanging:
        await sign_out(first)
    results = await _run(gql_schema, sessions, viewer, feed)
    assert results[-1].errors[0].extensions["code"] == "SESSION_ENDED"
    assert feed.closed
