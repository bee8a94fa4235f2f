"""Live updates for dispatch screens: serviceRequestEvents over graphql-transport-ws.

The server's event feed (PostgreSQL LISTEN/NOTIFY) yields the id of every timeline entry
written by any process; each subscription loads the entry with its request and passes on only
those its caller may see (`domain.requests.feed.visible_to`) within its scope.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

import strawberry
from graphql import GraphQLError

from domain.requests.feed import FeedLost, FeedRow, in_scope, load_event, visible_to
from domain.spatial.directory import Scope
from schema.common.context import EventFeed, Info
from schema.common.errors import PublicError, public_view
from schema.common.inputs import ScopeInput
from schema.common.loaders import build_loaders
from schema.requests.types import RequestEvent

_DESCRIPTION = (
    "Every timeline entry of the requests the caller may see, in `scope`, as it is written "
    "(by this server, another one or a worker). Administrators receive all of them; grid "
    "workers those of requests in their grids; members those of requests assigned to them "
    "and those that name them (dispatched to them, declined or timed out). A screen that "
    "falls far behind gets an EVENTS_DROPPED error and the subscription ends: subscribe again "
    "and reload the list. Send the token as the `Authorization` header or in the "
    "connection_init payload: `{\"Authorization\": \"Bearer <token>\"}`.")


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
                async for event_id in event_ids:
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


def _public(exc: Exception) -> GraphQLError:
    """What the client sees of an error that ends the stream. strawberry hands errors raised
    inside a subscription's generator to the client as they are, without a path, so they are
    passed through `public_view` here (bad input by field; bugs logged, never shown)."""
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
