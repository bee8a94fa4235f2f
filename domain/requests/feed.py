"""The live event feed's rules: load one timeline entry with its request, and decide who may
receive it and whether it falls in a screen's scope.

Who receives an event: city-wide staff every one; staff of territories those of requests of
their communities; a grid worker those of requests in the grids
they serve; a member those of requests assigned to them now, and those that name them (the
DISPATCHED that offered them a request, the DECLINED or ACCEPT_TIMEOUT that took it back), so
that a member's screen learns that a request is no longer theirs. Nobody else receives any.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.access import Viewer
from domain.requests.models import RequestEvent, ServiceRequest
from domain.spatial.directory import Scope
from domain.visibility import sees_request


class FeedLost(Exception):
    """Raised by an event feed's subscription that dropped its subscriber for falling behind
    (or for a gap it could not replay): events were missed, the screen must reload."""


@dataclass(frozen=True)
class FeedRow:
    """One timeline entry and its request, as they are now."""

    event: RequestEvent
    request: ServiceRequest


async def load_event(session: AsyncSession, *, event_id: int) -> FeedRow | None:
    """The event `event_id` with its request, in one statement, read afresh (never from the
    session's identity map); None when there is no such event."""
    stmt = (select(RequestEvent, ServiceRequest)
            .join(ServiceRequest, col(ServiceRequest.id) == col(RequestEvent.request_id))
            .where(col(RequestEvent.id) == event_id)
            .execution_options(populate_existing=True))
    found = (await session.execute(stmt)).first()
    return None if found is None else FeedRow(event=found[0], request=found[1])


def visible_to(viewer: Viewer, row: FeedRow) -> bool:
    """Whether `viewer` may receive the event in `row` (see the module's docstring): the
    request's SERVICE_REQUEST rule (domain.visibility), or an event naming the member."""
    request = row.request
    if sees_request(viewer, community_id=request.community_id,
                    assignee_id=request.assignee_id, grid_id=request.grid_id):
        return True
    member = viewer.member_id
    return member is not None and member == row.event.member_id


def in_scope(scope: Scope, row: FeedRow) -> bool:
    """Whether the event's request falls in `scope`: assigned to its member, or located in its
    building group, grid or community; an empty scope takes everything."""
    request = row.request
    checks = ((scope.member_id, request.assignee_id),
              (scope.building_group_id, request.group_id),
              (scope.grid_id, request.grid_id),
              (scope.community_id, request.community_id))
    return all(wanted is None or wanted == actual for wanted, actual in checks)
