"""How the request mutations run: decode ids, call one domain function inside a transaction,
answer a payload. A user's mistake never raises: it comes back in `errors` and the
transaction rolls back, so nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from domain.db import transaction
from domain.errors import InvalidInput
from domain.requests import actions, queries
from domain.requests.models import ServiceRequest as RequestRow
from domain.requests.state import Changed
from domain.requests.submit import NewRequest, Tuning, submit_request
from schema.context import Info
from schema.ids import decode_id
from schema.payloads import UserErrorType
from schema.requests.types import ServiceRequest, SubmitRequestInput

log = logging.getLogger("gridsteward.requests")

#: A domain action on one request: (session, request id, now) -> what changed.
Action = Callable[[AsyncSession, int, datetime], Awaitable[Changed]]


@strawberry.type(description="The request after a mutation, or what was wrong with the input.")
class RequestPayload:
    request: ServiceRequest | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)
    possible_duplicates: list[ServiceRequest] = strawberry.field(
        default_factory=list, description="After submitServiceRequest: open requests of the "
        "same category within 50 m submitted in the last 7 days, newest first — perhaps "
        "someone reported this already. Empty for the other mutations.")


def _failed(exc: InvalidInput) -> RequestPayload:
    return RequestPayload(errors=UserErrorType.list_of(exc.errors))


def _wrap(info: Info, row: RequestRow | None) -> ServiceRequest:
    """The fresh row as a ServiceRequest, replacing any stale copy in the loader's cache."""
    assert row is not None and row.id is not None  # it was just written
    info.context.loaders.request.prime(row.id, row, force=True)
    return ServiceRequest.of(row)


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
    options = info.context.options
    return Tuning(due_hours=dict(options.due_hours),
                  nearest_metres=options.nearest_building_metres,
                  address_threshold=options.address_match_threshold)


async def submit(info: Info, data: SubmitRequestInput) -> RequestPayload:
    """Store a resident's request and offer possible duplicates; dispatch it after commit."""
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
    return RequestPayload(request=_wrap(info, rows[0]),
                          possible_duplicates=[_wrap(info, r) for r in rows[1:] if r])


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
    options = info.context.options

    async def act(session: AsyncSession, request_id: int, now: datetime) -> Changed:
        return await actions.assign_request(
            session, request_id=request_id, member_id=decode_id(member_id, "Member", "memberId"),
            viewer=info.context.viewer, now=now,
            accept_timeout=options.accept_timeout,
            channel=options.outbound_channel)
    return act
