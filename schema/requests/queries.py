"""Read-only root fields for service requests: lists, figures and the outbox.

Resolvers are thin: they turn arguments into domain values, call one domain function and wrap
what comes back. Their descriptions are the schema's documentation for frontend teams.
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from domain.errors import InvalidInput
from domain.requests import queries
from domain.requests.models import RequestStatus
from domain.spatial.directory import Scope
from schema.common.connections import Connection, page_size, to_connection
from schema.common.context import Info
from schema.common.enums import ServiceCategory
from schema.common.ids import decode_cursor, decode_optional
from schema.common.inputs import BBoxInput, ScopeInput
from schema.requests.types import CategoryCount, OutboundMessage, RequestStats, ServiceRequest


def _filters(scope: ScopeInput | None, status: list[RequestStatus] | None,
             category: ServiceCategory | None, bbox: BBoxInput | None,
             overdue: bool | None) -> queries.RequestFilter:
    return queries.RequestFilter(
        scope=scope.to_scope("scope") if scope else Scope(),
        statuses=[s.value for s in status or []],
        category=category.value if category else None,
        bbox=bbox.to_wgs84("bbox") if bbox else None, overdue=overdue)


def _window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidInput.one("INVALID_RANGE", "since must be before until", "until")


@strawberry.type
class RequestQuery:
    @strawberry.field(description=(
        "Service requests the caller may see (city-wide administrators: all; staff of "
        "subdistricts or communities: those of their communities; grid workers: their grids' "
        "and their own; members: those assigned to them), narrowed by scope (memberId: "
        "assigned to that member), statuses (none or empty: all), category, a box and "
        "overdue; oldest first, paged in SQL."))
    async def service_requests(
        self, info: Info, scope: ScopeInput | None = None,
        status: list[RequestStatus] | None = None,
        category: ServiceCategory | None = None,
        bbox: BBoxInput | None = None, overdue: bool | None = None, first: int | None = 50,
        after: str | None = None,
    ) -> Connection[ServiceRequest]:
        filters = _filters(scope, status, category, bbox, overdue)
        async with info.context.sessions() as session:
            page = await queries.list_requests(
                session, viewer=info.context.viewer, filters=filters, now=datetime.now(UTC),
                first=page_size(first), after=decode_cursor(after))
        for row in page.items:
            info.context.loaders.request.prime(row.id or 0, row)
        viewer = info.context.viewer
        return to_connection(page, lambda row: ServiceRequest.of(row, viewer))

    @strawberry.field(description=(
        "Figures over the requests the caller may see in `scope`, for the window "
        "since <= t < until (either end open): submitted, dispatched (handed to a member), "
        "completed, overdue, and submissions per category."))
    async def request_stats(self, info: Info, scope: ScopeInput | None = None,
                            since: datetime | None = None,
                            until: datetime | None = None) -> RequestStats:
        _window(since, until)
        async with info.context.sessions() as session:
            stats = await queries.request_stats(
                session, viewer=info.context.viewer,
                scope=scope.to_scope("scope") if scope else Scope(), since=since, until=until,
                now=datetime.now(UTC))
        return RequestStats(
            submitted=stats.submitted, dispatched=stats.dispatched, completed=stats.completed,
            overdue=stats.overdue,
            by_category=[CategoryCount(category=ServiceCategory(c), count=n)
                         for c, n in stats.by_category.items()])

    @strawberry.field(description=(
        "The outbox, oldest first: messages written for people (dispatch and escalation "
        "notices, surveys), optionally of one request or kind. For the next page pass the "
        "last message's id as `after`. Staff only, within their territories (the messages "
        "of their communities' requests and members)."))
    async def outbound_messages(self, info: Info, request_id: strawberry.ID | None = None,
                                kind: str | None = None, first: int | None = 50,
                                after: str | None = None) -> list[OutboundMessage]:
        async with info.context.sessions() as session:
            rows = await queries.list_messages(
                session, request_id=decode_optional(request_id, "ServiceRequest", "requestId"),
                kind=kind, first=page_size(first),
                after=decode_optional(after, "OutboundMessage", "after"),
                viewer=info.context.viewer)
        return [OutboundMessage.of(row) for row in rows]
