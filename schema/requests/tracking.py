"""The resident's side of a request (issue 13): root fields by tracking code, open to
anonymous callers and rate-limited per address and per request number; waiting on the
resident is in mutations.py (waitForResident, resumeServiceRequest); here the communities'
calendar overrides. `RequestQuery` and `RequestMutation` take
them on (they inherit these classes), so the schema's composition is unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.requests import overrides, public_view, waiting
from domain.requests.tracking import find_tracked
from schema.common.context import Info
from schema.common.errors import PublicError
from schema.common.ids import decode_id
from schema.common.payloads import UserErrorType
from schema.common.rate_limits import TRACKING, RateLimited
from schema.requests.tracking_types import (
    CalendarOverride,
    CalendarOverridePayload,
    TrackedRequest,
    TrackingPayload,
)

#: What a resident's change does to the request found by their code: (session, id, now).
ResidentAction = Callable[[AsyncSession, int, datetime], Awaitable[object]]

_NOT_FOUND = InvalidInput.one("NOT_FOUND", "no request has this number and tracking code "
                              "(or the code has expired)", "code")


async def _by_code(info: Info, number: str, code: str,
                   act: ResidentAction | None = None) -> TrackedRequest | None:
    """The tracking view of `number` if `code` opens it, after `act` (in one transaction);
    None when it does not."""
    now = datetime.now(UTC)
    async with transaction(info.context.sessions) as session:
        request_id = await find_tracked(session, number, code, now)
        if request_id is None:
            if act is not None:
                raise _NOT_FOUND
            return None
        if act is not None:
            await act(session, request_id, now)
        view = await public_view.public_view(session, request_id, now)
    return TrackedRequest.of(view, info.context.settings.survey_link, request_id)


async def _change(info: Info, number: str, code: str, act: ResidentAction) -> TrackingPayload:
    try:
        return TrackingPayload(request=await _by_code(info, number, code, act))
    except InvalidInput as exc:
        return TrackingPayload(errors=UserErrorType.list_of(exc.errors))


@strawberry.type
class TrackingQuery:
    @strawberry.field(extensions=[RateLimited(TRACKING, "number")], description=(
        "A resident looks their request up with its number and the tracking code from the "
        "submission (or the link in their text messages): status, their description, the "
        "due time, the timeline in plain words, the group and the assignee's role (never a "
        "name or phone), the survey link while it is open. Null alike for an unknown "
        "number, a wrong code and a code expired (30 days after the request closed). Open "
        "to anonymous callers; RATE_LIMITED per address and per number."))
    async def track_service_request(self, info: Info, number: str,
                                    code: str) -> TrackedRequest | None:
        return await _by_code(info, number, code)

    @strawberry.field(description=(
        "A community's exceptions to the national working calendar, by date. Staff of the "
        "community (FORBIDDEN outside their territories)."))
    async def calendar_overrides(self, info: Info,
                                 community_id: strawberry.ID) -> list[CalendarOverride]:
        community = decode_id(community_id, "Community", "communityId")
        async with info.context.sessions() as session:
            try:
                rows = await overrides.list_overrides(session, info.context.viewer, community)
            except InvalidInput as exc:
                raise PublicError(exc.errors[0].message, code=exc.errors[0].code,
                                  field=exc.errors[0].field) from None
        return [CalendarOverride.of(row) for row in rows]


def _reply(info: Info, message: str) -> ResidentAction:
    async def act(session: AsyncSession, request_id: int, now: datetime) -> object:
        return await waiting.resident_reply(session, request_id=request_id, message=message,
                                            now=now, limits=info.context.settings.limits)
    return act


async def _stop(session: AsyncSession, request_id: int, now: datetime) -> object:
    return await public_view.stop_notices(session, request_id=request_id, now=now)


async def _override(info: Info, community_id: str, day: date, working: bool | None,
                    note: str | None) -> CalendarOverridePayload:
    viewer = info.context.viewer
    try:
        community = decode_id(community_id, "Community", "communityId")
        async with transaction(info.context.sessions) as session:
            if working is None:
                removed = await overrides.remove_override(
                    session, viewer=viewer, community_id=community, day=day)
                return CalendarOverridePayload(removed=removed)
            row = await overrides.set_override(session, viewer=viewer, community_id=community,
                                               day=day, working=working, note=note)
    except InvalidInput as exc:
        return CalendarOverridePayload(errors=UserErrorType.list_of(exc.errors))
    return CalendarOverridePayload(override=CalendarOverride.of(row))


@strawberry.type
class TrackingMutation:
    @strawberry.mutation(extensions=[RateLimited(TRACKING, "number")], description=(
        "The resident answers a request WAITING_RESIDENT (its `waitingReason`) with its "
        "number and tracking code: the answer goes on the timeline and the clock starts "
        "again, the time waited added to dueAt. NOT_FOUND on `code` for an unknown number "
        "or a wrong code; INVALID_TRANSITION when it is not waiting. Anonymous; "
        "RATE_LIMITED."))
    async def reply_to_service_request(self, info: Info, number: str, code: str,
                                       message: str) -> TrackingPayload:
        return await _change(info, number, code, _reply(info, message))

    @strawberry.mutation(extensions=[RateLimited(TRACKING, "number")], description=(
        "The resident stops the notices of their request (the link in every message): no "
        "more REQUEST_ACCEPTED, REQUEST_COMPLETED, ... texts. Anonymous; RATE_LIMITED."))
    async def stop_service_request_notices(self, info: Info, number: str,
                                           code: str) -> TrackingPayload:
        return await _change(info, number, code, _stop)

    @strawberry.mutation(description=(
        "An administrator makes a date a working day (`working: true`) or a day off in a "
        "community of their territory, e.g. a local festival; due times of requests "
        "submitted afterwards count with it. Audited. OUT_OF_RANGE on `date` for a year "
        "the national calendar does not know; FORBIDDEN outside the caller's territory."))
    async def set_calendar_override(self, info: Info, community_id: strawberry.ID, date: date,
                                    working: bool,
                                    note: str | None = None) -> CalendarOverridePayload:
        return await _override(info, community_id, date, working, note)

    @strawberry.mutation(description=(
        "Drops a community's override of a date: the national calendar applies again. "
        "Audited."))
    async def remove_calendar_override(self, info: Info, community_id: strawberry.ID,
                                       date: date) -> CalendarOverridePayload:
        return await _override(info, community_id, date, None, None)
