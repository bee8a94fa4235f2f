"""Root fields for service requests (issue #3), and the survey fields of issue #4, which
still answer NOT_IMPLEMENTED rather than an empty or made-up result.

Resolvers are thin: they turn arguments into domain values, call one domain function and wrap
what comes back. Their descriptions are the schema's documentation for frontend teams.
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from domain.directory import Scope
from domain.errors import InvalidInput
from domain.requests import actions, queries
from domain.requests.models import RequestStatus
from schema.context import Info
from schema.enums import ServiceCategory
from schema.ids import decode_cursor, decode_optional
from schema.inputs import BBoxInput, ScopeInput
from schema.permissions import ADMIN, AUTHENTICATED
from schema.requests import mutations as run
from schema.requests.mutations import RequestPayload
from schema.requests.types import (
    CategoryCount,
    OutboundMessage,
    RequestStats,
    ServiceRequest,
    ServiceRequestConnection,
    ServiceRequestEdge,
    SubmitRequestInput,
)
from schema.spatial.connections import to_connection
from schema.spatial.queries import _first as page_size

__all__ = ["RequestMutation", "RequestPayload", "RequestQuery"]



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
    @strawberry.field(permission_classes=AUTHENTICATED, description=(
        "Service requests the caller may see (administrators: all; grid workers: their grids' "
        "and their own; members: those assigned to them), narrowed by scope (memberId: "
        "assigned to that member), statuses (none or empty: all), category, a box and "
        "overdue; oldest first, paged in SQL."))
    async def service_requests(
        self, info: Info, scope: ScopeInput | None = None,
        status: list[RequestStatus] | None = None,
        category: ServiceCategory | None = None,
        bbox: BBoxInput | None = None, overdue: bool | None = None, first: int | None = 50,
        after: str | None = None,
    ) -> ServiceRequestConnection:
        filters = _filters(scope, status, category, bbox, overdue)
        async with info.context.sessions() as session:
            page = await queries.list_requests(
                session, viewer=info.context.viewer, filters=filters, now=datetime.now(UTC),
                first=page_size(info, first), after=decode_cursor(after))
        for row in page.items:
            info.context.loaders.request.prime(row.id or 0, row)
        return to_connection(page, ServiceRequest.of, ServiceRequestEdge,
                             ServiceRequestConnection)

    @strawberry.field(permission_classes=AUTHENTICATED, description=(
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

    @strawberry.field(permission_classes=ADMIN, description=(
        "The outbox, oldest first: messages written for people (dispatch and escalation "
        "notices, surveys), optionally of one request or kind. For the next page pass the "
        "last message's id as `after`. Administrators only."))
    async def outbound_messages(self, info: Info, request_id: strawberry.ID | None = None,
                                kind: str | None = None, first: int | None = 50,
                                after: str | None = None) -> list[OutboundMessage]:
        async with info.context.sessions() as session:
            rows = await queries.list_messages(
                session, request_id=decode_optional(request_id, "ServiceRequest", "requestId"),
                kind=kind, first=page_size(info, first),
                after=decode_optional(after, "OutboundMessage", "after"))
        return [OutboundMessage.of(row) for row in rows]


@strawberry.type
class RequestMutation:
    @strawberry.mutation(description=(
        "A resident raises a need (群众点单), by address or by a point. It is located (building, "
        "building group, grid, community; OUT_OF_AREA when no grid covers it), timed by its "
        "category's limit and dispatched. `possibleDuplicates` lists open requests of the same "
        "category nearby. Open to anonymous callers."))
    async def submit_service_request(self, info: Info,
                                     input: SubmitRequestInput) -> RequestPayload:
        return await run.submit(info, input)

    @strawberry.mutation(permission_classes=AUTHENTICATED, description=(
        "An administrator, or a grid worker of the request's grid, hands a SUBMITTED or "
        "DISPATCHED request to an ACTIVE member of its building group or grid, who gets a "
        "dispatch notice."))
    async def assign_service_request(self, info: Info, id: strawberry.ID,
                                     member_id: strawberry.ID) -> RequestPayload:
        return await run.change(info, id, run.assign(info, member_id))

    @strawberry.mutation(permission_classes=AUTHENTICATED, description=(
        "The member a request is dispatched to accepts it (党员接单). A request escalated to "
        "its grid may be taken by any grid worker of that grid: the first wins, the others "
        "get INVALID_TRANSITION."))
    async def accept_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        return await run.change(info, id, run.acting(info, actions.accept_request))

    @strawberry.mutation(permission_classes=AUTHENTICATED, description=(
        "The member a request is dispatched to declines it, saying why; it goes back to "
        "dispatching and is never offered to them again."))
    async def decline_service_request(self, info: Info, id: strawberry.ID,
                                      reason: str) -> RequestPayload:
        return await run.change(info, id, run.acting(info, actions.decline_request,
                                                     reason=reason), redispatch=True)

    @strawberry.mutation(permission_classes=AUTHENTICATED,
                         description="The assignee starts the service (ACCEPTED → IN_PROGRESS).")
    async def start_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        return await run.change(info, id, run.acting(info, actions.start_request))

    @strawberry.mutation(permission_classes=AUTHENTICATED, description=(
        "The assignee completes the service, saying what was done (the ticket's third part, "
        "up to 4,000 characters)."))
    async def complete_service_request(self, info: Info, id: strawberry.ID,
                                       resolution: str) -> RequestPayload:
        return await run.change(info, id, run.acting(info, actions.complete_request,
                                                     resolution=resolution))

    @strawberry.mutation(permission_classes=AUTHENTICATED, description=(
        "An administrator, or a grid worker of the request's grid, cancels an open request, "
        "saying why."))
    async def cancel_service_request(self, info: Info, id: strawberry.ID,
                                     reason: str) -> RequestPayload:
        return await run.change(info, id, run.acting(info, actions.cancel_request,
                                                     reason=reason))

