"""Live updates for dispatch screens: serviceRequestEvents over graphql-transport-ws.

The server's event feed (PostgreSQL LISTEN/NOTIFY) yields the id of every timeline entry
written by any process; each subscription loads the entry with its request and passes on only
those its caller may see (`domain.requests.feed.visible_to`) within its scope.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager, suppress

import strawberry
from graphql import GraphQLError

from domain.access import load_viewer
from domain.requests.feed import FeedLost, FeedRow, in_scope, load_event, visible_to
from domain.spatial.directory import Scope
from schema.common.context import EventFeed, Info
from schema.common.errors import PublicError, public_view
from schema.common.inputs import ScopeInput
from schema.common.loaders import build_loaders
from schema.requests.types import RequestEvent

#: How often an open subscription checks that its caller's session still stands.
SESSION_CHECK_SECONDS = 5.0
_TICK = -1  # no event within SESSION_CHECK_SECONDS (event ids are positive)

_DESCRIPTION = (
    "Every timeline entry of the requests the caller may see, in `scope`, as it is written "
    "(by this server, another one or a worker). City-wide administrators receive all of "
    "them; grid "
    "workers those of requests in their grids; members those of requests assigned to them "
    "and those that name them (dispatched to them, declined or timed out). A screen that "
    "falls far behind gets an EVENTS_DROPPED error and the subscription ends: subscribe again "
    "and reload the list. When the caller's session ends (signOut, a deactivated account, a "
    "member who left) the subscription ends within 5 s with SESSION_ENDED. Send the token "
    "as the `Authorization` header or in the connection_init payload: "
    "`{\"Authorization\": \"Bearer <token>\"}`. Staff receive the events of their "
    "territories' requests.")


@strawberry.type
class RequestSubscription:
    """Live updates (graphql-transport-ws)."""

    @strawberry.subscription(description=_DESCRIPTION)
    async def service_request_events(
        self, info: Info, scope: ScopeInput | None = None
    ) -> AsyncGenerator[RequestEvent, None]:
        try:
            wanted = scope.to_scope("scope") if scope is not None else Scope()
            async with _closing(_feed(info).subscribe()) as event_ids:
                async for event_id in _while_signed_in(info, event_ids):
                    row = await _visible_event(info, event_id, wanted)
                    if row is not None:
                        yield _fresh(info, row)
        except Exception as exc:
            raise _public(exc) from None


def _feed(info: Info) -> EventFeed:
    """The server's event feed; a server built without one cannot stream."""
    if info.context.events is None:
        raise PublicError("Live events are not available on this server.", code="UNAVAILABLE")
    return info.context.events


@asynccontextmanager
async def _closing(ids: AsyncIterator[int]) -> AsyncIterator[AsyncIterator[int]]:
    """Closes the feed's iterator when the subscription ends, so that the feed forgets the
    subscriber at once rather than when the garbage collector gets to it."""
    try:
        yield ids
    finally:
        aclose = getattr(ids, "aclose", None)
        if aclose is not None:
            await aclose()


async def _while_signed_in(info: Info, ids: AsyncIterator[int]) -> AsyncIterator[int]:
    """The feed's ids while the caller's session stands: checked at least every
    SESSION_CHECK_SECONDS, events or not, so that signOut, a deactivated account or a member
    who left ends the stream (SESSION_ENDED) within that time; a caller whose territories
    changed gets the new ones. The admin token has no session: nothing to check."""
    if info.context.viewer.session_id is None:
        async for event_id in ids:
            yield event_id
        return
    queue: asyncio.Queue[int | Exception | None] = asyncio.Queue(maxsize=1)
    pump = asyncio.create_task(_pump(ids, queue))
    checked = time.monotonic()
    try:
        while True:
            try:
                async with asyncio.timeout(SESSION_CHECK_SECONDS):
                    item = await queue.get()
            except TimeoutError:
                item = _TICK
            if time.monotonic() - checked >= SESSION_CHECK_SECONDS or item == _TICK:
                await _check_session(info)
                checked = time.monotonic()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            if item != _TICK:
                yield item
    finally:
        pump.cancel()
        with suppress(asyncio.CancelledError):
            await pump


async def _pump(ids: AsyncIterator[int], queue: asyncio.Queue[int | Exception | None]) -> None:
    """The feed into `queue` (one at a time: the feed still sees a slow screen), then None,
    or the exception that ended it."""
    try:
        async for event_id in ids:
            await queue.put(event_id)
        await queue.put(None)
    except Exception as exc:
        await queue.put(exc)


async def _check_session(info: Info) -> None:
    """SESSION_ENDED when the caller's session no longer stands; else the caller afresh."""
    viewer = info.context.viewer
    async with info.context.sessions() as session:
        fresh = await load_viewer(session, admin=False, member_id=viewer.member_id,
                                  account_id=viewer.account_id, session_id=viewer.session_id)
    if not fresh.authenticated:
        raise PublicError("Your session has ended (signed out, or the account or member is no "
                          "longer active): sign in again.", code="SESSION_ENDED")
    info.context.viewer = fresh
    info.context.checks.clear()


def _public(exc: Exception) -> GraphQLError:
    """What the client sees of an error that ends the stream. strawberry hands errors raised
    inside a subscription's generator to the client as they are, without a path, so they are
    passed through `public_view` here (bad input by field; bugs logged, never shown)."""
    if isinstance(exc, PublicError):
        return exc
    if isinstance(exc, FeedLost):
        return PublicError("This screen fell behind the live events and some were missed: "
                           "subscribe again and reload.", code="EVENTS_DROPPED")
    return public_view(GraphQLError(str(exc), path=["serviceRequestEvents"],
                                    original_error=exc))


async def _visible_event(info: Info, event_id: int, scope: Scope) -> FeedRow | None:
    """The event with its request, if the caller may see it and it is in `scope`."""
    async with info.context.sessions() as session:
        row = await load_event(session, event_id=event_id)
    if row is None or not visible_to(info.context.viewer, row) or not in_scope(scope, row):
        return None
    return row


def _fresh(info: Info, row: FeedRow) -> RequestEvent:
    """The event to send. A subscription's context lives as long as its connection, so the
    DataLoaders are renewed for each event (their cache would serve stale requests and grow
    without bound), primed with the request just read."""
    info.context.loaders = build_loaders(info.context.sessions)
    info.context.checks.clear()  # the permission layer's row checks: as fresh
    info.context.loaders.request.prime(row.event.request_id, row.request)
    return RequestEvent.of(row.event)
