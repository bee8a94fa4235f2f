"""Mutations of service requests: each decodes its ids, calls one domain function inside a
transaction and answers a payload. A user's mistake never raises: it comes back in `errors` and the
transaction rolls back, so nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.requests import actions, queries
from domain.requests.models import ServiceRequest as RequestRow
from domain.requests.state import Changed
from domain.requests.submit import NewRequest, Tuning, submit_request
from schema.common.context import Info
from schema.common.ids import decode_id
from schema.common.payloads import UserErrorType
from schema.common.rate_limits import SUBMISSION, RateLimited
from schema.requests.types import (
    PublicServiceRequest,
    RequestPayload,
    ServiceRequest,
    SubmitRequestInput,
)

log = logging.getLogger("gridsteward.requests")

#: A domain action on one request: (session, request id, now) -> what changed.
Action = Callable[[AsyncSession, int, datetime], Awaitable[Changed]]


def _failed(exc: InvalidInput) -> RequestPayload:
    return RequestPayload(errors=UserErrorType.list_of(exc.errors))


def _wrap(info: Info, row: RequestRow | None, *, submitter: bool = False) -> ServiceRequest:
    """The fresh row as the caller may see it (whole for the `submitter` of a new request),
    replacing any stale copy in the loader's cache."""
    assert row is not None and row.id is not None  # it was just written
    info.context.loaders.request.prime(row.id, row, force=True)
    return ServiceRequest.of(row, info.context.viewer, submitter=submitter)


def _dispatch_later(info: Info, request_id: int) -> None:
    """Ask the workers to dispatch now; if that fails the sweep will, so do not fail the
    mutation that already committed."""
    background = info.context.background
    if background is None:
        return
    try:
        background.dispatch(request_id)
    except Exception:
        log.warning("could not enqueue dispatch of request %s; the sweep will", request_id,
                    exc_info=True)


def _new_request(data: SubmitRequestInput) -> NewRequest:
    return NewRequest(
        category=data.category.value, description=data.description, address=data.address,
        point=data.point.to_wgs84("input.point") if data.point is not None else None,
        contact_name=data.contact_name, contact_phone=data.contact_phone,
        idempotency_key=data.idempotency_key)


def _tuning(info: Info) -> Tuning:
    settings = info.context.settings
    return Tuning(due_hours=dict(settings.due_hours),
                  nearest_metres=settings.nearest_building_metres,
                  address_threshold=settings.address_match_threshold)


async def submit(info: Info, data: SubmitRequestInput) -> RequestPayload:
    """Store a resident's request and offer possible duplicates; dispatch it after commit.
    A replayed idempotency key answers the earlier request as the caller may see it."""
    try:
        new = _new_request(data)
        async with transaction(info.context.sessions) as session:
            done = await submit_request(session, new, now=datetime.now(UTC),
                                        tuning=_tuning(info))
            rows = await queries.requests_by_ids(
                session, [done.request_id, *done.possible_duplicates])
    except InvalidInput as exc:
        return _failed(exc)
    if done.created:
        _dispatch_later(info, done.request_id)
    nearby = [(row, d.metres) for row, d in zip(rows[1:], done.duplicates, strict=True)
              if row is not None]
    return RequestPayload(
        request=_wrap(info, rows[0], submitter=done.created), replayed=not done.created,
        possible_duplicates=[_wrap(info, row) for row, _ in nearby],
        possible_duplicates_public=[PublicServiceRequest.of(row, m) for row, m in nearby])


async def change(info: Info, id: str, act: Action, *, redispatch: bool = False) -> RequestPayload:
    """Run `act` on the request `id` in one transaction and answer the request as it is
    now; `redispatch` hands it back to the dispatcher after commit (a decline)."""
    try:
        request_id = decode_id(id, "ServiceRequest", "id")
        async with transaction(info.context.sessions) as session:
            await act(session, request_id, datetime.now(UTC))
            (row,) = await queries.requests_by_ids(session, [request_id])
    except InvalidInput as exc:
        return _failed(exc)
    if redispatch:
        _dispatch_later(info, request_id)
    return RequestPayload(request=_wrap(info, row))


def acting(info: Info, verb: Callable[..., Awaitable[Changed]], **arguments: str) -> Action:
    """An Action running the domain function `verb` as the caller (accept, decline, start,
    complete, cancel), with its extra `arguments` (reason, resolution)."""
    async def act(session: AsyncSession, request_id: int, now: datetime) -> Changed:
        return await verb(session, request_id=request_id, viewer=info.context.viewer, now=now,
                          **arguments)
    return act


def assign(info: Info, member_id: str) -> Action:
    """assignServiceRequest's action: hand the request to `member_id`, who gets a notice."""
    settings = info.context.settings

    async def act(session: AsyncSession, request_id: int, now: datetime) -> Changed:
        return await actions.assign_request(
            session, request_id=request_id, member_id=decode_id(member_id, "Member", "memberId"),
            viewer=info.context.viewer, now=now,
            accept_timeout=settings.accept_timeout,
            channel=settings.outbound_channel)
    return act


@strawberry.type
class RequestMutation:
    @strawberry.mutation(extensions=[RateLimited(SUBMISSION, "input.contactPhone")],
                         description=(
        "A resident raises a need (群众点单), by address or by a point. It is located (building, "
        "building group, grid, community; OUT_OF_AREA when no grid covers it), timed by its "
        "category's limit and dispatched. `possibleDuplicates` lists open requests of the same "
        "category nearby. Open to anonymous callers; RATE_LIMITED per address and per contact "
        "phone."))
    async def submit_service_request(self, info: Info,
                                     input: SubmitRequestInput) -> RequestPayload:
        return await submit(info, input)

    @strawberry.mutation(description=(
        "An administrator, or a grid worker of the request's grid, hands a SUBMITTED or "
        "DISPATCHED request to an ACTIVE member of its building group or grid, who gets a "
        "dispatch notice."))
    async def assign_service_request(self, info: Info, id: strawberry.ID,
                                     member_id: strawberry.ID) -> RequestPayload:
        return await change(info, id, assign(info, member_id))

    @strawberry.mutation(description=(
        "The member a request is dispatched to accepts it (党员接单). A request escalated to "
        "its grid may be taken by any grid worker of that grid: the first wins, the others "
        "get INVALID_TRANSITION."))
    async def accept_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        return await change(info, id, acting(info, actions.accept_request))

    @strawberry.mutation(description=(
        "The member a request is dispatched to declines it, saying why; it goes back to "
        "dispatching and is never offered to them again."))
    async def decline_service_request(self, info: Info, id: strawberry.ID,
                                      reason: str) -> RequestPayload:
        return await change(info, id, acting(info, actions.decline_request, reason=reason),
                            redispatch=True)

    @strawberry.mutation(description="The assignee starts the service (ACCEPTED → IN_PROGRESS).")
    async def start_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        return await change(info, id, acting(info, actions.start_request))

    @strawberry.mutation(description=(
        "The assignee completes the service, saying what was done (the ticket's third part, "
        "up to 4,000 characters)."))
    async def complete_service_request(self, info: Info, id: strawberry.ID,
                                       resolution: str) -> RequestPayload:
        return await change(info, id, acting(info, actions.complete_request,
                                             resolution=resolution))

    @strawberry.mutation(description=(
        "An administrator, or a grid worker of the request's grid, cancels an open request, "
        "saying why."))
    async def cancel_service_request(self, info: Info, id: strawberry.ID,
                                     reason: str) -> RequestPayload:
        return await change(info, id, acting(info, actions.cancel_request, reason=reason))
